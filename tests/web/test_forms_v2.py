"""Contract v2 on the web (issue 11): organ function, heart, infection and pending genetics in the form, each
error beside its field with what was typed kept; the saved workup's summary on the page and the PDF; each dose
line's status ('not assessed: no creatinine') and the CrCl body weight on the live panel, the saved page and
the PDF."""

from __future__ import annotations

import re
import typing
from html import unescape
from io import BytesIO

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from aml_salvage import pdf, presentation, services
from aml_salvage.domain import errors as E
from aml_salvage.domain import limits as L
from aml_salvage.domain import workup as W
from aml_salvage.forms import WorkupForm, form_data_from_workup
from aml_salvage.models import Consult
from aml_salvage.presentation import ConsultMeta
from aml_salvage.views.option_detail import URL_NAME
from tests.factories import YOUNG_FIT, build
from tests.web.conftest import post_data, saved_consult
from tests.web.test_workspace import TOKEN_META, workup_token_of

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}

COMPLETE_V2 = build(YOUNG_FIT, **{
    "patient.bilirubin": {"value": 1.4, "unit": "mg/dL"},
    "patient.child_pugh": "A",
    "patient.lvef_pct": 58,
    "patient.qtcf_ms": 432,
    "active_infection": True,
    "infection_uncontrolled": False,
    "genetics.pending": ["npm1", "kmt2a_rearranged", "cd33_positive"],
    "prior_therapy.anthracyclines_mg_m2": {"daunorubicin": 180, "idarubicin": 36, "mitoxantrone": 0,
                                           "doxorubicin": 0, "epirubicin": 0},
    "context.crcl_weight": "adjusted",
})
# Issue 11, finding 1: 165 cm, 140 kg, creatinine 1.6 mg/dL.
OBESE = build(YOUNG_FIT, **{"patient.height_cm": 165, "patient.weight_kg": 140,
                            "patient.creatinine": {"value": 1.6, "unit": "mg/dL"}})
NO_CREATININE = build(YOUNG_FIT, **{"patient.creatinine": None})


@pytest.fixture
def client(client_for, author):
    return client_for(author)


def field_error(body: str, name: str) -> str:
    match = re.search(rf'<div id="err-{name}" class="field-error"[^>]*>(.*?)</div>', body, re.S)
    assert match, f"no error container for {name}"
    return unescape(match.group(1))


def submit(client, workup: dict, **changes) -> str:
    """A plain (non-HTMX) submit of the workspace form: every error is shown beside its field."""
    data = post_data(workup)
    data.update(changes)
    response = client.post(reverse("workspace"), data)
    assert response.status_code == 200
    return response.content.decode()


def flat(text: str) -> str:
    return " ".join(text.split())


# --- the form ----------------------------------------------------------------------------------------------

def test_a_complete_v2_workup_goes_through_the_form_unchanged():
    form = WorkupForm(data=form_data_from_workup(COMPLETE_V2))
    parsed = form.parse_workup()
    assert parsed is not None, form.errors
    assert parsed.model_dump(mode="json") == services.workup_parse(data=COMPLETE_V2).model_dump(mode="json")
    assert parsed.patient.bilirubin.mg_dl == 1.4 and parsed.context.crcl_weight == "adjusted"
    assert parsed.genetics.pending == ("npm1", "kmt2a_rearranged", "cd33_positive")
    assert parsed.prior_therapy.anthracyclines_mg_m2.daunorubicin == 180


GENES = typing.get_args(W.PendingGene)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    bilirubin=st.one_of(st.none(), st.tuples(st.sampled_from(["umol/L", "mg/dL"]), st.floats(0, 1).map(
        lambda x: round(x, 3)))),
    child_pugh=st.sampled_from([None, "A", "B", "C"]), lvef=st.one_of(st.none(), st.integers(10, 85)),
    qtcf=st.one_of(st.none(), st.integers(300, 700)), crcl_weight=st.sampled_from(typing.get_args(W.CrclWeight)),
    pending=st.lists(st.sampled_from(GENES), unique=True),
    anthracyclines=st.one_of(st.none(), st.fixed_dictionaries(
        {agent: st.floats(0, 3000).map(lambda x: round(x, 1)) for agent in W.Anthracyclines.model_fields})),
    infection=st.sampled_from([(False, False), (True, False), (True, True)]),
)
def test_the_form_gives_back_any_plausible_v2_workup(bilirubin, child_pugh, lvef, qtcf, crcl_weight, pending,
                                                      anthracyclines, infection):
    if bilirubin is not None:  # a value within the unit's plausible range
        unit, fraction = bilirubin
        low, high = L.BILIRUBIN_LIMITS[unit]
        bilirubin = {"value": round(low + fraction * (high - low), 2), "unit": unit}
    workup = build(YOUNG_FIT, **{
        "patient.bilirubin": bilirubin, "patient.child_pugh": child_pugh, "patient.lvef_pct": lvef,
        "patient.qtcf_ms": qtcf, "context.crcl_weight": crcl_weight, "genetics.pending": pending,
        "prior_therapy.anthracyclines_mg_m2": anthracyclines, "active_infection": infection[0],
        "infection_uncontrolled": infection[1],
    })
    parsed = WorkupForm(data=form_data_from_workup(workup)).parse_workup()
    assert parsed is not None
    assert parsed.model_dump(mode="json") == services.workup_parse(data=workup).model_dump(mode="json")


def test_the_saved_consult_stores_the_v2_workup(client):
    result = services.consult_evaluate(workup=services.workup_parse(data=COMPLETE_V2))
    chosen = next(o for o in result.options if o.tier == "preferred")
    response = client.post(reverse("consult_create"), post_data(COMPLETE_V2, chosen_option_id=chosen.id))
    assert response.status_code == 302, field_error(response.content.decode(), "__all__")
    stored = Consult.objects.get().workup
    assert stored["patient"]["bilirubin"] == {"value": 1.4, "unit": "mg/dL"}
    assert (stored["patient"]["child_pugh"], stored["patient"]["lvef_pct"], stored["patient"]["qtcf_ms"]) == ("A", 58,
                                                                                                            432)
    assert stored["genetics"]["pending"] == ["npm1", "kmt2a_rearranged", "cd33_positive"]
    assert stored["prior_therapy"]["anthracyclines_mg_m2"]["idarubicin"] == 36
    assert stored["context"]["crcl_weight"] == "adjusted" and stored["active_infection"] is True


def test_anthracyclines_are_unknown_when_all_five_are_empty_and_zero_where_left_empty_beside_a_filled_one():
    data = form_data_from_workup(YOUNG_FIT)
    form = WorkupForm(data=data)
    assert form.parse_workup().prior_therapy.anthracyclines_mg_m2 is None
    data["prior_mitoxantrone_mg_m2"] = "24"
    doses = WorkupForm(data=data).parse_workup().prior_therapy.anthracyclines_mg_m2
    assert doses.model_dump() == {"daunorubicin": 0, "idarubicin": 0, "mitoxantrone": 24, "doxorubicin": 0,
                                  "epirubicin": 0}


def test_the_form_groups_the_new_inputs_with_units_and_limits(client):
    body = client.get(reverse("workspace")).content.decode()
    for legend in ("Organ function", "Heart", "Infection", "Genetics pending"):
        assert f"<legend>{legend}</legend>" in body
    assert re.search(r'name="lvef_pct"[^>]*min="10"[^>]*max="85"', body)
    assert re.search(r'name="qtcf_ms"[^>]*min="300"[^>]*max="700"', body)
    assert re.search(r'name="prior_daunorubicin_mg_m2"[^>]*min="0"[^>]*max="3000"', body)
    assert "Daunorubicin (mg/m²)" in body and "LVEF (%)" in body and "Baseline QTcF (ms)" in body
    assert "automatic does not use actual weight in obesity" in body
    assert re.search(r'<option value="auto" selected>', body)
    for gene in ("FLT3-ITD", "FLT3-TKD", "IDH1", "IDH2", "NPM1", "KMT2A-r", "TP53", "CD33"):
        assert re.search(rf'<input type="checkbox" name="genetics_pending" value="[a-z0-9_]+"[^>]*>'
                         rf'<label for="id_genetics_pending_\d">{gene} awaited</label>', body), gene


# --- errors beside their field, the typed values kept ----------------------------------------------------

def test_a_pending_gene_also_marked_positive_is_flagged_on_that_gene(client):
    workup = build(YOUNG_FIT, **{"genetics.flt3_itd": True})
    body = submit(client, workup, genetics_pending=["flt3_itd", "npm1"])
    assert E.MSG_PENDING_AND_POSITIVE in field_error(body, "flt3_itd")
    assert re.search(r'name="flt3_itd" [^>]*checked', body)
    assert re.search(r'value="flt3_itd"[^>]*checked', body) and re.search(r'value="npm1"[^>]*checked', body)
    assert not Consult.objects.exists()


def test_uncontrolled_infection_without_active_infection_is_flagged_on_active_infection(client):
    body = submit(client, YOUNG_FIT, infection_uncontrolled="on")
    assert E.MSG_UNCONTROLLED_NEEDS_ACTIVE in field_error(body, "active_infection")
    assert re.search(r'name="infection_uncontrolled" [^>]*checked', body)


def test_a_first_remission_longer_than_life_is_flagged_on_cr1(client):
    body = submit(client, YOUNG_FIT, cr1_duration_months="400")  # 30 years = 360 months
    error = field_error(body, "cr1_duration_months")
    assert "longer than the patient's life" in error and "360 months" in error
    assert 'name="cr1_duration_months" value="400"' in body


def test_a_first_remission_that_began_in_childhood_is_accepted():
    form = WorkupForm(data={**post_data(YOUNG_FIT), "cr1_duration_months": "300"})  # began at age 5
    assert form.parse_workup() is not None, form.errors


@pytest.mark.parametrize("typed", ["DNMT3A, PML-RARA", "PML::RARA"])
def test_an_apl_fusion_typed_in_other_mutations_is_flagged_there(client, typed):
    body = submit(client, YOUNG_FIT, other_mutations=typed)
    error = field_error(body, "other_mutations")
    assert "acute promyelocytic leukemia" in error and "PML" in error
    assert f'value="{typed}"' in unescape(body), "what was typed is kept"


@pytest.mark.parametrize(("value", "unit", "words"), [("80", "mg/dL", "0.05–60"), ("0.5", "umol/L", "1–1000 µmol/L")])
def test_bilirubin_out_of_range_for_its_unit_is_flagged_beside_the_value(client, value, unit, words):
    body = submit(client, YOUNG_FIT, bilirubin_value=value, bilirubin_unit=unit)
    error = field_error(body, "bilirubin_value")
    assert "check the value and the unit" in error and words in error
    assert f'name="bilirubin_value" value="{value}"' in body
    assert re.search(rf'<select name="bilirubin_unit"[^>]*>.*?<option value="{unit}" selected>', body, re.S)


@pytest.mark.parametrize(("field", "value", "words"), [
    ("lvef_pct", "95", "at most 85"), ("lvef_pct", "5", "at least 10"), ("qtcf_ms", "900", "at most 700"),
    ("prior_idarubicin_mg_m2", "-10", "at least 0"), ("prior_doxorubicin_mg_m2", "5000", "at most 3000"),
])
def test_implausible_heart_values_are_flagged_beside_the_field(client, field, value, words):
    body = submit(client, YOUNG_FIT, **{field: value})
    assert words in field_error(body, field)
    assert f'name="{field}" value="{value}"' in body


def test_a_live_update_puts_the_new_errors_beside_their_fields(client):
    data = {**post_data(build(YOUNG_FIT, **{"genetics.tp53": True})), "genetics_pending": ["tp53"],
            "infection_uncontrolled": "on"}
    body = client.post(reverse("workspace"), data, **HX).content.decode()
    for name, message in (("tp53", E.MSG_PENDING_AND_POSITIVE), ("active_infection", E.MSG_UNCONTROLLED_NEEDS_ACTIVE)):
        oob = re.search(rf'<div id="err-{name}" class="field-error" hx-swap-oob="true">(.*?)</div>', body, re.S)
        assert oob and message in unescape(oob.group(1)), name  # beside the checkbox, though it is unticked


# --- the saved workup's summary ----------------------------------------------------------------------------

def rows(data) -> dict[tuple[str, str], str]:
    return {(s.title, label): value for s in presentation.workup_sections(services.workup_parse(data=data))
            for label, value in s.rows}


def test_the_workup_rows_list_the_new_inputs_and_say_not_entered_for_absent_ones():
    absent = rows(NO_CREATININE)
    assert absent["Organ function", "Creatinine"] == absent["Organ function", "Bilirubin"] == "not entered"
    assert absent["Organ function", "Child-Pugh"] == "not entered"
    assert absent["Heart", "LVEF"] == absent["Heart", "QTcF"] == "not entered"
    assert absent["Heart", "Prior anthracyclines"] == "not entered"
    assert absent["Genetics", "Result awaited"] == "none"
    given = rows(COMPLETE_V2)
    assert given["Organ function", "CrCl body weight"] == "Adjusted body weight"
    assert given["Patient", "Active infection"] == "Yes"


def test_the_printed_workup_lists_pending_genes_as_awaited_not_as_not_detected():
    shown = rows(COMPLETE_V2)
    assert shown["Genetics", "Result awaited"] == "NPM1, KMT2A-r, CD33"
    assert "NPM1" not in shown["Genetics", "Not detected"] and "FLT3-ITD" in shown["Genetics", "Not detected"]
    assert shown["Genetics", "CD33 positive"] == "result awaited"
    assert shown["Organ function", "Bilirubin"] == "1.4 mg/dL" and shown["Organ function", "Child-Pugh"] == "Class A"
    assert shown["Heart", "LVEF"] == "58%" and shown["Heart", "QTcF"] == "432 ms"
    assert shown["Heart", "Prior anthracyclines"] == "daunorubicin 180 mg/m², idarubicin 36 mg/m²"
    absent = rows(NO_CREATININE)
    assert absent["Organ function", "Creatinine"] == absent["Heart", "LVEF"] == "not entered"
    assert absent["Heart", "Prior anthracyclines"] == "not entered"


# --- dose line status and the CrCl body weight: live panel, saved page, PDF ---------------------------------

def dose_row(body: str, option_id: str, drug: str) -> str:
    """The text of the first dose row of one drug within one option's markup."""
    start = body.index(f'data-option="{option_id}"')
    row = re.search(rf'<tr class="dose-line[^"]*" data-drug="{drug}"[^>]*>(.*?)</tr>', body[start:], re.S)
    assert row, f"no {drug} line in {option_id}"
    return flat(re.sub(r"<[^>]+>", " ", row.group(0)))


def not_assessed_line(workup: dict, item: str):
    result = services.consult_evaluate(workup=services.workup_parse(data=workup))
    for option in result.options:
        for line in option.doses:
            if item in line.not_assessed:
                return result, option, line
    raise AssertionError(f"no dose line marked not assessed for {item}")


def test_dose_not_assessed_words():
    _result, _option, line = not_assessed_line(NO_CREATININE, "creatinine")
    assert line.status == "not_assessed"
    assert presentation.dose_not_assessed(line) == "no creatinine"
    both = line.model_copy(update={"not_assessed": ["creatinine", "bilirubin"]})
    assert presentation.dose_not_assessed(both) == "no creatinine, no bilirubin"
    assert presentation.dose_not_assessed(line.model_copy(update={"not_assessed": [], "status": "standard"})) == ""


def test_the_engine_note_keeps_the_unchecked_rule_and_the_badge_says_what_is_missing():
    line = next(d for o in services.consult_evaluate(workup=services.workup_parse(data=NO_CREATININE)).options
                for d in o.doses if d.drug == "fludarabine" and d.not_assessed)
    assert any(note.startswith("the fludarabine label reduces the dose at CrCl <70 mL/min") for note in line.notes)
    assert not any("not assessed" in note for note in line.notes)  # the status and the badge say it once
    assert presentation.dose_not_assessed(line) == "no creatinine"


def test_the_live_panel_shows_not_assessed_on_a_dose_line_without_creatinine(client):
    result, option, line = not_assessed_line(NO_CREATININE, "creatinine")
    assert option.tier == "preferred", "the live panel shows the preferred options' doses inline"
    body = client.post(reverse("workspace"), post_data(NO_CREATININE), **HX).content.decode()
    row = dose_row(body, option.id, line.drug)
    assert "Not assessed no creatinine" in row
    assert f'data-drug="{line.drug}" data-days="{line.days}" data-status="not_assessed"' in body


def test_the_live_panel_shows_nothing_extra_for_a_standard_line_and_the_crcl_basis_with_creatinine(client):
    result = services.consult_evaluate(workup=services.workup_parse(data=OBESE))
    body = client.post(reverse("workspace"), post_data(OBESE), **HX).content.decode()
    a = result.assessment
    assert f"BMI {presentation.number(a.bmi, 1)} kg/m²" in body
    assert a.crcl_weight.basis == "adjusted"  # issue 11: obesity, automatic choice
    assert (f"{presentation.number(a.crcl_ml_min, 0)} mL/min, Cockcroft–Gault with adjusted body weight "
            f"{presentation.number(a.crcl_weight.kg, 1)} kg") in unescape(body)
    # One badge per line that lacks an input (the preferred options' tables are on the panel), none for the rest.
    shown = [line for o in result.options if o.tier == "preferred" for line in o.doses]
    assert body.count('<span class="badge">Not assessed</span>') == sum(1 for line in shown if line.not_assessed)
    assert body.count('data-status="standard"') == sum(1 for line in shown if line.status == "standard") > 0


def test_an_options_detail_shows_not_assessed_on_its_dose_lines(client):
    result = services.consult_evaluate(workup=services.workup_parse(data=NO_CREATININE))
    option = next(o for o in result.options if o.tier != "preferred" and any(d.not_assessed for d in o.doses))
    line = next(d for d in option.doses if d.not_assessed)
    panel = client.post(reverse("workspace"), post_data(NO_CREATININE), **HX).content.decode()
    token = workup_token_of(panel)
    detail = client.get(reverse(URL_NAME, args=[option.id]), **HX, **{TOKEN_META: token}).content.decode()
    row = re.search(rf'<tr class="dose-line[^"]*" data-drug="{line.drug}"[^>]*>(.*?)</tr>', detail, re.S).group(0)
    assert f"Not assessed {presentation.dose_not_assessed(line)}" in flat(re.sub(r"<[^>]+>", " ", row))


def test_the_saved_consult_page_shows_not_assessed_and_the_workup_says_not_entered(client):
    result, option, line = not_assessed_line(NO_CREATININE, "creatinine")
    client.post(reverse("consult_create"), post_data(NO_CREATININE, chosen_option_id=option.id,
                                                     override_reason="tumour board" if option.tier != "preferred"
                                                     else ""))
    consult = Consult.objects.get()
    stored = next(o for o in consult.result["options"] if o["id"] == option.id)
    assert any(d["status"] == "not_assessed" and d["not_assessed"] == ["creatinine"] for d in stored["doses"])
    body = client.get(reverse("consult_detail", args=[consult.pk])).content.decode()
    assert "Not assessed no creatinine" in dose_row(body, option.id, line.drug)
    assert "<dt>Creatinine</dt><dd>not entered</dd>" in body  # the workup rows, as on the PDF
    assert "<dt>Bilirubin</dt><dd>not entered</dd>" in body


def test_the_saved_consult_page_shows_bmi_and_the_crcl_body_weight(client):
    result = services.consult_evaluate(workup=services.workup_parse(data=OBESE))
    chosen = next(o for o in result.options if o.tier == "preferred")
    client.post(reverse("consult_create"), post_data(OBESE, chosen_option_id=chosen.id))
    body = unescape(client.get(reverse("consult_detail", args=[Consult.objects.get().pk])).content.decode())
    assert "BMI 51.4 kg/m²" in body  # 140 kg / 1.65² m²
    assert "Cockcroft–Gault with adjusted body weight" in body


def _pdf_text(workup: dict, chosen_option_id: str | None = None) -> str:
    parsed = services.workup_parse(data=workup)
    result = services.consult_evaluate(workup=parsed)
    meta = ConsultMeta(institution="Test hospital", generated_at="2026-03-02T14:30:00+00:00",
                       age_years=parsed.patient.age_years, sex=parsed.patient.sex, chosen_option_id=chosen_option_id)
    html = pdf.render_consult_html(result=result, workup=parsed, meta=meta)
    reader = PdfReader(BytesIO(pdf.render_consult_pdf(html=html)))
    return flat(" ".join(page.extract_text() for page in reader.pages))


def test_the_pdf_shows_not_assessed_without_creatinine_and_the_workup_says_not_entered():
    _result, option, line = not_assessed_line(NO_CREATININE, "creatinine")
    text = _pdf_text(NO_CREATININE, chosen_option_id=option.id)
    assert re.search(r"not assessed no creatinine", text, re.I), "the line's status is printed"
    assert re.search(r"Creatinine\s+not\s+entered", text)


def test_the_pdf_shows_bmi_and_the_crcl_body_weight_with_creatinine():
    text = _pdf_text(OBESE)
    assert "BMI 51.4 kg/m²" in text
    assert re.search(r"Cockcroft–Gault with adjusted body weight \d+(\.\d)? kg", text)
    assert not re.search(r"not assessed no creatinine", text, re.I)


# --- saving and revising ---------------------------------------------------------------------------------

def test_saving_an_invalid_v2_workup_stores_nothing_and_keeps_what_was_typed(client):
    data = {**post_data(YOUNG_FIT, chosen_option_id="flag-ida"), "other_mutations": "WT1, PML::RARA",
            "bilirubin_value": "2.1", "bilirubin_unit": "mg/dL", "prior_idarubicin_mg_m2": "36"}
    response = client.post(reverse("consult_create"), data)
    body = response.content.decode()
    assert response.status_code == 200 and not Consult.objects.exists()
    assert "acute promyelocytic leukemia" in field_error(body, "other_mutations")
    assert 'name="bilirubin_value" value="2.1"' in body and 'name="prior_idarubicin_mg_m2" value="36"' in body


def test_revising_a_v2_consult_fills_the_form_with_its_inputs(client, author):
    consult = saved_consult(author, COMPLETE_V2)
    body = client.get(reverse("consult_revise", args=[consult.pk])).content.decode()
    assert 'name="bilirubin_value" value="1.4"' in body
    assert re.search(r'<select name="bilirubin_unit"[^>]*>.*?<option value="mg/dL" selected>', body, re.S)
    assert re.search(r'<select name="crcl_weight"[^>]*>.*?<option value="adjusted" selected>', body, re.S)
    assert 'name="lvef_pct" value="58"' in body and 'name="prior_mitoxantrone_mg_m2" value="0"' in body
    for gene in ("npm1", "kmt2a_rearranged", "cd33_positive"):
        assert re.search(rf'value="{gene}"[^>]*checked', body), gene
    assert not re.search(r'value="flt3_itd"[^>]*checked', body)
