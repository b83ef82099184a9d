"""Each rule id fires when its condition holds and stays silent when that condition is absent.

The table pairs, for every rule in rules.yaml, a workup that makes it fire with the smallest change
that removes its condition. A rule added to rules.yaml without a row here fails
``test_every_rule_has_a_row``. Runs without a database.
"""

import pytest

from tests.conftest import fired
from tests.factories import OLDER_UNFIT, YOUNG_FIT, build

Y, OLD = YOUNG_FIT, OLDER_UNFIT
PIF = {"disease.status": "primary_refractory", "disease.relapse_number": None,
       "disease.cr1_duration_months": None, "disease.intensive_induction_cycles": 2}
MRD = {"disease.status": "mrd_relapse", "disease.marrow_blasts_pct": 1, "disease.circulating_blasts": False,
       "disease.extramedullary": False}
POST = {"disease.prior_allo_hct": True, "disease.months_since_hct": 8}
EARLY_ADVERSE = {"disease.cr1_duration_months": 3, "genetics.eln2022_risk": "adverse"}
ALL_TARGETS = {"genetics.flt3_itd": True, "genetics.idh1": True, "genetics.idh2": True, "genetics.npm1": True,
               "genetics.kmt2a_rearranged": True, "genetics.cd33_positive": True}
# An older unfit archetype made a fit, curative, 60-year-old transplant candidate: the intensive lane.
FIT_NOW = {"fit_for_intensive_chemo": True, "goals_of_care": "curative", "patient.age_years": 60,
           "transplant.candidate": True}
CA = {"context.jurisdiction": "CA"}
US = {"context.jurisdiction": "US"}

# rule id: (base, overrides that make it fire, overrides that keep it silent, option to look at or None,
#          the option's tier when the rule fires — the rule's tier effect in that workup; None for actions)
TABLE = {
    "R-GOAL-01": (Y, {"goals_of_care": "comfort"}, {}, "hydroxyurea", "preferred"),
    "R-GOAL-02": (Y, {"goals_of_care": "comfort"}, {}, "aza-ven", "not_recommended"),
    "R-GOAL-03": (Y, {"goals_of_care": "disease_control"}, {}, "flag-ida", "consider"),
    "R-GEN-01": (Y, {"genetics.retested_at_relapse": False, "genetics.flt3_itd": True}, {"genetics.flt3_itd": True},
                 "gilteritinib", "preferred"),
    "R-GEN-04": (OLD, {"genetics.pending": ["flt3_itd"]}, {}, "gilteritinib", "consider"),
    "R-GEN-02": (Y, {}, {"goals_of_care": "comfort"}, "bsc", "consider"),
    "R-GEN-03": (OLD, {}, {"fit_for_intensive_chemo": True, "goals_of_care": "curative", "disease.relapse_number": 1,
                         "transplant.candidate": True, "patient.age_years": 60}, "bsc", "alternative"),
    "R-IC-01": (Y, {}, {"fit_for_intensive_chemo": False}, "mec", "preferred"),
    "R-IC-02": (Y, {}, {"fit_for_intensive_chemo": False}, "flag-ida-ven", "alternative"),
    "R-IC-03": (Y, {"genetics.npm1": True}, {}, "flag-ida-ven", "preferred"),
    "R-IC-04": (Y, {}, {"fit_for_intensive_chemo": False}, "hidac", "alternative"),
    "R-IC-05": (Y, {}, {"fit_for_intensive_chemo": False}, "clag-m", "consider"),
    "R-IC-06": (Y, {}, {"fit_for_intensive_chemo": False}, "aza-ven", "alternative"),
    "R-IC-07": (Y, {"transplant.candidate": None}, {}, "aza-ven", "preferred"),
    "R-IC-08": (Y, {}, {"fit_for_intensive_chemo": False}, "ldac", "not_recommended"),
    "R-EARLY-01": (Y, EARLY_ADVERSE, {**EARLY_ADVERSE, "disease.cr1_duration_months": 9}, "aza-ven", "preferred"),
    "R-EARLY-02": (Y, {"disease.cr1_duration_months": 3}, {}, "mec", "preferred"),
    "R-EARLY-03": (Y, EARLY_ADVERSE, {**EARLY_ADVERSE, "disease.cr1_duration_months": 9}, "flag-ida", "alternative"),
    "R-LI-01": (OLD, {}, FIT_NOW, "aza-ven", "preferred"),
    "R-LI-02": (OLD, {}, FIT_NOW, "flag-ida", "not_recommended"),
    "R-PIF-01": (Y, PIF, {}, "aza-ven", "preferred"),
    "R-PIF-02": (Y, PIF, {}, "mec", "consider"),
    "R-MULT-01": (Y, {"disease.relapse_number": 2}, {}, "aza-ven", "preferred"),
    "R-VEN-01": (Y, {"prior_therapy.venetoclax": True}, {}, "aza-ven", "consider"),
    "R-VEN-02": (OLD, {"prior_therapy.venetoclax": True, "prior_therapy.venetoclax_failure": True},
                 {"prior_therapy.venetoclax": True}, "hma", "alternative"),
    "R-VEN-04": (Y, {}, {"goals_of_care": "comfort"}, "hma", "consider"),
    "R-FIT-01": (Y, {"fit_for_intensive_chemo": False}, {}, "flag-ida", "not_recommended"),
    "R-FIT-02": (Y, {"patient.ecog": 3}, {"patient.ecog": 2}, "mec", "consider"),
    "R-AGE-01": (Y, {"patient.age_years": 80}, {"patient.age_years": 74}, "flag-ida", "alternative"),
    "R-INF-02": (Y, {"active_infection": True, "infection_uncontrolled": True}, {"active_infection": True}, "mec",
                 "not_recommended"),
    "R-INF-01": (Y, {"active_infection": True}, {}, "mec", "alternative"),
    "R-CARD-01": (Y, {"patient.lvef_pct": 40}, {"patient.lvef_pct": 55}, "mec", "consider"),
    "R-RENAL-02": (Y, {"patient.creatinine": {"value": 3.0, "unit": "mg/dL"}},
                   {"patient.creatinine": {"value": 1.0, "unit": "mg/dL"}}, "mec", "alternative"),
    "R-ORGAN-01": (Y, {"patient.bilirubin": {"value": 6, "unit": "mg/dL"}},
                   {"patient.bilirubin": {"value": 4, "unit": "mg/dL"}}, "flag-ida", "not_recommended"),
    "R-RENAL-01": (Y, {"patient.creatinine": {"value": 300, "unit": "umol/L"}}, {}, "flag-ida", "not_recommended"),
    "R-CYTO-01": (Y, {"disease.needs_urgent_cytoreduction": True}, {}, "hydroxyurea", "alternative"),
    "R-CYTO-02": (Y, {}, {"fit_for_intensive_chemo": False}, "hydroxyurea", "consider"),
    "R-CYTO-03": (OLD, {}, FIT_NOW, "ldac", "consider"),
    "R-ALLO-01": (Y, {}, {"transplant.candidate": False}, "allo-hct", "preferred"),
    "R-ALLO-02": (Y, {"transplant.candidate": None}, {}, "allo-hct", "consider"),
    "R-ALLO-03": (Y, {"transplant.candidate": False}, {}, "allo-hct", "not_recommended"),
    "R-ALLO-04": (Y, PIF, {}, "allo-hct", "preferred"),
    "R-ALLO-06": (Y, {"transplant.candidate": False}, {}, "mec", "alternative"),
    "R-ALLO-05": (Y, {"goals_of_care": "disease_control"}, {}, "allo-hct", "consider"),
    "R-HCT-01": (Y, {**POST, "genetics.flt3_itd": True}, POST, "gilteritinib", "preferred"),
    "R-HCT-02": (Y, POST, {}, "dli", "preferred"),
    "R-HCT-03": (Y, POST, {}, "second-hct", "consider"),
    "R-HCT-05": (Y, POST, {}, "aza-ven", "alternative"),
    "R-HCT-06": (Y, POST, {}, "mec", "consider"),
    "R-HCT-07": (Y, POST, {**POST, "context.clinical_trial_available": True}, "dli", "preferred"),
    "R-HCT-08": (Y, {**POST, "fit_for_intensive_chemo": False}, POST, "second-hct", "not_recommended"),
    "R-HCT-09": (Y, POST, {}, "allo-hct", "not_recommended"),
    "R-HCT-10": (Y, {}, POST, "dli", "not_recommended"),
    "R-MRD-01": (Y, MRD, {}, "aza-ven", "consider"),
    "R-MRD-02": (Y, MRD, {}, "hydroxyurea", "not_recommended"),
    "R-MRD-03": (Y, {**MRD, **POST}, MRD, "dli", "consider"),
    "R-MRD-04": (Y, MRD, {}, "allo-hct", "preferred"),
    "R-TRIAL-01": (Y, {"context.clinical_trial_available": True}, {}, "clinical-trial", "alternative"),
    "R-TRIAL-02": (Y, {"genetics.tp53": True}, {}, "clinical-trial", "consider"),
    "R-TRIAL-03": (Y, {}, {"context.clinical_trial_available": True}, "clinical-trial", "consider"),
    "R-TGT-00": (Y, {}, ALL_TARGETS, "gilteritinib", "not_recommended"),
    "R-TGT-02": (OLD, {"genetics.flt3_itd": True}, {}, "aza-ven", "alternative"),
    "R-FLT3-01": (Y, {"genetics.flt3_itd": True}, {}, "gilteritinib", "preferred"),
    "R-FLT3-02": (Y, {"genetics.flt3_itd": True, "prior_therapy.gilteritinib": True}, {"genetics.flt3_itd": True},
                  "gilteritinib", "consider"),
    "R-FLT3-03": (Y, {"genetics.flt3_itd": True, "disease.needs_urgent_cytoreduction": True},
                  {"genetics.flt3_itd": True}, "mec", "preferred"),
    "R-FLT3-04": (Y, {"genetics.flt3_itd": True}, {"genetics.flt3_tkd": True}, "allo-hct", "preferred"),
    "R-FLT3-05": (Y, {"genetics.flt3_itd": True}, {}, "mec", "alternative"),
    "R-FLT3-06": (Y, {"genetics.flt3_tkd": True}, {}, "gilteritinib-ven-aza", "consider"),
    "R-FLT3-07": (Y, {"genetics.flt3_itd": True}, {"genetics.flt3_tkd": True}, "quizartinib", "consider"),
    "R-IDH-01": (OLD, {"genetics.idh1": True}, {}, "ivosidenib", "preferred"),
    "R-IDH-02": (OLD, {"genetics.idh1": True}, {}, "olutasidenib", "alternative"),
    "R-IDH-03": (OLD, {"genetics.idh1": True, **CA}, {"genetics.idh1": True, **US}, "aza-ven", "preferred"),
    "R-IDH-04": (Y, {"genetics.idh1": True}, {"genetics.idh1": True, "fit_for_intensive_chemo": False},
                 "ivosidenib", "consider"),
    "R-IDH-05": (OLD, {"genetics.idh1": True, **US}, {"genetics.idh1": True, **CA}, "aza-ven", "alternative"),
    "R-IDH-06": (OLD, {"genetics.idh1": True, "prior_therapy.idh_inhibitor": True}, {"genetics.idh1": True},
                 "ivosidenib", "consider"),
    "R-IDH-07": (OLD, {"genetics.idh2": True}, {"genetics.idh1": True}, "enasidenib", "preferred"),
    "R-IDH-08": (OLD, {"genetics.idh2": True}, {"genetics.idh1": True}, "enasidenib", "preferred"),
    "R-MENIN-01": (OLD, {"genetics.npm1": True}, {}, "revumenib", "preferred"),
    "R-MENIN-02": (Y, {"genetics.npm1": True}, {}, "revumenib", "consider"),
    "R-MENIN-03": (OLD, {"genetics.npm1": True, "prior_therapy.menin_inhibitor": True}, {"genetics.npm1": True},
                   "revumenib", "consider"),
    "R-MENIN-04": (OLD, {"genetics.kmt2a_rearranged": True}, {"genetics.npm1": True}, "ziftomenib", "not_recommended"),
    "R-MENIN-05": (Y, {"genetics.npm1": True}, {}, "bleximenib", "consider"),
    "R-NPM1-01": (Y, {"genetics.npm1": True}, {}, "aza-ven", "alternative"),
    "R-MENIN-06": (OLD, {"genetics.npm1": True}, {"genetics.kmt2a_rearranged": True}, "revumenib", "preferred"),
    "R-CD33-01": (Y, {"genetics.cd33_positive": True}, {"genetics.cd33_positive": False}, "gemtuzumab", "consider"),
    "R-CD33-02": (Y, {**POST, "disease.months_since_hct": 2, "genetics.cd33_positive": True},
                  {**POST, "genetics.cd33_positive": True}, "gemtuzumab", "not_recommended"),
    "R-CD33-03": (Y, {**POST, "genetics.cd33_positive": True}, {"genetics.cd33_positive": True}, "gemtuzumab",
                  "consider"),
    "R-CD33-04": (Y, {}, {"genetics.cd33_positive": False}, "gemtuzumab", "not_recommended"),
    "R-TP53-01": (Y, {"genetics.tp53": True}, {}, "aza-ven", "alternative"),
    "R-TP53-02": (Y, {"genetics.other_mutations": ["WT1"]}, {}, "flag-ida-ven", "alternative"),
    "R-AVAIL-01": (OLD, {"genetics.idh1": True, **CA}, {"genetics.idh1": True, **US}, "ivosidenib", "consider"),
    "R-AVAIL-02": (OLD, {"genetics.idh2": True, **CA}, {"genetics.idh2": True, **US}, "enasidenib", "not_recommended"),
    "R-ACT-01": (Y, {"genetics.retested_at_relapse": False}, {}, None, None),
    "R-ACT-02": (Y, {}, {"transplant.candidate": False}, None, None),
    "R-ACT-03": (Y, POST, {}, None, None),
    "R-ACT-05": (Y, {"disease.needs_urgent_cytoreduction": True}, {}, None, None),
    "R-ACT-06": (Y, {"transplant.candidate": None}, {}, None, None),
    "R-ACT-08": (Y, {"genetics.pending": ["npm1"]}, {}, None, None),
    "R-ACT-07": (OLD, {"disease.wbc_10e9_per_l": 40}, {}, None, None),
}
# Rules whose condition is "always": shown for every workup (checked over random workups too).
ALWAYS = {"R-VEN-03": "venetoclax-mono", "R-ACT-04": None}


def _fired(result, rule_id, option_id):
    if option_id is None:
        return fired(result, rule_id)
    opt = next(o for o in result.options if o.id == option_id)
    return any(r.rule_id == rule_id for r in opt.rules)


def test_every_rule_has_a_row(kb):
    assert set(kb.rules) == set(TABLE) | set(ALWAYS)


@pytest.mark.parametrize("rule_id", sorted(TABLE))
def test_rule_fires_when_its_condition_holds(rule_id, evaluate):
    base, fire, _, option_id, _ = TABLE[rule_id]
    assert _fired(evaluate(build(base, **fire)), rule_id, option_id)


@pytest.mark.parametrize("rule_id", sorted(r for r, row in TABLE.items() if row[3] is not None))
def test_rule_tier_effect(rule_id, evaluate):
    """The tier the option ends with when the rule fires: what the rule does, not only that it speaks."""
    base, fire, _, option_id, tier = TABLE[rule_id]
    opt = next(o for o in evaluate(build(base, **fire)).options if o.id == option_id)
    assert opt.tier == tier, f"{rule_id}: {option_id} is {opt.tier}; reasons {opt.reasons}"


@pytest.mark.parametrize("rule_id", sorted(TABLE))
def test_rule_is_silent_when_its_condition_is_absent(rule_id, evaluate):
    base, _, silent, option_id, _ = TABLE[rule_id]
    assert not _fired(evaluate(build(base, **silent)), rule_id, option_id)


@pytest.mark.parametrize("rule_id", sorted(ALWAYS))
def test_always_rules_fire_for_archetypes(rule_id, evaluate):
    for base in (YOUNG_FIT, OLDER_UNFIT, build(YOUNG_FIT, goals_of_care="comfort")):
        assert _fired(evaluate(base), rule_id, ALWAYS[rule_id])
