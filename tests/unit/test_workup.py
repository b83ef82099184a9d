"""The workup contract: strict, errors name the field in words a clinician reads."""

import json

import pytest

from aml_salvage import services
from aml_salvage.domain.errors import MSG_ADULTS_ONLY, MSG_UNKNOWN_FIELD
from tests.factories import YOUNG_FIT, build


def errors_of(data):
    with pytest.raises(services.WorkupInvalid) as exc:
        services.workup_parse(data=data)
    return {e.path: e.message for e in exc.value.errors}


def test_the_contract_example_validates():
    assert services.workup_parse(data=json.dumps(YOUNG_FIT)).patient.age_years == 30


def test_under_18_is_refused_in_words():
    assert errors_of(build(**{"patient.age_years": 17})) == {"patient.age_years": MSG_ADULTS_ONLY}


def test_unknown_fields_are_errors_not_dropped():
    data = build()
    data["genetics"]["flt3"] = True
    assert errors_of(data) == {"genetics.flt3": MSG_UNKNOWN_FIELD}


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        ("patient.height_cm", 90, "at least 100"),
        ("patient.weight_kg", 400, "at most 350"),
        ("patient.ecog", 5, "at most 4"),
        ("disease.marrow_blasts_pct", 101, "at most 100"),
        ("patient.sex", "other", "one of"),
        ("context.jurisdiction", "UK", "one of"),
        ("patient.age_years", "thirty", "whole number"),
        ("fit_for_intensive_chemo", "yes", "true or false"),
    ],
)
def test_out_of_range_and_wrong_type_name_the_field(path, value, words):
    errors = errors_of(build(**{path: value}))
    assert words in errors[path]


def test_implausible_creatinine_for_its_unit():
    errors = errors_of(build(**{"patient.creatinine": {"value": 80, "unit": "mg/dL"}}))
    assert "check the value and the unit" in errors["patient.creatinine"]


@pytest.mark.parametrize(
    ("overrides", "path", "words"),
    [
        ({"disease.months_since_hct": 4}, "disease.months_since_hct", "prior allogeneic HCT is not ticked"),
        ({"disease.prior_allo_hct": True}, "disease.months_since_hct", "required after an allogeneic HCT"),
        ({"disease.status": "primary_refractory", "disease.cr1_duration_months": None,
          "disease.intensive_induction_cycles": 2}, "disease.relapse_number", "never reached remission"),
        ({"disease.relapse_number": None}, "disease.relapse_number", "required for relapse"),
        ({"disease.status": "primary_refractory", "disease.relapse_number": None,
          "disease.cr1_duration_months": None, "disease.intensive_induction_cycles": 1},
         "disease.intensive_induction_cycles", "at least 2 cycles"),
        ({"disease.status": "mrd_relapse", "disease.circulating_blasts": False, "disease.extramedullary": False},
         "disease.marrow_blasts_pct", "hematologic relapse"),
        ({"disease.status": "mrd_relapse", "disease.marrow_blasts_pct": 1}, "disease.extramedullary",
         "hematologic relapse"),
        ({"prior_therapy.venetoclax_failure": True}, "prior_therapy.venetoclax_failure", "prior venetoclax is not"),
        ({"disease.status": "primary_refractory", "disease.relapse_number": None,
          "disease.cr1_duration_months": None, "disease.intensive_induction_cycles": 2,
          "prior_therapy.intensive_chemo": False}, "prior_therapy.intensive_chemo", "intensive induction"),
    ],
)
def test_contradictions_are_errors_naming_the_field(overrides, path, words):
    errors = errors_of(build(**overrides))
    assert words in errors[path], errors


def test_all_problems_are_reported_at_once():
    errors = errors_of(build(**{"patient.age_years": 12, "patient.ecog": 9, "context.jurisdiction": "FR"}))
    assert {"patient.age_years", "patient.ecog", "context.jurisdiction"} <= set(errors)


def test_gene_symbols_are_normalised():
    w = services.workup_parse(data=build(**{"genetics.other_mutations": ["wt1", "WT1", "Fbxw7"]}))
    assert w.genetics.other_mutations == ("WT1", "FBXW7")


def test_invalid_json_text_is_a_clear_error():
    errors = errors_of('{"patient": ')
    assert any("JSON" in m for m in errors.values())
