"""Assessment: BSA, CrCl, remission duration, EPI (Breems 2005) — no database."""

import pytest

from aml_salvage.domain.assessment import bsa_dubois, bsa_mosteller, crcl_cockcroft_gault
from tests.factories import OLDER_UNFIT, YOUNG_FIT, build


def test_mosteller_bsa_for_dt20_patient_1():
    assert bsa_mosteller(165, 60) == pytest.approx(1.658, abs=0.001)


def test_dubois_bsa_differs_from_mosteller():
    assert bsa_dubois(165, 60) == pytest.approx(1.660, abs=0.005)
    assert bsa_dubois(190, 120) != pytest.approx(bsa_mosteller(190, 120), abs=0.01)


def test_bsa_formula_is_selectable_and_reported(evaluate):
    result = evaluate(build(**{"context.bsa_formula": "dubois", "patient.height_cm": 190, "patient.weight_kg": 120}))
    assert result.assessment.bsa_formula == "dubois"
    assert result.assessment.bsa_m2 == pytest.approx(round(bsa_dubois(190, 120), 2))


def test_cockcroft_gault_female_factor():
    male = crcl_cockcroft_gault(age_years=30, weight_kg=60, sex="male", creatinine_mg_dl=1.0)
    female = crcl_cockcroft_gault(age_years=30, weight_kg=60, sex="female", creatinine_mg_dl=1.0)
    assert male == pytest.approx(110 * 60 / 72)
    assert female == pytest.approx(male * 0.85)


def test_crcl_accepts_umol_and_mg_dl_alike(evaluate):
    umol = evaluate(build(**{"patient.creatinine": {"value": 88.4, "unit": "umol/L"}}))
    mgdl = evaluate(build(**{"patient.creatinine": {"value": 1.0, "unit": "mg/dL"}}))
    assert umol.assessment.crcl_ml_min == mgdl.assessment.crcl_ml_min == pytest.approx(77.9, abs=0.1)


def test_no_creatinine_means_renal_not_assessed(evaluate):
    result = evaluate(build(**{"patient.creatinine": None}))
    assert result.assessment.crcl_ml_min is None
    assert "not assessed" in result.assessment.crcl_note
    flag = next(o for o in result.options if o.id == "flag-ida")
    assert any("renal" in w.lower() and "not" in w.lower() for w in flag.warnings)


def test_dt20_patient_1_epi_is_10_poor(evaluate):
    epi = evaluate(build(**{"disease.cr1_duration_months": 5})).assessment.epi
    assert (epi.score, epi.group) == (10, "poor")
    assert epi.points == {"rfi": 5, "cytogenetics": 5, "age": 0, "prior_sct": 0}


@pytest.mark.parametrize(
    ("cr1", "cyto", "age", "prior_hct", "score", "group"),
    [
        (6, "inv16_t16_16", 35, False, 5, "favorable"),  # ≤6 months is 5 points; age 35 is 0
        (7, "t8_21", 36, False, 7, "intermediate"),  # 7–18 months 3, t(8;21) 3, age 36–45 1
        (18, "other", 45, False, 9, "intermediate"),
        (19, "inv16_t16_16", 46, False, 2, "favorable"),  # >18 months 0, >45 years 2
        (3, "other", 50, True, 14, "poor"),  # the maximum: 5+5+2+2
    ],
)
def test_epi_bands_and_groups(evaluate, cr1, cyto, age, prior_hct, score, group):
    data = build(**{"disease.cr1_duration_months": cr1, "genetics.diagnosis_cytogenetics": cyto,
                    "patient.age_years": age, "disease.prior_allo_hct": prior_hct,
                    "disease.months_since_hct": 10 if prior_hct else None})
    epi = evaluate(data).assessment.epi
    assert (epi.score, epi.group) == (score, group)


def test_epi_is_null_for_primary_refractory(evaluate):
    data = build(**{"disease.status": "primary_refractory", "disease.relapse_number": None,
                    "disease.cr1_duration_months": None, "disease.intensive_induction_cycles": 2})
    result = evaluate(data)
    assert result.assessment.epi is None
    assert "primary refractory" in result.assessment.epi_note


def test_epi_caveats_for_age_over_60_and_pre_targeted_era(evaluate):
    young = evaluate(YOUNG_FIT).assessment.epi
    old = evaluate(OLDER_UNFIT).assessment.epi
    assert any("predate" in c for c in young.caveats)
    assert not any("15–60" in c for c in young.caveats)
    assert any("15–60" in c for c in old.caveats)


def test_epi_not_computed_without_diagnosis_cytogenetics(evaluate):
    result = evaluate(build(**{"genetics.diagnosis_cytogenetics": None}))
    assert result.assessment.epi is None and "cytogenetics" in result.assessment.epi_note


def test_early_relapse_and_cr1_le_12_months(evaluate):
    early = evaluate(build(**{"disease.cr1_duration_months": 5.9})).assessment
    late = evaluate(build(**{"disease.cr1_duration_months": 6})).assessment
    long = evaluate(build(**{"disease.cr1_duration_months": 12.5})).assessment
    assert (early.early_relapse, early.cr1_le_12_months) == (True, True)
    assert (late.early_relapse, late.cr1_le_12_months) == (False, True)
    assert (long.early_relapse, long.cr1_le_12_months) == (False, False)


def test_status_definition_from_dt20_table_1(evaluate):
    assessment = evaluate(YOUNG_FIT).assessment
    assert assessment.status == "relapse" and "DT20 Table 1" in assessment.status_definition
