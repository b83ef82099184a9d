"""Organ function in dosing (contract v2): the Cockcroft–Gault body weight, the labels' renal and hepatic
rules, dose-line status, and the dosing corrections of the clinical review — no database."""

import pytest

from aml_salvage.domain.assessment import assessment_compute
from aml_salvage.domain.dosing import makeable_amounts, regimen_doses, withheld_drugs
from aml_salvage.domain.knowledge import ORGAN_INPUTS
from aml_salvage.domain.workup import Workup
from tests.conftest import option
from tests.factories import OLDER_UNFIT, YOUNG_FIT, build

# The review's obese patient: 165 cm, 140 kg (BMI 51), creatinine 1.6 mg/dL; a 40-year-old man has
# CrCl 121 mL/min with actual body weight.
OBESE = {"patient.height_cm": 165, "patient.weight_kg": 140, "patient.sex": "male", "patient.age_years": 40,
         "patient.creatinine": {"value": 1.6, "unit": "mg/dL"}}


def doses(kb, data, regimen_id):
    """Dose lines of a regimen straight from the dose engine (whatever the regimen's tier)."""
    workup = Workup.model_validate(data)
    assessment = assessment_compute(workup=workup, kb=kb)
    return regimen_doses(regimen=kb.regimens[regimen_id], workup=workup, assessment=assessment, kb=kb)


def drug_lines(kb, data, regimen_id, drug, schedule=None):
    return [d for d in doses(kb, data, regimen_id)
            if d.drug == drug and (schedule is None or d.schedule == schedule)]


# --- Cockcroft–Gault body weight ------------------------------------------------------------------------

def test_obese_patient_crcl_uses_adjusted_body_weight_by_default(evaluate):
    auto = evaluate(build(**OBESE)).assessment
    actual = evaluate(build(**OBESE, **{"context.crcl_weight": "actual"})).assessment
    assert actual.crcl_ml_min == pytest.approx(121.5) and actual.crcl_weight.basis == "actual"
    assert auto.bmi == 51.4
    # Devine IBW 61.4 kg; adjusted 61.4 + 0.4 × (140 − 61.4) = 92.8 kg
    assert (auto.crcl_weight.basis, auto.crcl_weight.kg) == ("adjusted", 92.8)
    assert auto.crcl_ml_min == pytest.approx(80.6)
    assert "adjusted body weight" in auto.crcl_note and "automatic" in auto.crcl_note and "BMI 51.4" in auto.crcl_note


@pytest.mark.parametrize(("sex", "age", "crcl"), [("male", 55, 68.5), ("female", 40, 66.5), ("female", 55, 56.5)])
def test_obese_patient_gets_the_fludarabine_renal_reduction_with_auto_weight(evaluate, sex, age, crcl):
    data = build(build(**OBESE), **{"patient.sex": sex, "patient.age_years": age})
    result = evaluate(data)
    assert result.assessment.crcl_ml_min == pytest.approx(crcl)
    flu = [d for d in option(result, "flag-ida").doses if d.drug == "fludarabine"][0]
    assert flu.dose == 24 and flu.status == "adjusted" and "adjusted body weight" in flu.adjustments[0]
    # The same patient dosed with actual weight would have had the full dose: the review's safety finding.
    actual = evaluate(build(data, **{"context.crcl_weight": "actual"}))
    assert [d for d in option(actual, "flag-ida").doses if d.drug == "fludarabine"][0].dose == 30


def test_review_patient_with_ideal_weight_gets_the_reduction_and_the_choice_is_shown(evaluate):
    """The 40-year-old man: CrCl 81 with adjusted weight (full dose), 53 with ideal weight (reduced)."""
    result = evaluate(build(**OBESE, **{"context.crcl_weight": "ideal"}))
    a = result.assessment
    assert (a.crcl_weight.basis, a.crcl_weight.kg, a.crcl_ml_min) == ("ideal", 61.4, pytest.approx(53.3))
    assert "as chosen" in a.crcl_note
    flag = option(result, "flag-ida")
    assert "ideal body weight 61.4 kg" in flag.dosing_basis.text
    assert [d for d in flag.doses if d.drug == "fludarabine"][0].dose == 24


@pytest.mark.parametrize("choice", ["actual", "ideal", "adjusted"])
def test_explicit_crcl_weight_is_honoured_whatever_the_body_size(evaluate, choice):
    for base in ({}, OBESE):
        result = evaluate(build(**base, **{"context.crcl_weight": choice}))
        assert result.assessment.crcl_weight.basis == choice
        assert f"{choice} body weight" in option(result, "mec").dosing_basis.text


def test_auto_weight_is_actual_weight_when_not_obese(evaluate):
    a = evaluate(YOUNG_FIT).assessment  # 165 cm, 60 kg woman: BMI 22
    assert (a.crcl_weight.basis, a.crcl_weight.kg) == ("actual", 60)
    assert a.crcl_ml_min == pytest.approx(86.0, abs=0.1)


def test_no_creatinine_no_crcl_weight(evaluate):
    a = evaluate(build(**{"patient.creatinine": None})).assessment
    assert a.crcl_ml_min is None and a.crcl_weight is None and a.bmi == 22.0


# --- label rules ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("bilirubin", "dose", "status"),
                         [({"value": 2.5, "unit": "mg/dL"}, 10, "standard"),
                          ({"value": 3, "unit": "mg/dL"}, 5, "adjusted"),
                          ({"value": 51.3, "unit": "umol/L"}, 5, "adjusted"),  # 3.0 mg/dL
                          ({"value": 5, "unit": "mg/dL"}, 5, "adjusted")])
def test_idarubicin_halved_at_bilirubin_above_2_5_up_to_5(kb, bilirubin, dose, status):
    ida = drug_lines(kb, build(**{"patient.bilirubin": bilirubin}), "flag-ida", "idarubicin")[0]
    assert (ida.dose, ida.status, ida.withheld, ida.not_assessed) == (dose, status, False, [])
    if status == "adjusted":
        assert ida.computed == pytest.approx(8.29) and ida.rounded == 8.3
        assert "50%" in ida.adjustments[0] and "bilirubin" in ida.adjustments[0]


def test_idarubicin_withheld_above_bilirubin_5(kb):
    data = build(**{"patient.bilirubin": {"value": 6, "unit": "mg/dL"}})
    ida = drug_lines(kb, data, "flag-ida", "idarubicin")[0]
    assert ida.withheld and ida.rounded is None and ida.status == "adjusted"
    assert "not to be given" in ida.adjustments[0] and "bilirubin 6 mg/dL" in ida.adjustments[0]


def test_withheld_drugs_names_each_drug_with_the_label_sentence_and_value(kb):
    def withheld(data):
        workup = Workup.model_validate(data)
        return withheld_drugs(kb=kb, workup=workup, assessment=assessment_compute(workup=workup, kb=kb))

    assert withheld(YOUNG_FIT) == {}
    both = withheld(build(**{"patient.bilirubin": {"value": 6, "unit": "mg/dL"},
                             "patient.creatinine": {"value": 300, "unit": "umol/L"}}))  # CrCl 23
    assert set(both) == {"fludarabine", "idarubicin"}
    assert "CrCl 23 mL/min" in both["fludarabine"] and "not to be given" in both["fludarabine"]
    assert "bilirubin 6 mg/dL" in both["idarubicin"]
    assert withheld(build(**{"patient.bilirubin": {"value": 3, "unit": "mg/dL"}})) == {}  # reduced, not withheld
    assert withheld(build(**{"patient.creatinine": None, "patient.bilirubin": None})) == {}  # missing ≠ withheld


@pytest.mark.parametrize(("creatinine", "factor"), [(2.69, 0.75), (1.0, 1.0), (5.5, 0.75)])
def test_etoposide_label_renal_reduction(kb, creatinine, factor):
    # 30-year-old 60 kg woman: creatinine 2.69 → CrCl 29; 1.0 → 78; 5.5 → 14 (label: no data, reduce further)
    data = build(**{"patient.creatinine": {"value": creatinine, "unit": "mg/dL"}})
    eto = drug_lines(kb, data, "mec", "etoposide", "standard")[0]
    assert eto.dose == 80 * factor
    assert eto.status == ("adjusted" if factor < 1 else "standard")
    if creatinine == 5.5:
        assert "further dose reduction" in eto.adjustments[0]


def test_high_dose_cytarabine_keeps_its_dose_and_says_why(kb):
    data = build(**{"patient.creatinine": {"value": 2.69, "unit": "mg/dL"}})
    cyt = drug_lines(kb, data, "mec", "cytarabine", "standard")[0]
    assert cyt.dose == 1000 and cyt.status == "standard" and not cyt.adjustments
    assert any("no renal dose reduction" in n for n in cyt.notes)
    low = drug_lines(kb, build(OLDER_UNFIT), "ldac", "cytarabine")[0]  # 20 mg/m²: the note does not apply
    assert not any("cerebellar" in n for n in low.notes)


def test_venetoclax_halved_in_child_pugh_c_and_not_assessed_without_it(kb):
    plain = drug_lines(kb, OLDER_UNFIT, "aza-ven", "venetoclax")
    assert all(d.status == "not_assessed" and d.not_assessed == ["child_pugh"] for d in plain)
    assert [d.rounded for d in plain] == [100, 200, 400] and not any(d.adjustments for d in plain)
    severe = drug_lines(kb, build(OLDER_UNFIT, **{"patient.child_pugh": "C"}), "aza-ven", "venetoclax")
    assert [d.rounded for d in severe] == [50, 100, 200] and all(d.status == "adjusted" for d in severe)
    mild = drug_lines(kb, build(OLDER_UNFIT, **{"patient.child_pugh": "B"}), "aza-ven", "venetoclax")
    assert [d.rounded for d in mild] == [100, 200, 400] and all(d.status == "standard" for d in mild)


def test_venetoclax_below_crcl_30_is_a_note_not_a_reduction(kb):
    data = build(OLDER_UNFIT, **{"patient.child_pugh": "A", "patient.creatinine": {"value": 2.0, "unit": "mg/dL"}})
    ven = drug_lines(kb, data, "aza-ven", "venetoclax")  # 86 y, 55 kg woman: CrCl 17
    assert [d.rounded for d in ven] == [100, 200, 400] and all(d.status == "standard" for d in ven)
    assert all(any("no dose has been determined below CrCl 30" in n for n in d.notes) for d in ven)


def test_cyp3a4_adjusted_line_with_a_missing_input_is_not_assessed_and_keeps_its_adjustment(kb):
    data = build(OLDER_UNFIT, **{"context.cyp3a4_inhibitor": "posaconazole"})
    ven = drug_lines(kb, data, "aza-ven", "venetoclax")
    assert [d.rounded for d in ven] == [10, 20, 50, 70]
    assert all(d.status == "not_assessed" and d.adjustments for d in ven)
    both = drug_lines(kb, build(data, **{"patient.child_pugh": "C"}), "aza-ven", "venetoclax")
    assert [d.rounded for d in both] == [5, 10, 25, 35] and all(len(d.adjustments) == 2 for d in both)


def test_gemtuzumab_hepatic_rule_says_what_was_not_assessed(kb):
    cd33 = build(**{"genetics.cd33_positive": True})
    missing = drug_lines(kb, cd33, "gemtuzumab", "gemtuzumab ozogamicin")[0]
    assert missing.status == "not_assessed" and missing.not_assessed == ["bilirubin"]
    entered = drug_lines(kb, build(cd33, **{"patient.bilirubin": {"value": 1, "unit": "mg/dL"}}), "gemtuzumab",
                         "gemtuzumab ozogamicin")[0]
    assert entered.status == "adjusted" and entered.adjustments == ["capped at 4.5 mg per dose (label maximum)"]
    assert any("AST/ALT are not collected" in n and "bilirubin 1 mg/dL" in n for n in entered.notes)


def test_mitoxantrone_in_hepatic_impairment_warns_without_inventing_a_reduction(kb):
    data = build(**{"patient.bilirubin": {"value": 4, "unit": "mg/dL"}})
    mito = drug_lines(kb, data, "mec", "mitoxantrone", "standard")[0]
    assert mito.dose == 6 and mito.status == "standard" and not mito.adjustments
    assert any("3.4 mg/dL" in n and "bilirubin 4 mg/dL" in n for n in mito.notes)
    assert drug_lines(kb, YOUNG_FIT, "mec", "mitoxantrone", "standard")[0].status == "standard"


@pytest.mark.parametrize(("regimen_id", "drug"), [("ivosidenib", "ivosidenib"), ("olutasidenib", "olutasidenib"),
                                                  ("enasidenib", "enasidenib"), ("revumenib", "revumenib"),
                                                  ("ziftomenib", "ziftomenib")])
def test_idh_and_menin_inhibitor_lines_say_what_the_label_says_on_organ_impairment(kb, regimen_id, drug):
    line = drug_lines(kb, build(OLDER_UNFIT, **{"patient.creatinine": None}), regimen_id, drug)[0]
    assert line.status == "standard"
    assert any("label (8.6, 8.7)" in n and "not studied" in n for n in line.notes)


# --- status property over all regimens -----------------------------------------------------------------

def _assessing_inputs(kb, drug, jurisdiction):
    inputs = {ORGAN_INPUTS[r.measure] for r in kb.parameters.organ_dose_rules
              if r.drug == drug and jurisdiction in r.jurisdictions and r.assesses}
    if drug == "fludarabine":
        inputs.add("creatinine")
    return inputs


@pytest.mark.parametrize("jurisdiction", ["CA", "US"])
def test_every_dose_line_affected_by_a_missing_organ_input_says_not_assessed(kb, jurisdiction):
    nothing = build(**{"patient.creatinine": None, "context.jurisdiction": jurisdiction,
                       "genetics.cd33_positive": True})
    everything = build(nothing, **{"patient.creatinine": {"value": 80, "unit": "umol/L"},
                                   "patient.bilirubin": {"value": 0.8, "unit": "mg/dL"}, "patient.child_pugh": "A"})
    checked = set()
    for regimen_id in kb.regimens:
        for line in doses(kb, nothing, regimen_id):
            needed = _assessing_inputs(kb, line.drug, jurisdiction)
            assert set(line.not_assessed) == needed, (regimen_id, line.drug)
            if needed:
                assert line.status == "not_assessed"
            if needed:
                checked.add(line.drug)
        for line in doses(kb, everything, regimen_id):
            assert line.status != "not_assessed" and line.not_assessed == [], (regimen_id, line.drug)
    assert {"fludarabine", "etoposide", "idarubicin", "venetoclax", "gemtuzumab ozogamicin"} <= checked


def test_a_missing_input_never_yields_adjusted(kb):
    nothing = build(**{"patient.creatinine": None})
    for regimen_id in ("flag-ida", "mec", "flag-ida-ven"):
        for line in doses(kb, nothing, regimen_id):
            assert not any("not assessed" in a for a in line.adjustments)
            if line.not_assessed:
                assert line.status == "not_assessed"


# --- dosing corrections --------------------------------------------------------------------------------

def test_filgrastim_syringe_states_a_deviation_over_10_percent(kb):
    far = drug_lines(kb, build(**{"patient.weight_kg": 72}), "flag-ida", "filgrastim")[0]  # 360 mcg
    assert far.rounded == 300 and "17% below the weight-based 360 mcg" in far.rounding
    near = drug_lines(kb, build(**{"patient.weight_kg": 90}), "flag-ida", "filgrastim")[0]  # 450 mcg
    assert near.rounded == 480 and "%" not in near.rounding


def test_makeable_amounts_uses_whole_tablets():
    assert makeable_amounts(270, [25, 110, 160]) == (270, {160: 1, 110: 1})
    assert makeable_amounts(160, [25, 110, 160]) == (160, {160: 1})
    assert makeable_amounts(117.7, [25, 110, 160]) == (125, {25: 5})


@pytest.mark.parametrize(("weight", "inhibitor", "computed", "rounded", "tablets"),
                         [(60, "none", 270, 270, "1 × 160 mg + 1 × 110 mg"),
                          (60, "posaconazole", 160, 160, "1 × 160 mg"),
                          (35, "none", 198.3, 200, "8 × 25 mg"),  # 160 mg/m² × 1.2394 m²
                          (35, "strong", 117.74, 125, "5 × 25 mg")])  # 95 mg/m² × 1.2394 m²
def test_revumenib_rounded_to_what_the_tablets_make(kb, weight, inhibitor, computed, rounded, tablets):
    data = build(OLDER_UNFIT, **{"genetics.npm1": True, "patient.weight_kg": weight,
                                 "context.cyp3a4_inhibitor": inhibitor})
    line = drug_lines(kb, data, "revumenib", "revumenib")[0]
    assert line.computed == pytest.approx(computed, abs=0.01) and line.rounded == rounded
    assert tablets in line.rounding and "25/110/160 mg tablets" in line.rounding
    assert line.status == ("standard" if (weight, inhibitor) == (60, "none") else "adjusted")


def test_exact_doses_use_the_unrounded_bsa(kb):
    """BSA 1.6583 m² is shown as 1.66 m²: cytarabine 2000 mg/m² is 3316.6 mg (rounded 3315), not 3320."""
    cyt = drug_lines(kb, YOUNG_FIT, "flag-ida", "cytarabine")[0]
    assert cyt.computed == pytest.approx(3316.62) and cyt.rounded == 3315
    assert "BSA 1.66 m²" in cyt.basis and "unrounded 1.6583 m²" in cyt.basis


@pytest.mark.parametrize(("inhibitor", "steady"), [("posaconazole", 70), ("strong", 100)])
def test_flag_ida_venetoclax_cyp3a_text_describes_no_ramp_up(kb, inhibitor, steady):
    data = build(**{"context.cyp3a4_inhibitor": inhibitor, "patient.child_pugh": "A"})
    ven = drug_lines(kb, data, "flag-ida-ven", "venetoclax")
    assert [(d.days, d.rounded) for d in ven] == [("D1-7", steady)]
    text = ven[0].adjustments[0]
    assert "10/20/50" not in text and "no ramp-up" in text and f"{steady} mg daily" in text
    aza = drug_lines(kb, build(OLDER_UNFIT, **{"context.cyp3a4_inhibitor": inhibitor}), "aza-ven", "venetoclax")
    assert "ramp-up 10/20/50" in aza[0].adjustments[0]  # the ramp-up regimens keep the label's ramp-up


def test_below_five_feet_no_ideal_weight_exists_and_actual_weight_is_used_and_said(evaluate):
    # Devine's IBW is negative at 100 cm: Cockcroft-Gault must not use it, whatever the choice.
    for choice in ("auto", "ideal", "adjusted"):
        result = evaluate(build(**{"patient.height_cm": 140, "patient.weight_kg": 45, "context.crcl_weight": choice,
                                   "patient.creatinine": {"value": 80, "unit": "umol/L"}}))
        a = result.assessment
        assert a.crcl_weight.basis == "actual" and a.crcl_weight.kg == 45
        assert "not defined below 152 cm" in a.crcl_note and a.crcl_ml_min > 0
        if choice != "auto":
            assert f"{choice} weight was asked for" in a.crcl_note
