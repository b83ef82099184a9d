"""The server side of the workspace a hematologist uses (issue 13, the page): a failed save names every problem
at once with a link to each field; "Choose this option" is on every card of the workspace and not on the saved
consult; the result summary travels with each live update; revise keeps the choice and the notes; transplant
candidacy is answered, never assumed; messages carry their units and a hint when a value looks typed in
another unit; µmol/L is written one way. The browser half is tests/browser/test_layout_browser.py."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from aml_salvage.consults import MSG_NO_TEAM
from aml_salvage.domain.knowledge import OPTION_IDS
from aml_salvage.forms import (
    MSG_CHOSEN_OPTION_REQUIRED,
    MSG_HEIGHT_IN_METRES,
    MSG_LAB_OTHER_UNIT,
    MSG_TRANSPLANT_UNANSWERED,
    MSG_WEIGHT_IN_POUNDS,
    WorkupForm,
    form_data_from_workup,
)
from aml_salvage.models import Consult
from tests.factories import YOUNG_FIT, build
from tests.web.conftest import post_data, saved_consult

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
SAVE = reverse("consult_create")


@pytest.fixture
def client(client_for, author):
    return client_for(author)


def banner(body: str) -> list[tuple[str, str, str]]:
    """The failed-save banner's items: (link target, field label, messages)."""
    match = re.search(r'<div id="save-errors"[^>]*>(.*?)</div>', body, re.S)
    assert match, "no failed-save banner"
    return re.findall(r'<li><a href="#([^"]+)">([^<]+)</a>: (.*?)</li>', match.group(1), re.S)


def field_error(body: str, name: str) -> str:
    match = re.search(rf'<div id="err-{name}" class="field-error"[^>]*>(.*?)</div>', body, re.S)
    assert match, f"no error container for {name}"
    return match.group(1)


def errors_for(**changes) -> dict[str, list[str]]:
    data = form_data_from_workup(YOUNG_FIT)
    data.update(changes)
    form = WorkupForm(data=data)
    form.parse_workup()
    return {name: list(messages) for name, messages in form.errors.items()}


# --- a failed save -------------------------------------------------------------------------------------------

def test_a_failed_save_names_every_problem_at_once_in_page_order(client):
    data = post_data(patient_identifier="MRN 12 with spaces", notes="Typed before the save.")
    data.update({"age_years": "", "height_cm": "1.58", "transplant_candidate": "", "chosen_option_id": ""})
    response = client.post(SAVE, data)
    body = response.content.decode()
    assert response.status_code == 200 and not Consult.objects.exists()
    items = banner(body)
    assert [(target, label) for target, label, _ in items] == [
        ("id_age_years", "Age"), ("id_height_cm", "Height"), ("id_transplant_candidate", "Transplant candidate"),
        ("id_patient_identifier", "Patient identifier"), ("id_chosen_option_id", "Chosen option"),
    ]
    assert "Not saved: 5 problems to fix" in body
    messages = dict((target, message) for target, _, message in items)
    assert "enter the height in centimetres (158)" in messages["id_height_cm"]
    assert messages["id_transplant_candidate"] == MSG_TRANSPLANT_UNANSWERED
    assert messages["id_chosen_option_id"] == escape(MSG_CHOSEN_OPTION_REQUIRED)
    # Every link lands on an input of the page, and nothing typed is lost.
    for target, _, _ in items:
        assert f'id="{target}"' in body
    assert 'name="height_cm" value="1.58"' in body and "Typed before the save." in body
    assert 'value="MRN 12 with spaces"' in body


def test_an_unknown_option_is_in_the_banner(client):
    response = client.post(SAVE, post_data(chosen_option_id="no-such-regimen"))
    items = banner(response.content.decode())
    assert [target for target, _, _ in items] == ["id_chosen_option_id"]


def test_a_save_the_service_refuses_is_in_the_banner_too(loner):
    client = Client()
    client.force_login(loner)
    body = client.post(SAVE, post_data(chosen_option_id="flag-ida")).content.decode()
    assert "Not saved: 1 problem to fix" in body
    assert f"<li>Save: {escape(MSG_NO_TEAM)}</li>" in body
    assert not Consult.objects.exists()


def test_an_override_without_reason_is_in_the_banner_with_its_link(client):
    body = client.post(SAVE, post_data(chosen_option_id="aza-ven")).content.decode()
    items = banner(body)
    assert [target for target, _, _ in items] == ["id_override_reason"]
    assert "not preferred" in items[0][2]


def test_plain_updates_and_live_updates_show_no_save_banner(client):
    data = post_data()
    data["age_years"] = ""
    assert 'id="save-errors"' not in client.post(reverse("workspace"), data).content.decode()
    assert 'id="save-errors"' not in client.post(reverse("workspace"), data, **HX).content.decode()


# --- choose this option ---------------------------------------------------------------------------------------

def test_every_option_of_the_live_panel_can_be_chosen(client):
    body = client.post(reverse("workspace"), post_data(), **HX).content.decode()
    chosen = re.findall(r'<button type="button" class="button choose-option" data-choose="([^"]+)">', body)
    assert sorted(chosen) == sorted(OPTION_IDS)


def test_without_javascript_choosing_posts_back_with_the_option_chosen(client):
    body = client.post(reverse("workspace"), post_data()).content.decode()
    buttons = re.findall(r'<button type="submit" name="chosen_option_id" value="([^"]+)" '
                         r'formaction="/#save"', body)
    assert sorted(buttons) == sorted(OPTION_IDS)
    # The button's value comes after the select's in the form: the page comes back with that option selected.
    data = post_data()
    data["chosen_option_id"] = ["", "aza-ven"]
    again = client.post(reverse("workspace"), data).content.decode()
    select = re.search(r'<select name="chosen_option_id".*?</select>', again, re.S).group(0)
    assert re.search(r'<option value="aza-ven" selected>', select)


def test_the_saved_consult_offers_no_choice(client, author):
    consult = saved_consult(author)
    body = client.get(reverse("consult_detail", args=[consult.pk])).content.decode()
    assert "data-choose" not in body and "Choose this option" not in body


# --- the result summary ---------------------------------------------------------------------------------------

def test_the_live_update_carries_the_result_summary_out_of_band(client):
    body = client.post(reverse("workspace"), post_data(build(YOUNG_FIT, **{"genetics.flt3_itd": True})),
                       **HX).content.decode()
    summary = re.search(r'<div id="result-summary" class="result-summary" hx-swap-oob="true">(.*?)</div>',
                        body, re.S).group(1)
    assert re.search(r'<a href="#option-gilteritinib">Gilteritinib</a>', summary)
    counts = dict(re.findall(r'<span class="tier-word">([A-Za-z ]+):</span> (\d+)', summary))
    assert set(counts) == {"Preferred", "Alternative", "Consider", "Not recommended"}
    assert sum(int(n) for n in counts.values()) == len(OPTION_IDS)
    assert counts["Preferred"] == str(len(re.findall(r'data-option="[^"]+" data-tier="preferred"', body)))


def test_the_summary_says_what_is_still_needed_before_a_result(client):
    body = client.post(reverse("workspace"), {"age_years": "40"}, **HX).content.decode()
    summary = re.search(r'<div id="result-summary"[^>]*>(.*?)</div>', body, re.S).group(1)
    assert "No result yet" in summary and "still needed" in summary


# --- revise, defaults ---------------------------------------------------------------------------------------------

def test_revise_keeps_the_chosen_option_the_reason_and_the_notes(client, author):
    original = saved_consult(author, chosen_option_id="aza-ven", override_reason="Patient prefers outpatient care.",
                             notes="Discussed with the family.")
    body = client.get(reverse("consult_revise", args=[original.pk])).content.decode()
    select = re.search(r'<select name="chosen_option_id".*?</select>', body, re.S).group(0)
    assert re.search(r'<option value="aza-ven" selected>', select)
    assert "Patient prefers outpatient care." in body and "Discussed with the family." in body


def test_transplant_candidacy_has_no_default_answer(client):
    body = client.get(reverse("workspace")).content.decode()
    select = re.search(r'<select name="transplant_candidate".*?</select>', body, re.S).group(0)
    assert re.search(r'<option value="" selected>', select)
    assert errors_for(transplant_candidate="") == {"transplant_candidate": [MSG_TRANSPLANT_UNANSWERED]}
    assert errors_for(transplant_candidate="unknown") == {}, "uncertain is an answer"


def test_primary_refractory_inputs_are_emptied_by_the_page_script(client):
    """The script that empties relapse number and CR1 on primary refractory is on the page (the browser test
    drives it); without it the model refuses both values beside their fields."""
    body = client.get(reverse("workspace")).content.decode()
    assert re.search(r'<script src="[^"]*js/workspace\.[^"]*js" defer>', body)
    errors = errors_for(disease_status="primary_refractory", intensive_induction_cycles="2",
                        prior_intensive_chemo="on")
    assert set(errors) == {"relapse_number", "cr1_duration_months"}


# --- units and hints ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("changes", "field", "expected"), [
    ({"height_cm": "1.58"}, "height_cm",
     "must be at least 100 cm — " + MSG_HEIGHT_IN_METRES.format(value=1.58, cm=158)),
    ({"weight_kg": "400"}, "weight_kg",
     "must be at most 350 kg — " + MSG_WEIGHT_IN_POUNDS.format(value=400, kg=181.4)),
    ({"creatinine_value": "1.2"}, "creatinine_value",
     "creatinine 1.2 µmol/L is outside 10–2000 µmol/L; check the value and the unit — "
     + MSG_LAB_OTHER_UNIT.format(value=1.2, other="mg/dL")),
    ({"creatinine_value": "95", "creatinine_unit": "mg/dL"}, "creatinine_value",
     "creatinine 95 mg/dL is outside 0.1–25 mg/dL; check the value and the unit — "
     + MSG_LAB_OTHER_UNIT.format(value=95, other="µmol/L")),
    ({"bilirubin_value": "0.6"}, "bilirubin_value",
     "bilirubin 0.6 µmol/L is outside 1–1000 µmol/L; check the value and the unit — "
     + MSG_LAB_OTHER_UNIT.format(value=0.6, other="mg/dL")),
    ({"creatinine_value": "5000"}, "creatinine_value",
     "creatinine 5000 µmol/L is outside 10–2000 µmol/L; check the value and the unit"),
    ({"qtcf_ms": "900"}, "qtcf_ms", "must be at most 700 ms"),
    ({"marrow_blasts_pct": "140"}, "marrow_blasts_pct", "must be at most 100 %"),
    ({"height_cm": "165cm"}, "height_cm", "Enter a number. Unit: cm, digits only."),
    ({"lvef_pct": "55.5"}, "lvef_pct", "Enter a whole number. Unit: %, digits only."),
])
def test_a_message_carries_the_unit_and_a_hint_for_another_unit(changes, field, expected):
    assert errors_for(**changes) == {field: [expected]}


def test_a_plausible_weight_gets_no_pounds_hint_and_a_tall_height_no_metres_hint():
    assert errors_for(weight_kg="120") == {}
    assert "metres" not in errors_for(height_cm="2.6")["height_cm"][0]


def test_micromoles_are_written_one_way_on_every_page(client, author):
    """µmol/L (micro sign) everywhere a clinician reads it; the contract's ASCII 'umol/L' only as a value."""
    consult = saved_consult(author)
    pages = [
        client.get(reverse("workspace")).content.decode(),
        client.post(reverse("workspace"), post_data()).content.decode(),
        client.post(reverse("workspace"), post_data(), **HX).content.decode(),
        client.post(reverse("workspace"), post_data(build(YOUNG_FIT, **{
            "patient.bilirubin": {"value": 30, "unit": "umol/L"}})), **HX).content.decode(),
        client.get(reverse("consult_detail", args=[consult.pk])).content.decode(),
    ]
    for body in pages:
        readable = body.replace('value="umol/L"', "")
        assert "umol" not in readable.lower()
        assert "μmol" not in readable, "Greek mu (U+03BC) instead of the micro sign (U+00B5)"
        assert "µmol/L" in readable
