"""Properties that hold for every valid workup (hypothesis), not just the worked cases."""

import copy

from hypothesis import HealthCheck, given, settings

from aml_salvage.domain import limits as L
from aml_salvage.domain.knowledge import OPTION_IDS, ORGAN_INPUTS
from aml_salvage.domain.result import TIERS
from aml_salvage.domain.rules import INTENSIVE, TARGET_OPTIONS
from aml_salvage.domain.workup import Workup
from tests.strategies import workups

# 150 workups per property (hypothesis's default is 100; was 300): 13 properties x 300 evaluations were a tenth of
# `make test`. The runs are not derandomized, so each developer's and CI's run draws new workups and the search
# accumulates across runs; a failure is shrunk and replayed from the local example database.
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _has_target(workup: Workup, option_id: str) -> bool:
    needs, _ = TARGET_OPTIONS[option_id]
    return any(getattr(workup.genetics, f) is True for f in needs)


@SETTINGS
@given(workups())
def test_engine_never_raises_and_lists_every_option_once(evaluate, data):
    result = evaluate(data)
    ids = [o.id for o in result.options]
    assert sorted(ids) == sorted(OPTION_IDS)
    order = [(TIERS.index(o.tier), o.rank) for o in result.options]
    assert order == sorted(order) and [o.rank for o in result.options] == list(range(1, len(ids) + 1))
    assert all(o.reasons and o.rules for o in result.options)
    assert any(a.id == "palliative-care" for a in result.actions)


@SETTINGS
@given(workups())
def test_no_targeted_agent_is_preferred_without_its_target(evaluate, data):
    result = evaluate(data)
    workup = Workup.model_validate(data)
    for opt in result.options:
        if opt.id in TARGET_OPTIONS and opt.tier in ("preferred", "alternative"):
            assert _has_target(workup, opt.id), (opt.id, opt.tier, opt.reasons)
            assert opt.targets, f"{opt.id} recommended without naming its target"


@SETTINGS
@given(workups())
def test_no_intensive_regimen_preferred_when_unfit_or_comfort(evaluate, data):
    result = evaluate(data)
    if not data["fit_for_intensive_chemo"] or data["goals_of_care"] == "comfort":
        for opt in result.options:
            if opt.id in INTENSIVE:
                assert opt.tier not in ("preferred", "alternative"), (opt.id, opt.reasons)
    if data["goals_of_care"] == "comfort":
        preferred = {o.id for o in result.options if o.tier == "preferred"}
        assert preferred <= {"hydroxyurea", "bsc"}


@SETTINGS
@given(workups())
def test_with_an_inhibitor_no_venetoclax_line_shows_the_unadjusted_dose(evaluate, data):
    if data["context"]["cyp3a4_inhibitor"] == "none":
        data["context"]["cyp3a4_inhibitor"] = "posaconazole"
    plain = copy.deepcopy(data)
    plain["context"]["cyp3a4_inhibitor"] = "none"
    adjusted, unadjusted = evaluate(data), evaluate(plain)
    for opt, base in zip(
        sorted(adjusted.options, key=lambda o: o.id), sorted(unadjusted.options, key=lambda o: o.id), strict=True
    ):
        ven = [d for d in opt.doses if d.drug == "venetoclax"]
        ven_base = {d.days: d.rounded for d in base.doses if d.drug == "venetoclax"}
        for line in ven:
            assert line.adjustments, (opt.id, line.days)
            assert line.rounded < max(ven_base.values())
            if line.days in ven_base:
                assert line.rounded < ven_base[line.days], (opt.id, line.days, line.rounded)


@SETTINGS
@given(workups())
def test_every_dose_line_states_its_basis(evaluate, data):
    result = evaluate(data)
    for opt in result.options:
        for line in opt.doses:
            assert line.basis
            if line.unit == "mg/m2":
                assert "BSA" in line.basis and "cm" in line.basis and "kg" in line.basis
            if line.rounded is not None:
                assert line.computed is not None and line.rounding
        if opt.doses:
            b = opt.dosing_basis
            assert b.height_cm == data["patient"]["height_cm"] and b.weight_kg == data["patient"]["weight_kg"]
            assert f"{b.bsa_m2:.2f} m²" in b.text


@settings(max_examples=60, deadline=None)
@given(workups())
def test_every_result_revalidates_against_the_result_schema(evaluate, data):
    """The engine builds output without validation (speed); this proves nothing was left out or mistyped."""
    from aml_salvage.domain.result import ConsultResult

    result = evaluate(data)
    dumped = result.model_dump(mode="json")
    assert ConsultResult.model_validate(dumped).model_dump(mode="json") == dumped


@SETTINGS
@given(workups())
def test_no_anthracycline_regimen_is_preferred_below_the_lvef_threshold(evaluate, kb, data):
    lvef = data["patient"]["lvef_pct"]
    if lvef is None or lvef >= kb.parameters.lvef_anthracycline_min_pct:
        return
    # The test's own list of the class (not the engine's), plus regimens the knowledge base marks with the
    # cumulative-anthracycline warning though it has no schedule for them (CLAG-M).
    anthracyclines = {"daunorubicin", "idarubicin", "mitoxantrone", "doxorubicin", "epirubicin"}
    for opt in evaluate(data).options:
        regimen = kb.regimens[opt.id]
        steps = [s for sched in regimen.schedules for s in sched.steps]
        if any(s.drug in anthracyclines for s in steps) or "anthracycline-cumulative" in regimen.warnings:
            assert opt.tier not in ("preferred", "alternative"), (opt.id, lvef, opt.reasons)
            if opt.tier == "consider":  # still open: the heart is the stated reason
                assert any(r.rule_id == "R-CARD-01" for r in opt.rules), opt.reasons


# What each action asks for must be open in the tiers: an action and a tier never contradict each other.
ACTION_NEEDS = {
    "R-ACT-02": ("allo-hct", ("preferred", "alternative")),  # refer for HCT now
    "R-ACT-06": ("allo-hct", ("preferred", "alternative", "consider")),  # assess eligibility early
    "R-ACT-05": ("hydroxyurea", ("preferred", "alternative", "consider")),  # cytoreduce urgently
    "R-ACT-07": ("hydroxyurea", ("preferred", "alternative", "consider")),  # lower the WBC before venetoclax
}


@SETTINGS
@given(workups())
def test_no_action_contradicts_a_tier(evaluate, data):
    result = evaluate(data)
    tiers = {o.id: o.tier for o in result.options}
    for action in result.actions:
        if action.rule_id in ACTION_NEEDS:
            option_id, allowed = ACTION_NEEDS[action.rule_id]
            assert tiers[option_id] in allowed, (action.rule_id, option_id, tiers[option_id])
        if action.rule_id == "R-ACT-03":  # transplant team review after HCT: DLI or a second HCT is open
            assert tiers["dli"] != "not_recommended" or tiers["second-hct"] != "not_recommended"
    if tiers["allo-hct"] == "preferred":
        assert any(a.id == "allo-hct-referral" for a in result.actions)


@SETTINGS
@given(workups())
def test_no_transplant_plan_means_no_intensive_preferred_and_no_then_hct(evaluate, data):
    if data["transplant"]["candidate"] is not False:
        return
    for opt in evaluate(data).options:
        if opt.id in INTENSIVE:
            assert opt.tier != "preferred", (opt.id, opt.reasons)
            assert not any("then allogeneic HCT" in r or "then HCT" in r for r in opt.reasons), opt.reasons


@SETTINGS
@given(workups())
def test_a_pending_target_keeps_its_option_visible_as_provisional(evaluate, data):
    pending = set(data["genetics"]["pending"])
    if not pending or data["goals_of_care"] == "comfort":
        return
    for opt in evaluate(data).options:
        if opt.id not in TARGET_OPTIONS:
            continue
        needs, _ = TARGET_OPTIONS[opt.id]
        present = any(data["genetics"].get(f) is True for f in needs)
        if not present and pending & set(needs):
            assert opt.tier == "consider" or any(r.rule_id.startswith("R-AVAIL") for r in opt.rules), opt.reasons
            assert opt.provisional and any(r.rule_id == "R-GEN-04" for r in opt.rules)


def _organ_inputs_that_assess(kb, drug: str, jurisdiction: str) -> set[str]:
    """The workup inputs whose absence leaves a label organ rule of this drug unassessed."""
    inputs = {ORGAN_INPUTS[r.measure] for r in kb.parameters.organ_dose_rules
              if r.drug == drug and jurisdiction in r.jurisdictions and r.assesses}
    if drug == "fludarabine":  # its CrCl bands have their own table (parameters.yaml fludarabine_renal)
        inputs.add("creatinine")
    return inputs


def _missing_inputs(data) -> set[str]:
    patient = data["patient"]
    return {name for name in ("creatinine", "bilirubin", "child_pugh") if patient.get(name) is None}


@SETTINGS
@given(workups())
def test_every_dose_affected_by_a_missing_organ_input_says_not_assessed(evaluate, kb, data):
    missing = _missing_inputs(data)
    jurisdiction = data["context"]["jurisdiction"]
    for opt in evaluate(data).options:
        for line in opt.doses:
            unassessed = _organ_inputs_that_assess(kb, line.drug, jurisdiction) & missing
            assert set(line.not_assessed) == unassessed, (opt.id, line.drug, line.not_assessed)
            assert (line.status == "not_assessed") == bool(unassessed), (opt.id, line.drug, line.status)
            assert not any("not assessed" in adjustment for adjustment in line.adjustments)


@SETTINGS
@given(workups())
def test_no_full_idarubicin_dose_above_the_bilirubin_threshold(evaluate, kb, data):
    bilirubin = data["patient"]["bilirubin"]
    if bilirubin is None:
        return
    mg_dl = bilirubin["value"] if bilirubin["unit"] == "mg/dL" else bilirubin["value"] / L.UMOL_PER_MG_DL_BILIRUBIN
    threshold = min(r.above if r.above is not None else r.low for r in kb.parameters.organ_dose_rules
                    if r.drug == "idarubicin" and r.measure == "bilirubin" and r.action in ("reduce", "withhold"))
    if mg_dl <= threshold:
        return
    for opt in evaluate(data).options:
        full = {(s.days, s.dose) for sched in kb.regimens[opt.id].schedules for s in sched.steps
                if s.drug == "idarubicin"}
        for line in opt.doses:
            if line.drug == "idarubicin":
                assert line.withheld or line.rounded is None or (line.days, line.dose) not in full, (
                    opt.id, mg_dl, line.dose, line.adjustments)
                assert line.status == "adjusted" or line.withheld


@SETTINGS
@given(workups())
def test_an_explicit_crcl_weight_is_honoured_and_shown(evaluate, data):
    choice = data["context"]["crcl_weight"]
    result = evaluate(data)
    a = result.assessment
    if data["patient"]["creatinine"] is None:
        assert a.crcl_weight is None and a.crcl_ml_min is None
        return
    short = data["patient"]["height_cm"] < 152.4  # Devine's ideal weight is not defined below 5 ft
    if choice != "auto":
        assert a.crcl_weight.basis == ("actual" if short else choice)
    assert f"{a.crcl_weight.basis} body weight" in a.crcl_note
    assert f"{a.crcl_weight.kg:.1f}".rstrip("0").rstrip(".") + " kg" in a.crcl_note
    basis_texts = {o.dosing_basis.text for o in result.options if o.dosing_basis}
    for text in basis_texts:
        assert a.crcl_weight.basis in text, text
