"""Dosing: per-unit dose × patient, rounding, label adjustments named — no database."""

import pytest

from aml_salvage.domain.consult import NOT_DOSED_NOTE
from aml_salvage.domain.dosing import DosingConfig, nearest_syringe, regimen_doses, round_dose
from aml_salvage.domain.workup import Workup
from tests.conftest import option
from tests.factories import OLDER_UNFIT, YOUNG_FIT, build


def lines(result, option_id, drug):
    return [d for d in option(result, option_id).doses if d.drug == drug]


def test_rounding_bands(kb):
    bands = kb.parameters.rounding
    assert round_dose(4.98, bands) == 5.0
    assert round_dose(9.96, bands) == 10
    assert round_dose(16.58, bands) == 17
    assert round_dose(124.4, bands) == 125
    assert round_dose(3316.6, bands) == 3315


def test_filgrastim_rounds_to_the_nearest_prefilled_syringe(evaluate):
    assert nearest_syringe(300, [300, 480]) == 300
    assert nearest_syringe(390, [300, 480]) == 300  # tie goes to the smaller syringe
    assert nearest_syringe(400, [300, 480]) == 480
    heavy = evaluate(build(**{"patient.weight_kg": 90}))
    line = lines(heavy, "flag-ida", "filgrastim")[0]
    assert line.computed == 450 and line.rounded == 480 and "syringe" in line.rounding


def test_bsa_based_dose_shows_exact_rounded_and_basis(evaluate):
    result = evaluate(YOUNG_FIT)  # BSA 1.66 m² shown; doses from the unrounded 1.6583 m²
    ida = lines(result, "flag-ida", "idarubicin")[0]
    assert ida.dose == 10 and ida.unit == "mg/m2"
    assert ida.computed == pytest.approx(16.58) and ida.rounded == 17 and ida.computed_unit == "mg"
    assert "1.66 m²" in ida.basis and "165 cm" in ida.basis and "60 kg" in ida.basis
    assert "unrounded 1.6583 m²" in ida.basis


def test_every_dosed_option_carries_height_weight_and_bsa(evaluate):
    result = evaluate(YOUNG_FIT)
    for opt in result.options:
        if opt.doses:
            basis = opt.dosing_basis
            assert (basis.height_cm, basis.weight_kg, basis.bsa_m2) == (165, 60, 1.66)
            assert "165 cm" in basis.text and "1.66 m²" in basis.text


def test_institutional_bsa_cap_is_applied_and_printed(evaluate):
    big = build(**{"patient.height_cm": 190, "patient.weight_kg": 120})  # BSA 2.52
    result = evaluate(big, config=DosingConfig(bsa_cap_m2=2.0))
    assert result.assessment.bsa_used_m2 == 2.0 and result.assessment.bsa_cap_m2 == 2.0
    ida = lines(result, "flag-ida", "idarubicin")[0]
    assert ida.computed == 20 and any("cap 2.00 m²" in a for a in ida.adjustments)
    uncapped = lines(evaluate(big), "flag-ida", "idarubicin")[0]
    assert uncapped.computed == pytest.approx(25.17) and not uncapped.adjustments  # unrounded BSA 2.5166 m²


def test_venetoclax_ramp_up_without_inhibitor(evaluate):
    ven = lines(evaluate(OLDER_UNFIT), "aza-ven", "venetoclax")
    assert [(d.days, d.rounded) for d in ven] == [("D1", 100), ("D2", 200), ("D3-28", 400)]


@pytest.mark.parametrize(
    ("inhibitor", "expected"),
    [
        ("posaconazole", [("D1", 10), ("D2", 20), ("D3", 50), ("D4-28", 70)]),
        ("strong", [("D1", 10), ("D2", 20), ("D3", 50), ("D4-28", 100)]),
        ("moderate", [("D1", 50), ("D2", 100), ("D3-28", 200)]),
        ("pgp", [("D1", 50), ("D2", 100), ("D3-28", 200)]),
    ],
)
def test_venetoclax_label_table_with_cyp3a4_and_pgp_inhibitors(evaluate, inhibitor, expected):
    result = evaluate(build(OLDER_UNFIT, **{"context.cyp3a4_inhibitor": inhibitor}))
    ven = lines(result, "aza-ven", "venetoclax")
    assert [(d.days, d.rounded) for d in ven] == expected
    assert all(d.adjustments and "label" in d.adjustments[0] for d in ven)


def test_ldac_venetoclax_ramps_to_600_and_adjusts_with_posaconazole(evaluate):
    plain = lines(evaluate(OLDER_UNFIT), "ldac-ven", "venetoclax")
    assert [d.rounded for d in plain] == [100, 200, 400, 600]
    posa = lines(evaluate(build(OLDER_UNFIT, **{"context.cyp3a4_inhibitor": "posaconazole"})), "ldac-ven",
                 "venetoclax")
    assert [(d.days, d.rounded) for d in posa] == [("D1", 10), ("D2", 20), ("D3", 50), ("D4-28", 70)]


def test_flag_ida_venetoclax_without_ramp_takes_the_steady_adjusted_dose(evaluate):
    ven = lines(evaluate(build(**{"context.cyp3a4_inhibitor": "posaconazole"})), "flag-ida-ven", "venetoclax")
    assert [(d.days, d.rounded) for d in ven] == [("D1-7", 70)]


@pytest.mark.parametrize(("creatinine", "expected_dose", "withheld"),
                         [(80, 30, False), (140, 24, False), (300, None, True)])
def test_fludarabine_by_crcl_band(evaluate, kb, creatinine, expected_dose, withheld):
    # 30 y, 60 kg woman: creatinine 80 → CrCl 86; 140 → 49; 300 → 23 mL/min
    data = build(**{"patient.creatinine": {"value": creatinine, "unit": "umol/L"}})
    result = evaluate(data)
    flu = [d for d in regimen_doses(regimen=kb.regimens["flag-ida"], workup=Workup.model_validate(data),
                                    assessment=result.assessment, kb=kb) if d.drug == "fludarabine"][0]
    assert flu.withheld is withheld
    if withheld:
        assert flu.rounded is None and "not to be given" in flu.adjustments[0]
        assert option(result, "flag-ida").tier == "not_recommended"
    else:
        assert flu.dose == expected_dose
        assert bool(flu.adjustments) is (expected_dose != 30)
        assert lines(result, "flag-ida", "fludarabine")[0].dose == expected_dose


def test_not_recommended_options_get_no_patient_doses(evaluate):
    result = evaluate(OLDER_UNFIT)  # unfit: intensive regimens not recommended
    flag = option(result, "flag-ida")
    assert flag.tier == "not_recommended" and flag.doses == [] and flag.dosing_note == NOT_DOSED_NOTE
    assert option(result, "aza-ven").doses


def test_ivosidenib_reduced_with_strong_cyp3a4_inhibitor(evaluate):
    idh1 = build(OLDER_UNFIT, **{"genetics.idh1": True})
    assert lines(evaluate(idh1), "ivosidenib", "ivosidenib")[0].rounded == 500
    reduced = lines(evaluate(build(idh1, **{"context.cyp3a4_inhibitor": "posaconazole"})), "ivosidenib",
                    "ivosidenib")[0]
    assert reduced.rounded == 250 and "ivosidenib label" in reduced.adjustments[0]


@pytest.mark.parametrize(
    ("weight", "inhibitor", "dose", "unit"),
    [(60, "none", 270, "mg"), (60, "posaconazole", 160, "mg"), (35, "none", 160, "mg/m2"),
     (35, "strong", 95, "mg/m2")],
)
def test_revumenib_by_weight_band_and_strong_inhibitor(evaluate, weight, inhibitor, dose, unit):
    data = build(OLDER_UNFIT, **{"genetics.npm1": True, "patient.weight_kg": weight,
                                 "context.cyp3a4_inhibitor": inhibitor})
    line = lines(evaluate(data), "revumenib", "revumenib")[0]
    assert (line.dose, line.unit, line.frequency) == (dose, unit, "twice daily")
    if unit == "mg/m2":
        assert line.computed_unit == "mg" and "BSA" in line.basis


def test_gemtuzumab_capped_at_one_vial(evaluate):
    big = build(**{"genetics.cd33_positive": True, "patient.height_cm": 180, "patient.weight_kg": 90})  # 2.12 m²
    line = lines(evaluate(big), "gemtuzumab", "gemtuzumab ozogamicin")[0]
    assert line.computed == pytest.approx(6.36) and line.rounded == 4.5
    assert any("4.5 mg" in a for a in line.adjustments)


def test_gilteritinib_escalation_note_differs_by_jurisdiction(evaluate):
    flt3 = build(**{"genetics.flt3_itd": True})
    ca = lines(evaluate(flt3), "gilteritinib", "gilteritinib")[0]
    us = lines(evaluate(build(flt3, **{"context.jurisdiction": "US"})), "gilteritinib", "gilteritinib")[0]
    assert ca.rounded == us.rounded == 120
    assert any(n.startswith("CA:") and "200" in n for n in ca.notes)
    assert any(n.startswith("US:") for n in us.notes)


def test_high_dose_cytarabine_with_renal_impairment_warns_without_inventing_a_reduction(evaluate):
    impaired = evaluate(build(**{"patient.creatinine": {"value": 1.5, "unit": "mg/dL"}}))
    mec = option(impaired, "mec")
    cyt = [d for d in mec.doses if d.drug == "cytarabine" and d.schedule == "standard"][0]
    assert cyt.dose == 1000 and not cyt.adjustments
    assert "cytarabine-cerebellar-renal" in [w.id for w in mec.warning_details]
    normal = option(evaluate(YOUNG_FIT), "mec")
    assert "cytarabine-cerebellar-renal" not in [w.id for w in normal.warning_details]


def test_anthracycline_regimens_warn_about_cumulative_dose(evaluate):
    result = evaluate(YOUNG_FIT)
    for oid in ("flag-ida", "mec"):
        assert "anthracycline-cumulative" in [w.id for w in option(result, oid).warning_details]


def test_renal_thresholds_come_from_the_knowledge_base(kb, evaluate):
    """Moving the label's fludarabine bands in parameters.yaml moves the tier, the dose and the warning."""
    from aml_salvage.domain.consult import consult_build
    from aml_salvage.domain.knowledge import FludarabineBand

    # CrCl 49 mL/min: reduced under the shipped bands; withheld if the "do not give" band reached 50.
    data = build(**{"patient.creatinine": {"value": 140, "unit": "umol/L"}})
    assert option(evaluate(data), "flag-ida").tier != "not_recommended"
    stricter = kb.parameters.model_copy(update={"fludarabine_renal": [
        FludarabineBand(crcl_min=70, crcl_max=None, factor=1.0, text="full"),
        FludarabineBand(crcl_min=0, crcl_max=70, factor=0.0, text="do not give"),
    ]})
    result = consult_build(workup=Workup.model_validate(data), kb=kb.model_copy(update={"parameters": stricter}))
    flag = option(result, "flag-ida")
    assert flag.tier == "not_recommended" and "fludarabine-renal-avoid" in [w.id for w in flag.warning_details]
