"""Contract v2 (workup-schema.md): the new inputs are optional, v1 workups keep their answer, and the new
contradictions are errors that name the field the clinician must correct."""

import json

import pytest

from aml_salvage import services
from aml_salvage.domain import errors as E
from tests.factories import OLDER_UNFIT, YOUNG_FIT, build, case_files, load_case

V2_COMPLETE = {
    "patient.bilirubin": {"value": 1.2, "unit": "mg/dL"},
    "patient.child_pugh": "A",
    "patient.lvef_pct": 60,
    "patient.qtcf_ms": 430,
    "infection_uncontrolled": False,
    "genetics.pending": ["npm1", "kmt2a_rearranged"],
    "prior_therapy.anthracyclines_mg_m2": {"daunorubicin": 270, "idarubicin": 0, "mitoxantrone": 0,
                                          "doxorubicin": 0, "epirubicin": 0},
    "context.crcl_weight": "auto",
}


def errors_of(data):
    with pytest.raises(services.WorkupInvalid) as exc:
        services.workup_parse(data=json.dumps(data))
    return {e.path: e.message for e in exc.value.errors}


def test_the_contract_v2_example_validates():
    workup = services.workup_parse(data=json.dumps(build(YOUNG_FIT, **V2_COMPLETE)))
    assert workup.patient.bilirubin.mg_dl == 1.2
    assert workup.genetics.pending == ("npm1", "kmt2a_rearranged")
    assert workup.prior_therapy.anthracyclines_mg_m2.daunorubicin == 270
    assert workup.context.crcl_weight == "auto"


@pytest.mark.parametrize("path", case_files(), ids=lambda p: p.stem)
def test_every_worked_case_is_still_valid_without_the_new_fields(path):
    workup = services.workup_parse(data=json.dumps(load_case(path)["workup"]))
    assert workup.patient.bilirubin is None and workup.genetics.pending == ()
    assert workup.prior_therapy.anthracyclines_mg_m2 is None and workup.context.crcl_weight == "auto"


def test_bilirubin_in_umol_per_litre_converts_to_mg_dl():
    workup = services.workup_parse(data=json.dumps(build(**{"patient.bilirubin": {"value": 34.2, "unit": "umol/L"}})))
    assert workup.patient.bilirubin.mg_dl == pytest.approx(2.0)


@pytest.mark.parametrize("fusion", ["PML::RARA", "PML-RARA", "pml-rara"])
def test_an_apl_fusion_in_the_gene_list_is_refused_on_that_field(fusion):
    errors = errors_of(build(**{"genetics.other_mutations": ["FLT3", fusion]}))
    assert list(errors) == ["genetics.other_mutations"]
    assert "acute promyelocytic leukemia" in errors["genetics.other_mutations"]
    assert "non-APL" in errors["genetics.other_mutations"]


def test_an_apl_fusion_anywhere_is_refused_and_named():
    data = build()
    data["genetics"]["PML::RARA"] = True
    errors = errors_of(data)
    assert "genetics.PML::RARA" in errors and "non-APL" in errors["genetics.PML::RARA"]


def test_a_first_remission_longer_than_the_patients_life_is_refused():
    errors = errors_of(build(**{"patient.age_years": 30, "disease.cr1_duration_months": 361}))
    assert list(errors) == ["disease.cr1_duration_months"]
    assert "361 months" in errors["disease.cr1_duration_months"] and "30 years" in errors[
        "disease.cr1_duration_months"]


def test_a_remission_that_began_in_childhood_is_possible():
    # 30 years old, in remission for 20 years (since age 10): valid.
    services.workup_parse(data=json.dumps(build(**{"patient.age_years": 30, "disease.cr1_duration_months": 240})))


@pytest.mark.parametrize("gene", ["flt3_itd", "npm1", "cd33_positive"])
def test_a_pending_gene_marked_positive_is_an_error_on_that_flag(gene):
    errors = errors_of(build(**{f"genetics.{gene}": True, "genetics.pending": [gene]}))
    assert errors == {f"genetics.{gene}": E.MSG_PENDING_AND_POSITIVE}


def test_an_unknown_pending_gene_is_refused():
    errors = errors_of(build(**{"genetics.pending": ["colour"]}))
    assert "genetics.pending.0" in errors


def test_uncontrolled_infection_needs_active_infection_and_the_error_names_active_infection():
    errors = errors_of(build(**{"infection_uncontrolled": True, "active_infection": False}))
    assert errors == {"active_infection": E.MSG_UNCONTROLLED_NEEDS_ACTIVE}
    services.workup_parse(data=json.dumps(build(infection_uncontrolled=True, active_infection=True)))


@pytest.mark.parametrize("path, value, words", [
    ("patient.lvef_pct", 5, "at least 10"),
    ("patient.lvef_pct", 90, "at most 85"),
    ("patient.qtcf_ms", 250, "at least 300"),
    ("patient.qtcf_ms", 701, "at most 700"),
    ("patient.child_pugh", "D", "one of"),
    ("context.crcl_weight", "lean", "one of"),
])
def test_out_of_range_v2_values_name_the_field(path, value, words):
    errors = errors_of(build(**{path: value}))
    assert words in errors[path]


def test_implausible_bilirubin_names_the_field_and_the_unit():
    errors = errors_of(build(**{"patient.bilirubin": {"value": 80, "unit": "mg/dL"}}))
    assert "patient.bilirubin" in errors and "mg/dL" in errors["patient.bilirubin"]


def test_negative_anthracycline_exposure_names_the_agent():
    errors = errors_of(build(**{"prior_therapy.anthracyclines_mg_m2": {"daunorubicin": -1}}))
    assert "prior_therapy.anthracyclines_mg_m2.daunorubicin" in errors


def test_a_v1_workup_gives_the_same_answer_with_the_v2_defaults_spelled_out(evaluate):
    for base in (YOUNG_FIT, OLDER_UNFIT):
        plain = evaluate(base)
        spelled = evaluate(build(base, **{"genetics.pending": [], "context.crcl_weight": "auto",
                                          "infection_uncontrolled": False}))
        assert [(o.id, o.tier) for o in plain.options] == [(o.id, o.tier) for o in spelled.options]
