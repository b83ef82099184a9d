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
CA = {"context.jurisdiction": "CA"}
US = {"context.jurisdiction": "US"}

# rule id: (base, overrides that make it fire, overrides that keep it silent, option to look at or None)
TABLE = {
    "R-GOAL-01": (Y, {"goals_of_care": "comfort"}, {}, "hydroxyurea"),
    "R-GOAL-02": (Y, {"goals_of_care": "comfort"}, {}, "aza-ven"),
    "R-GOAL-03": (Y, {"goals_of_care": "disease_control"}, {}, "flag-ida"),
    "R-GEN-01": (Y, {"genetics.retested_at_relapse": False, "genetics.flt3_itd": True}, {"genetics.flt3_itd": True},
                 "gilteritinib"),
    "R-GEN-02": (Y, {}, {"goals_of_care": "comfort"}, "bsc"),
    "R-GEN-03": (OLD, {}, {"fit_for_intensive_chemo": True, "goals_of_care": "curative", "disease.relapse_number": 1,
                         "transplant.candidate": True, "patient.age_years": 60}, "bsc"),
    "R-IC-01": (Y, {}, {"fit_for_intensive_chemo": False}, "mec"),
    "R-IC-02": (Y, {}, {"fit_for_intensive_chemo": False}, "flag-ida-ven"),
    "R-IC-03": (Y, {"genetics.npm1": True}, {}, "flag-ida-ven"),
    "R-IC-04": (Y, {}, {"fit_for_intensive_chemo": False}, "hidac"),
    "R-IC-05": (Y, {}, {"fit_for_intensive_chemo": False}, "clag-m"),
    "R-IC-06": (Y, {}, {"fit_for_intensive_chemo": False}, "aza-ven"),
    "R-IC-07": (Y, {"transplant.candidate": None}, {}, "aza-ven"),
    "R-IC-08": (Y, {}, {"fit_for_intensive_chemo": False}, "ldac"),
    "R-EARLY-01": (Y, EARLY_ADVERSE, {**EARLY_ADVERSE, "disease.cr1_duration_months": 9}, "aza-ven"),
    "R-EARLY-02": (Y, {"disease.cr1_duration_months": 3}, {}, "mec"),
    "R-EARLY-03": (Y, EARLY_ADVERSE, {**EARLY_ADVERSE, "disease.cr1_duration_months": 9}, "flag-ida"),
    "R-LI-01": (OLD, {}, {"fit_for_intensive_chemo": True, "goals_of_care": "curative", "patient.age_years": 60, "transplant.candidate": True}, "aza-ven"),
    "R-LI-02": (OLD, {}, {"fit_for_intensive_chemo": True, "goals_of_care": "curative", "patient.age_years": 60, "transplant.candidate": True}, "flag-ida"),
    "R-PIF-01": (Y, PIF, {}, "aza-ven"),
    "R-PIF-02": (Y, PIF, {}, "mec"),
    "R-MULT-01": (Y, {"disease.relapse_number": 2}, {}, "aza-ven"),
    "R-VEN-01": (Y, {"prior_therapy.venetoclax": True}, {}, "aza-ven"),
    "R-VEN-02": (OLD, {"prior_therapy.venetoclax": True, "prior_therapy.venetoclax_failure": True},
                 {"prior_therapy.venetoclax": True}, "hma"),
    "R-VEN-04": (Y, {}, {"goals_of_care": "comfort"}, "hma"),
    "R-FIT-01": (Y, {"fit_for_intensive_chemo": False}, {}, "flag-ida"),
    "R-FIT-02": (Y, {"patient.ecog": 3}, {"patient.ecog": 2}, "mec"),
    "R-AGE-01": (Y, {"patient.age_years": 80}, {"patient.age_years": 74}, "flag-ida"),
    "R-INF-02": (Y, {"active_infection": True, "infection_uncontrolled": True}, {"active_infection": True}, "mec"),
    "R-INF-01": (Y, {"active_infection": True}, {}, "mec"),
    "R-RENAL-01": (Y, {"patient.creatinine": {"value": 300, "unit": "umol/L"}}, {}, "flag-ida"),
    "R-CYTO-01": (Y, {"disease.needs_urgent_cytoreduction": True}, {}, "hydroxyurea"),
    "R-CYTO-02": (Y, {}, {"fit_for_intensive_chemo": False}, "hydroxyurea"),
    "R-CYTO-03": (OLD, {}, {"fit_for_intensive_chemo": True, "goals_of_care": "curative", "patient.age_years": 60, "transplant.candidate": True}, "ldac"),
    "R-ALLO-01": (Y, {}, {"transplant.candidate": False}, "allo-hct"),
    "R-ALLO-02": (Y, {"transplant.candidate": None}, {}, "allo-hct"),
    "R-ALLO-03": (Y, {"transplant.candidate": False}, {}, "allo-hct"),
    "R-ALLO-04": (Y, PIF, {}, "allo-hct"),
    "R-ALLO-06": (Y, {"transplant.candidate": False}, {}, "mec"),
    "R-ALLO-05": (Y, {"goals_of_care": "disease_control"}, {}, "allo-hct"),
    "R-HCT-01": (Y, {**POST, "genetics.flt3_itd": True}, POST, "gilteritinib"),
    "R-HCT-02": (Y, POST, {}, "dli"),
    "R-HCT-03": (Y, POST, {}, "second-hct"),
    "R-HCT-05": (Y, POST, {}, "aza-ven"),
    "R-HCT-06": (Y, POST, {}, "mec"),
    "R-HCT-07": (Y, POST, {**POST, "context.clinical_trial_available": True}, "dli"),
    "R-HCT-08": (Y, {**POST, "fit_for_intensive_chemo": False}, POST, "second-hct"),
    "R-HCT-09": (Y, POST, {}, "allo-hct"),
    "R-HCT-10": (Y, {}, POST, "dli"),
    "R-MRD-01": (Y, MRD, {}, "aza-ven"),
    "R-MRD-02": (Y, MRD, {}, "hydroxyurea"),
    "R-MRD-03": (Y, {**MRD, **POST}, MRD, "dli"),
    "R-MRD-04": (Y, MRD, {}, "allo-hct"),
    "R-TRIAL-01": (Y, {"context.clinical_trial_available": True}, {}, "clinical-trial"),
    "R-TRIAL-02": (Y, {"genetics.tp53": True}, {}, "clinical-trial"),
    "R-TRIAL-03": (Y, {}, {"context.clinical_trial_available": True}, "clinical-trial"),
    "R-TGT-00": (Y, {}, ALL_TARGETS, "gilteritinib"),
    "R-TGT-02": (OLD, {"genetics.flt3_itd": True}, {}, "aza-ven"),
    "R-FLT3-01": (Y, {"genetics.flt3_itd": True}, {}, "gilteritinib"),
    "R-FLT3-02": (Y, {"genetics.flt3_itd": True, "prior_therapy.gilteritinib": True}, {"genetics.flt3_itd": True},
                  "gilteritinib"),
    "R-FLT3-03": (Y, {"genetics.flt3_itd": True, "disease.needs_urgent_cytoreduction": True},
                  {"genetics.flt3_itd": True}, "mec"),
    "R-FLT3-04": (Y, {"genetics.flt3_itd": True}, {"genetics.flt3_tkd": True}, "allo-hct"),
    "R-FLT3-05": (Y, {"genetics.flt3_itd": True}, {}, "mec"),
    "R-FLT3-06": (Y, {"genetics.flt3_tkd": True}, {}, "gilteritinib-ven-aza"),
    "R-FLT3-07": (Y, {"genetics.flt3_itd": True}, {"genetics.flt3_tkd": True}, "quizartinib"),
    "R-IDH-01": (OLD, {"genetics.idh1": True}, {}, "ivosidenib"),
    "R-IDH-02": (OLD, {"genetics.idh1": True}, {}, "olutasidenib"),
    "R-IDH-03": (OLD, {"genetics.idh1": True, **CA}, {"genetics.idh1": True, **US}, "aza-ven"),
    "R-IDH-04": (Y, {"genetics.idh1": True}, {"genetics.idh1": True, "fit_for_intensive_chemo": False},
                 "ivosidenib"),
    "R-IDH-05": (OLD, {"genetics.idh1": True, **US}, {"genetics.idh1": True, **CA}, "aza-ven"),
    "R-IDH-06": (OLD, {"genetics.idh1": True, "prior_therapy.idh_inhibitor": True}, {"genetics.idh1": True},
                 "ivosidenib"),
    "R-IDH-07": (OLD, {"genetics.idh2": True}, {"genetics.idh1": True}, "enasidenib"),
    "R-IDH-08": (OLD, {"genetics.idh2": True}, {"genetics.idh1": True}, "enasidenib"),
    "R-MENIN-01": (OLD, {"genetics.npm1": True}, {}, "revumenib"),
    "R-MENIN-02": (Y, {"genetics.npm1": True}, {}, "revumenib"),
    "R-MENIN-03": (OLD, {"genetics.npm1": True, "prior_therapy.menin_inhibitor": True}, {"genetics.npm1": True},
                   "revumenib"),
    "R-MENIN-04": (OLD, {"genetics.kmt2a_rearranged": True}, {"genetics.npm1": True}, "ziftomenib"),
    "R-MENIN-05": (Y, {"genetics.npm1": True}, {}, "bleximenib"),
    "R-NPM1-01": (Y, {"genetics.npm1": True}, {}, "aza-ven"),
    "R-MENIN-06": (OLD, {"genetics.npm1": True}, {"genetics.kmt2a_rearranged": True}, "revumenib"),
    "R-CD33-01": (Y, {"genetics.cd33_positive": True}, {"genetics.cd33_positive": False}, "gemtuzumab"),
    "R-CD33-02": (Y, {**POST, "disease.months_since_hct": 2, "genetics.cd33_positive": True},
                  {**POST, "genetics.cd33_positive": True}, "gemtuzumab"),
    "R-CD33-03": (Y, {**POST, "genetics.cd33_positive": True}, {"genetics.cd33_positive": True}, "gemtuzumab"),
    "R-CD33-04": (Y, {}, {"genetics.cd33_positive": False}, "gemtuzumab"),
    "R-TP53-01": (Y, {"genetics.tp53": True}, {}, "aza-ven"),
    "R-TP53-02": (Y, {"genetics.other_mutations": ["WT1"]}, {}, "flag-ida-ven"),
    "R-AVAIL-01": (OLD, {"genetics.idh1": True, **CA}, {"genetics.idh1": True, **US}, "ivosidenib"),
    "R-AVAIL-02": (OLD, {"genetics.idh2": True, **CA}, {"genetics.idh2": True, **US}, "enasidenib"),
    "R-ACT-01": (Y, {"genetics.retested_at_relapse": False}, {}, None),
    "R-ACT-02": (Y, {}, {"transplant.candidate": False}, None),
    "R-ACT-03": (Y, POST, {}, None),
    "R-ACT-05": (Y, {"disease.needs_urgent_cytoreduction": True}, {}, None),
    "R-ACT-06": (Y, {"transplant.candidate": None}, {}, None),
    "R-ACT-07": (OLD, {"disease.wbc_10e9_per_l": 40}, {}, None),
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
    base, fire, _, option_id = TABLE[rule_id]
    assert _fired(evaluate(build(base, **fire)), rule_id, option_id)


@pytest.mark.parametrize("rule_id", sorted(TABLE))
def test_rule_is_silent_when_its_condition_is_absent(rule_id, evaluate):
    base, _, silent, option_id = TABLE[rule_id]
    assert not _fired(evaluate(build(base, **silent)), rule_id, option_id)


@pytest.mark.parametrize("rule_id", sorted(ALWAYS))
def test_always_rules_fire_for_archetypes(rule_id, evaluate):
    for base in (YOUNG_FIT, OLDER_UNFIT, build(YOUNG_FIT, goals_of_care="comfort")):
        assert _fired(evaluate(base), rule_id, ALWAYS[rule_id])
