"""Warnings the workup attaches to options: tumour lysis and leukostasis, baseline QTcF and QT-prolonging
azoles, LVEF and cumulative anthracycline, renal and age cerebellar risk with cytarabine ≥1 g/m², venetoclax
without renal data. Each fires on its condition, with the patient's values in its text, and is silent
without it."""

import pytest

from aml_salvage.domain.consult import _course_days
from tests.conftest import option
from tests.factories import OLDER_UNFIT, YOUNG_FIT, build

CYTOREDUCTIVE = ("flag-ida", "flag-ida-ven", "mec", "hidac", "clag-m", "gclac", "gilteritinib", "hydroxyurea",
                 "ldac", "aza-ven", "dec-ven", "ldac-ven", "hma", "ivosidenib", "revumenib", "gemtuzumab")
ANTHRACYCLINE_REGIMENS = ("flag-ida", "flag-ida-ven", "mec", "clag-m")
FLT3 = {"genetics.flt3_itd": True}


def ids(result, option_id) -> list[str]:
    return [w.id for w in option(result, option_id).warning_details]


def text(result, option_id, warning_id) -> str:
    return next(w.text for w in option(result, option_id).warning_details if w.id == warning_id)


# --- tumour lysis and leukostasis --------------------------------------------------------------------------

def test_wbc_180_with_urgent_cytoreduction_warns_of_tls_and_leukostasis_with_every_cytoreductive_option(evaluate):
    """Issue 11, finding 4: gilteritinib, FLAG-IDA, MEC and hydroxyurea carried no TLS warning at WBC 180."""
    result = evaluate(build(**FLT3, **{"disease.wbc_10e9_per_l": 180, "disease.needs_urgent_cytoreduction": True}))
    for oid in CYTOREDUCTIVE:
        assert {"tls-high-risk", "leukostasis"} <= set(ids(result, oid)), oid
    assert "WBC 180 ×10⁹/L" in text(result, "gilteritinib", "tls-high-risk")
    assert "rasburicase" in text(result, "mec", "tls-high-risk")
    assert "red-cell transfusion" in text(result, "hydroxyurea", "leukostasis")
    for strategy in ("allo-hct", "clinical-trial", "bsc"):
        assert not {"tls-high-risk", "leukostasis"} & set(ids(result, strategy))


def test_venetoclax_regimens_keep_the_label_tls_text_and_gain_the_risk_class_once(evaluate):
    result = evaluate(build(OLDER_UNFIT, **{"disease.wbc_10e9_per_l": 180}))
    warning_ids = ids(result, "aza-ven")
    assert warning_ids.count("venetoclax-tls") == 1 and warning_ids.count("tls-high-risk") == 1
    assert "ramp-up" not in text(result, "aza-ven", "tls-high-risk")  # the label's monitoring is not repeated


def test_intermediate_wbc_gives_the_intermediate_tls_class_without_leukostasis(evaluate):
    result = evaluate(build(**{"disease.wbc_10e9_per_l": 40}))
    assert "tls-intermediate-risk" in ids(result, "mec")
    assert "allopurinol" in text(result, "mec", "tls-intermediate-risk")
    assert not {"tls-high-risk", "leukostasis"} & set(ids(result, "mec"))


def test_urgent_cytoreduction_at_low_wbc_still_warns_of_tls(evaluate):
    result = evaluate(build(**{"disease.wbc_10e9_per_l": 12, "disease.needs_urgent_cytoreduction": True}))
    assert "tls-urgent-cytoreduction" in ids(result, "hydroxyurea")
    assert "leukostasis" not in ids(result, "hydroxyurea")


def test_low_wbc_without_urgent_cytoreduction_has_no_tls_or_leukostasis_warning(evaluate):
    result = evaluate(YOUNG_FIT)  # WBC 8
    for oid in ("mec", "flag-ida", "hydroxyurea", "hidac"):
        assert not {"tls-high-risk", "tls-intermediate-risk", "tls-urgent-cytoreduction", "leukostasis"} & set(
            ids(result, oid)), oid


def test_two_patients_differing_only_in_wbc_do_not_share_warning_text(evaluate):
    first = text(evaluate(build(**{"disease.wbc_10e9_per_l": 150})), "mec", "tls-high-risk")
    second = text(evaluate(build(**{"disease.wbc_10e9_per_l": 220})), "mec", "tls-high-risk")
    assert "WBC 150 ×10⁹/L" in first and "WBC 220 ×10⁹/L" in second


# --- QTc --------------------------------------------------------------------------------------------------

def test_qtcf_520_is_above_the_gilteritinib_label_threshold(evaluate):
    result = evaluate(build(**FLT3, **{"patient.qtcf_ms": 520}))
    warning = text(result, "gilteritinib", "qtc-baseline-gilteritinib")
    assert "520 ms" in warning and "500 ms" in warning
    assert "qtc-baseline-quizartinib" in ids(result, "quizartinib")
    assert "450 ms" in text(result, "quizartinib", "qtc-baseline-quizartinib")


def test_qtcf_470_passes_gilteritinib_but_not_quizartinib(evaluate):
    result = evaluate(build(**FLT3, **{"patient.qtcf_ms": 470}))
    assert "qtc-baseline-gilteritinib" not in ids(result, "gilteritinib")
    assert "qtc-baseline-quizartinib" in ids(result, "quizartinib")


@pytest.mark.parametrize("option_id", ["ivosidenib", "revumenib"])
def test_qtcf_above_label_threshold_warns_for_idh1_and_menin_inhibitors(evaluate, option_id):
    result = evaluate(build(**{"patient.qtcf_ms": 490, "genetics.idh1": True, "genetics.kmt2a_rearranged": True}))
    assert f"qtc-baseline-{option_id}" in ids(result, option_id)
    quiet = evaluate(build(**{"patient.qtcf_ms": 420, "genetics.idh1": True, "genetics.kmt2a_rearranged": True}))
    assert f"qtc-baseline-{option_id}" not in ids(quiet, option_id)


def test_ziftomenib_has_no_verified_threshold_and_says_so(evaluate):
    result = evaluate(build(**{"patient.qtcf_ms": 420}))
    warning = text(result, "ziftomenib", "qtc-baseline-ziftomenib")
    assert "420 ms" in warning and "not assessed" in warning


def test_qtcf_not_entered_is_said_on_qt_prolonging_agents_only(evaluate):
    result = evaluate(build(**FLT3))
    for oid in ("gilteritinib", "quizartinib", "ivosidenib", "revumenib", "ziftomenib"):
        assert "qtc-not-entered" in ids(result, oid), oid
    assert "qtc-not-entered" not in ids(result, "mec")
    entered = evaluate(build(**FLT3, **{"patient.qtcf_ms": 430}))
    assert "qtc-not-entered" not in ids(entered, "gilteritinib")


@pytest.mark.parametrize("inhibitor", ["posaconazole", "strong"])
def test_qt_prolonging_azole_with_gilteritinib_warns_of_the_combination(evaluate, inhibitor):
    result = evaluate(build(**FLT3, **{"context.cyp3a4_inhibitor": inhibitor, "patient.qtcf_ms": 430}))
    assert "qtc-azole-combination" in ids(result, "gilteritinib")
    assert "posaconazole and voriconazole" in text(result, "gilteritinib", "qtc-azole-combination")


def test_moderate_inhibitor_or_none_gives_no_qt_combination_warning(evaluate):
    for inhibitor in ("none", "moderate"):
        result = evaluate(build(**FLT3, **{"context.cyp3a4_inhibitor": inhibitor}))
        assert "qtc-azole-combination" not in ids(result, "gilteritinib")


# --- heart: LVEF and cumulative anthracycline -------------------------------------------------------------

def test_daunorubicin_450_then_mec_exceeds_the_doxorubicin_label_guidance(evaluate):
    result = evaluate(build(**{"prior_therapy.anthracyclines_mg_m2": {"daunorubicin": 450}, "patient.lvef_pct": 60}))
    warning = text(result, "mec", "anthracycline-cumulative-high")
    # 450 × 0.6 = 270 prior; MEC 6 mg/m² × 6 days = 36 mg/m² mitoxantrone × 10.5 = 378; total 648.
    assert "≈270 mg/m²" in warning and "mitoxantrone 36 mg/m² (≈378 mg/m² doxorubicin equivalents)" in warning
    assert "≈648 mg/m²" in warning and "label guidance" in warning
    assert "lvef-not-assessed" not in ids(result, "mec")


def test_modest_prior_daunorubicin_with_flag_ida_stays_below_the_guidance(evaluate):
    result = evaluate(build(**{"prior_therapy.anthracyclines_mg_m2": {"daunorubicin": 180}}))
    assert "anthracycline-cumulative-high" not in ids(result, "flag-ida")


def test_planned_idarubicin_is_named_not_converted_when_prior_exposure_is_high(evaluate):
    result = evaluate(build(**{"prior_therapy.anthracyclines_mg_m2": {"daunorubicin": 700}}))
    warning = text(result, "flag-ida", "anthracycline-cumulative-high")
    assert "≈420 mg/m²" in warning and "idarubicin 30 mg/m² (not converted: equivalence uncertain)" in warning
    assert "not computed here" in text(result, "clag-m", "anthracycline-cumulative-high")


def test_prior_idarubicin_is_named_not_converted(evaluate):
    result = evaluate(build(**{"prior_therapy.anthracyclines_mg_m2": {"idarubicin": 36}}))
    warning = text(result, "flag-ida", "anthracycline-idarubicin-uncertain")
    assert "36 mg/m²" in warning and "not counted" in warning
    assert "anthracycline-cumulative-high" not in ids(result, "flag-ida")


def test_unknown_prior_anthracycline_and_lvef_are_said_on_every_anthracycline_regimen(evaluate):
    result = evaluate(YOUNG_FIT)
    for oid in ANTHRACYCLINE_REGIMENS:
        assert {"anthracycline-prior-not-entered", "lvef-not-assessed"} <= set(ids(result, oid)), oid
    for oid in ("hidac", "gilteritinib", "aza-ven"):
        assert not {"anthracycline-prior-not-entered", "lvef-not-assessed"} & set(ids(result, oid)), oid
    known = evaluate(build(**{"prior_therapy.anthracyclines_mg_m2": {"daunorubicin": 180}, "patient.lvef_pct": 60}))
    assert not {"anthracycline-prior-not-entered", "lvef-not-assessed"} & set(ids(known, "mec"))


def test_course_days_are_counted_from_the_schedule_text():
    assert _course_days("D1-6") == 6
    assert _course_days("D4-5") == 2
    assert _course_days("D1, D4, D7") == 3
    assert _course_days("continuous") is None
    assert _course_days("from D6 until ANC recovery") is None


# --- renal and age: cytarabine cerebellar risk, venetoclax -----------------------------------------------

def test_cerebellar_renal_warning_keys_on_clearance_when_creatinine_looks_normal(evaluate):
    # 79-year-old, 50 kg woman, creatinine 1.0 mg/dL: below Rubin's 1.2 mg/dL, CrCl ≈ 36 mL/min.
    frail = build(**{"patient.age_years": 79, "patient.weight_kg": 50,
                     "patient.creatinine": {"value": 1.0, "unit": "mg/dL"}})
    result = evaluate(frail)
    assert "cytarabine-cerebellar-renal" in ids(result, "mec")
    warning = text(result, "mec", "cytarabine-cerebellar-crcl")
    assert "creatinine 1.00 mg/dL" in warning and "<60 mL/min" in warning and "KDIGO" in warning
    assert "cytarabine-cerebellar-age" in ids(result, "mec")


def test_no_renal_or_age_cerebellar_warning_for_a_young_patient_with_normal_clearance(evaluate):
    result = evaluate(YOUNG_FIT)
    for oid in ("mec", "hidac", "clag-m"):
        assert not {"cytarabine-cerebellar-renal", "cytarabine-cerebellar-crcl", "cytarabine-cerebellar-age"} & set(
            ids(result, oid)), oid


def test_venetoclax_with_crcl_below_30_warns_without_reducing_the_dose(evaluate):
    result = evaluate(build(OLDER_UNFIT, **{"patient.creatinine": {"value": 2.5, "unit": "mg/dL"}}))
    warning = text(result, "aza-ven", "venetoclax-crcl-no-data")
    assert "<30" in warning and "no dose change" in warning
    ven = [d for d in option(result, "aza-ven").doses if d.drug == "venetoclax"]
    assert ven and all("renal" not in " ".join(d.adjustments).lower() for d in ven)
    assert "venetoclax-crcl-no-data" not in ids(evaluate(OLDER_UNFIT), "aza-ven")


def test_no_warning_shown_keeps_an_unfilled_placeholder(evaluate):
    workups = [
        build(**FLT3, **{"disease.wbc_10e9_per_l": 180, "disease.needs_urgent_cytoreduction": True,
                         "patient.qtcf_ms": 520, "context.cyp3a4_inhibitor": "posaconazole",
                         "prior_therapy.anthracyclines_mg_m2": {"daunorubicin": 450, "idarubicin": 36},
                         "patient.age_years": 79, "patient.creatinine": {"value": 2.5, "unit": "mg/dL"},
                         "genetics.idh1": True, "genetics.kmt2a_rearranged": True}),
        build(OLDER_UNFIT, **{"disease.wbc_10e9_per_l": 40, "patient.creatinine": {"value": 2.5, "unit": "mg/dL"}}),
    ]
    for data in workups:
        for opt in evaluate(data).options:
            for w in opt.warning_details:
                assert "{" not in w.text and "}" not in w.text, (opt.id, w.id)


# --- the body weight in Cockcroft-Gault decides a renal dose band -------------------------------------------

REVIEW_PATIENT = {"patient.age_years": 40, "patient.sex": "male", "patient.height_cm": 165,
                  "patient.weight_kg": 140, "patient.creatinine": {"value": 1.6, "unit": "mg/dL"}}


def test_the_review_patient_is_told_that_ideal_weight_would_reduce_fludarabine(evaluate):
    result = evaluate(build(YOUNG_FIT, **REVIEW_PATIENT))
    a = result.assessment
    assert a.crcl_weight.basis == "adjusted" and a.crcl_by_weight["actual"] == pytest.approx(121.5, abs=0.5)
    assert a.crcl_by_weight["ideal"] == pytest.approx(53.3, abs=0.5)
    assert "ideal weight 53" in a.crcl_note
    flag_ida = option(result, "flag-ida")
    found = [w for w in flag_ida.warning_details if w.id == "crcl-weight-changes-dose"]
    assert found and "fludarabine" in found[0].text and "ideal weight 53 mL/min" in found[0].text
    # An option without a renally banded drug says nothing about it.
    assert not any(w.id == "crcl-weight-changes-dose" for w in option(result, "aza-ven").warning_details)


def test_an_explicit_weight_choice_or_a_normal_weight_gives_no_body_weight_warning(evaluate):
    explicit = evaluate(build(YOUNG_FIT, **REVIEW_PATIENT, **{"context.crcl_weight": "ideal"}))
    assert not any(w.id == "crcl-weight-changes-dose" for o in explicit.options for w in o.warning_details)
    fludarabine = next(d for d in option(explicit, "flag-ida").doses if d.drug == "fludarabine")
    assert fludarabine.status == "adjusted" and fludarabine.dose == 24
    normal = evaluate(build(YOUNG_FIT))
    assert not any(w.id == "crcl-weight-changes-dose" for o in normal.options for w in o.warning_details)


def test_a_regimen_without_a_schedule_is_still_gated_by_the_heart_and_the_kidneys(evaluate):
    """CLAG-M has no dose table in our sources, but the knowledge base marks it as containing an
    anthracycline and cytarabine >= 1 g/m2: the LVEF and severe-renal rules reach it too."""
    result = evaluate(build(YOUNG_FIT, **{"patient.lvef_pct": 40,
                                          "patient.creatinine": {"value": 3.0, "unit": "mg/dL"}}))
    clag_m = option(result, "clag-m")
    assert {"R-CARD-01", "R-RENAL-02"} <= {r.rule_id for r in clag_m.rules}
    assert "its anthracycline" in next(r.text for r in clag_m.rules if r.rule_id == "R-CARD-01")
