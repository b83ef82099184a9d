"""The workup form converts and the Workup model decides: every contract field has one input, the form
gives back exactly the workup it was filled from, and every error lands beside its field."""

from __future__ import annotations

import typing

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from aml_salvage import services
from aml_salvage.domain import workup as W
from aml_salvage.forms import (
    FIELD_PATHS,
    SECTIONS,
    WorkupForm,
    _field_for_path,
    form_data_from_workup,
)
from aml_salvage.presentation import labels, workup_sections
from aml_salvage.views.workspace import PAIRED
from tests.factories import OLDER_UNFIT, YOUNG_FIT, build


def leaf_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    paths = set()
    for name, info in model.model_fields.items():
        annotation = info.annotation
        nested = [a for a in typing.get_args(annotation) or (annotation,)
                  if isinstance(a, type) and issubclass(a, BaseModel)]
        if nested:
            paths |= leaf_paths(nested[0], f"{prefix}{name}.")
        else:
            paths.add(f"{prefix}{name}")
    return paths


def test_every_workup_field_has_exactly_one_input():
    assert set(FIELD_PATHS.values()) == leaf_paths(W.Workup)
    assert len(set(FIELD_PATHS.values())) == len(FIELD_PATHS)


def test_every_input_is_placed_in_a_section():
    placed = [name for section in SECTIONS for name in section.fields]
    placed += list(PAIRED.values())
    assert sorted(placed) == sorted(FIELD_PATHS)


VOCABULARY = [
    (W.Sex, labels.SEX), (W.GoalsOfCare, labels.GOALS_OF_CARE), (W.DiseaseStatus, labels.DISEASE_STATUS),
    (W.ElnRisk, labels.ELN_RISK), (W.DiagnosisCytogenetics, labels.CYTOGENETICS),
    (W.Jurisdiction, labels.JURISDICTION), (W.Cyp3a4Inhibitor, labels.CYP3A4_INHIBITOR),
    (W.BsaFormula, labels.BSA_FORMULA), (W.LabUnit, labels.LAB_UNIT), (W.ChildPugh, labels.CHILD_PUGH),
    (W.CrclWeight, labels.CRCL_WEIGHT), (W.PendingGene, labels.GENE),
]


@pytest.mark.parametrize(("literal", "words"), VOCABULARY, ids=lambda v: getattr(v, "__name__", ""))
def test_every_choice_has_exactly_one_word_in_the_vocabulary(literal, words):
    assert set(words) == set(typing.get_args(literal))


@pytest.mark.parametrize(("literal", "words"), VOCABULARY[:-1], ids=lambda v: getattr(v, "__name__", ""))
def test_the_form_offers_each_choice_in_the_vocabulary_s_words(literal, words):
    offered = {value: text for field in WorkupForm().fields.values() for value, text in getattr(field, "choices", ())}
    for value in typing.get_args(literal):
        assert offered[value] == words[value]


def round_trip(workup: dict) -> dict:
    form = WorkupForm(data=form_data_from_workup(workup))
    parsed = form.parse_workup()
    assert parsed is not None, form.errors
    return parsed.model_dump(mode="json")


VARIANTS = {
    "young fit": YOUNG_FIT,
    "older unfit": OLDER_UNFIT,
    "primary refractory": build(YOUNG_FIT, **{
        "disease.status": "primary_refractory", "disease.relapse_number": None,
        "disease.cr1_duration_months": None, "disease.intensive_induction_cycles": 2}),
    "post HCT": build(YOUNG_FIT, **{"disease.prior_allo_hct": True, "disease.months_since_hct": 7.5}),
    "MRD relapse": build(YOUNG_FIT, **{"disease.status": "mrd_relapse", "disease.marrow_blasts_pct": 2,
                                       "disease.circulating_blasts": False, "disease.extramedullary": False}),
    "mg/dL, DuBois, US": build(YOUNG_FIT, **{"patient.creatinine": {"value": 1.3, "unit": "mg/dL"},
                                             "context.jurisdiction": "US", "context.bsa_formula": "dubois"}),
    "no creatinine": build(YOUNG_FIT, **{"patient.creatinine": None}),
    "tri-states known": build(YOUNG_FIT, **{"genetics.cd33_positive": True, "transplant.candidate": False,
                                            "transplant.donor_available": True, "genetics.eln2022_risk": None,
                                            "genetics.diagnosis_cytogenetics": None}),
    "mutations": build(YOUNG_FIT, **{"genetics.other_mutations": ["WT1", "FBXW7", "PHF6"],
                                     "genetics.flt3_itd": True, "prior_therapy.venetoclax": True,
                                     "prior_therapy.venetoclax_failure": True,
                                     "context.cyp3a4_inhibitor": "posaconazole"}),
}


@pytest.mark.parametrize("workup", VARIANTS.values(), ids=VARIANTS.keys())
def test_form_gives_back_the_workup_it_was_filled_from(workup):
    assert round_trip(workup) == services.workup_parse(data=workup).model_dump(mode="json")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    age=st.integers(18, 120), height=st.floats(100, 250).map(lambda x: round(x, 1)),
    weight=st.floats(25, 350).map(lambda x: round(x, 1)), ecog=st.integers(0, 4),
    cr1=st.floats(0, 600).map(lambda x: round(x, 2)), flags=st.lists(st.booleans(), min_size=7, max_size=7),
    cd33=st.sampled_from([True, False, None]), candidate=st.sampled_from([True, False, None]),
)
def test_round_trip_holds_for_any_plausible_patient(age, height, weight, ecog, cr1, flags, cd33, candidate):
    genes = ("flt3_itd", "flt3_tkd", "idh1", "idh2", "npm1", "kmt2a_rearranged", "tp53")
    workup = build(YOUNG_FIT, **{
        "patient.age_years": age, "patient.height_cm": height, "patient.weight_kg": weight,
        # a first remission no longer than the patient's life (contract v2)
        "patient.ecog": ecog, "disease.cr1_duration_months": min(cr1, age * 12), "genetics.cd33_positive": cd33,
        "transplant.candidate": candidate, **{f"genetics.{g}": f for g, f in zip(genes, flags, strict=True)},
    })
    assert round_trip(workup) == services.workup_parse(data=workup).model_dump(mode="json")


def test_clean_returns_typed_values():
    data = form_data_from_workup(YOUNG_FIT)
    data.update({"other_mutations": " dnmt3a,WT1;  tet2 ", "cd33_positive": "no", "transplant_candidate": "unknown"})
    form = WorkupForm(data=data)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["other_mutations"] == ["dnmt3a", "WT1", "tet2"]
    assert form.cleaned_data["cd33_positive"] is False
    assert form.cleaned_data["transplant_candidate"] is None
    assert form.cleaned_data["ecog"] == 0 and form.cleaned_data["age_years"] == 30
    workup = form.to_workup_data()
    assert workup["patient"]["creatinine"] == {"value": 80.0, "unit": "umol/L"}
    assert "cd33_positive" in workup["genetics"] and "candidate" not in workup["transplant"]


@pytest.mark.parametrize("path, field", [
    ("patient.age_years", "age_years"),
    ("patient.creatinine", "creatinine_value"),
    ("patient.creatinine.unit", "creatinine_unit"),
    ("disease.relapse_number", "relapse_number"),
    ("prior_therapy.intensive_chemo", "prior_intensive_chemo"),
    ("genetics.other_mutations.3", "other_mutations"),
    ("context.bsa_formula", "bsa_formula"),
    ("", None),
    ("disease", None),
])
def test_error_paths_map_to_fields(path, field):
    assert _field_for_path(path)[0] == field


def test_primary_refractory_without_intensive_chemo_is_flagged_on_the_checkbox():
    data = form_data_from_workup(VARIANTS["primary refractory"])
    data.pop("prior_intensive_chemo")
    form = WorkupForm(data=data)
    assert form.parse_workup() is None
    assert "intensive chemotherapy is not ticked" in " ".join(form.errors["prior_intensive_chemo"])


def test_every_workup_error_lands_beside_a_field():
    """Feed contradictory and out-of-range values; no message may end up detached from its field."""
    bad = build(YOUNG_FIT, **{
        "patient.age_years": 12, "patient.height_cm": 90, "disease.months_since_hct": 4,
        "disease.marrow_blasts_pct": 140, "prior_therapy.venetoclax_failure": True,
    })
    form = WorkupForm(data=form_data_from_workup(bad))
    assert form.parse_workup() is None
    assert not form.non_field_errors()
    assert {"age_years", "height_cm", "months_since_hct", "marrow_blasts_pct", "prior_venetoclax_failure"} <= set(
        form.errors)


def test_the_workup_rows_use_the_forms_words_and_units():
    sections = {s.title: dict(s.rows) for s in workup_sections(services.workup_parse(data=YOUNG_FIT))}
    patient = sections["Patient"]
    assert patient["Age"] == "30 years" and patient["Height / weight"].startswith("165 cm")
    assert sections["Organ function"]["Creatinine"] == "80 µmol/L"
    assert patient["ECOG"] == labels.ECOG[0]
    assert sections["Transplant"]["Donor available"] == dict(WorkupForm().fields["donor_available"].choices)["unknown"]


# --- fields shared between forms (not deep-copied per request) ---------------------------------------------

def test_forms_share_their_fields_and_keep_per_request_values_on_the_instance():
    from django.test import override_settings

    first, second = WorkupForm(), WorkupForm()
    assert first.fields["age_years"] is second.fields["age_years"]  # no per-request deep copy
    assert first.fields is not second.fields  # each form may still reorder or drop its own entries
    with override_settings(AML_SALVAGE_DEFAULT_JURISDICTION="US"):
        us = WorkupForm()
        assert 'value="US" selected' in str(us["jurisdiction"])
    assert 'value="CA" selected' in str(WorkupForm()["jurisdiction"])  # the shared field was not changed
    assert WorkupForm.base_fields["jurisdiction"].initial is None
    assert first["prior_hma"].field.widget.attrs["aria-describedby"] == "err-prior_hma"  # no help text
    assert first["age_years"].field.widget.attrs["aria-describedby"] == "err-age_years help-age_years"
    assert "help-other_mutations" in str(first["other_mutations"])
