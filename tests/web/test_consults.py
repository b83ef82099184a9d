"""Saving a consult: an immutable snapshot of workup, full result and knowledge-base version; the choice and,
for a non-preferred option, the override reason; revisions as new consults; the team's list."""

from __future__ import annotations

import ast
import inspect
import re

import pytest
from django.urls import reverse

from aml_salvage import consults as service
from aml_salvage import services
from aml_salvage.models import MSG_PATIENT_IDENTIFIER, Consult, ConsultImmutable
from tests.factories import YOUNG_FIT, build
from tests.web.conftest import post_data, saved_consult

pytestmark = pytest.mark.django_db

SAVE = reverse("consult_create")


def save(client, workup=None, **fields):
    return client.post(SAVE, post_data(workup, **fields))


def result_for(workup=YOUNG_FIT):
    return services.consult_evaluate(workup=services.workup_parse(data=workup))


def option_with_tier(tier: str, workup=YOUNG_FIT):
    return next(o for o in result_for(workup).options if o.tier == tier)


# --- saving ------------------------------------------------------------------------------------------------

def test_saving_stores_the_snapshot_and_shows_it(client_for, author, team):
    preferred = option_with_tier("preferred")
    response = save(client_for(author), chosen_option_id=preferred.id, patient_identifier="MRN-77",
                    notes="Discussed at tumour board.")
    consult = Consult.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("consult_detail", args=[consult.pk])
    assert consult.team == team and consult.author == author
    assert consult.workup == services.workup_parse(data=YOUNG_FIT).model_dump(mode="json")
    assert consult.result == result_for().model_dump(mode="json")
    assert consult.kb_version == services.knowledge_get().version
    assert (consult.chosen_option_id, consult.chosen_option_tier) == (preferred.id, "preferred")
    assert consult.patient_identifier == "MRN-77" and consult.notes == "Discussed at tumour board."
    assert consult.override_reason == ""


def test_choosing_a_non_preferred_option_requires_the_override_reason(client_for, author):
    alternative = option_with_tier("alternative")
    response = save(client_for(author), chosen_option_id=alternative.id, override_reason="")
    body = response.content.decode()
    assert response.status_code == 200 and not Consult.objects.exists()
    error = re.search(r'<div id="err-override_reason" class="field-error">(.*?)</div>', body, re.S).group(1)
    assert "not preferred" in error and alternative.name in error
    assert 'name="age_years" value="30"' in body, "the workup is kept"
    assert f'<option value="{alternative.id}" selected>' in body, "the choice is kept"


def test_override_reason_is_recorded_with_the_tier_at_the_time(client_for, author):
    not_recommended = option_with_tier("not_recommended")
    save(client_for(author), chosen_option_id=not_recommended.id, override_reason="Patient preference; trial access.")
    consult = Consult.objects.get()
    assert consult.chosen_option_tier == "not_recommended"
    assert consult.override_reason == "Patient preference; trial access."


def test_a_clinician_without_a_team_is_told_before_trying_and_cannot_save(client_for, loner):
    client = client_for(loner)
    panel = client.get(reverse("workspace")).content.decode()
    assert 'role="note">Your account belongs to no care team' in panel, "said before trying, in the save panel"
    response = save(client, chosen_option_id=option_with_tier("preferred").id)
    assert response.status_code == 200 and not Consult.objects.exists()
    assert service.MSG_NO_TEAM in response.content.decode()


@pytest.mark.parametrize("identifier", ["John Smith", "a" * 33, "-AB", "AB/12"])
def test_patient_identifier_is_an_mrn_or_initials_never_a_name(client_for, author, identifier):
    response = save(client_for(author), chosen_option_id=option_with_tier("preferred").id,
                    patient_identifier=identifier)
    assert response.status_code == 200 and not Consult.objects.exists()
    body = response.content.decode()
    assert re.search(r'<div id="err-patient_identifier" class="field-error"><p>[^<]+', body)


def test_identifier_rule_is_worded_for_the_clinician(author):
    with pytest.raises(service.ConsultInvalid) as exc:
        saved_consult(author, patient_identifier="Jane Doe")
    assert exc.value.errors["patient_identifier"] == [MSG_PATIENT_IDENTIFIER]


def test_the_option_must_be_chosen(client_for, author):
    response = save(client_for(author), chosen_option_id="")
    assert response.status_code == 200 and not Consult.objects.exists()
    assert re.search(r'<div id="err-chosen_option_id" class="field-error"><p>', response.content.decode())


def test_an_invalid_workup_is_not_saved_and_errors_show_beside_fields(client_for, author):
    response = save(client_for(author), build(YOUNG_FIT, **{"patient.age_years": 15}), chosen_option_id="mec")
    assert response.status_code == 200 and not Consult.objects.exists()
    assert "AML Salvage is for adults" in response.content.decode()


# --- immutability ------------------------------------------------------------------------------------------

def test_a_saved_consult_cannot_be_changed_or_deleted(consult):
    consult.notes = "edited later"
    with pytest.raises(ConsultImmutable):
        consult.save()
    with pytest.raises(ConsultImmutable):
        consult.delete()
    with pytest.raises(ConsultImmutable):
        Consult.objects.filter(pk=consult.pk).update(notes="bulk edit")
    with pytest.raises(ConsultImmutable):
        Consult.objects.filter(pk=consult.pk).delete()
    assert Consult.objects.get(pk=consult.pk).notes == ""


def test_the_snapshot_is_shown_as_saved_never_recomputed(client_for, author, consult, monkeypatch):
    class LaterKnowledge:
        version = "2099.1.1"
        regimens = services.knowledge_get().regimens

    def no_recompute(**kwargs):
        raise AssertionError("a saved consult must not be re-evaluated")

    monkeypatch.setattr(services, "consult_evaluate", no_recompute)
    monkeypatch.setattr(services, "knowledge_get", lambda: LaterKnowledge)
    body = client_for(author).get(reverse("consult_detail", args=[consult.pk])).content.decode()
    assert consult.kb_version in body and "the knowledge base is now 2099.1.1" in body
    assert body.count("data-option=") == len(consult.result["options"])


def test_detail_shows_workup_choice_and_result(client_for, teammate, consult):
    body = client_for(teammate).get(reverse("consult_detail", args=[consult.pk])).content.decode()
    assert "MRN-1001" in body and "Read-only snapshot" in body
    assert "<form" not in body.split('<main id="main"')[1], "no inputs on a snapshot"
    assert f'id="option-{consult.chosen_option_id}"' in body and "chosen" in body
    assert ">Age</dt><dd>30 years</dd>" in body
    assert "{# PDF link #}" not in body and reverse("consult_pdf", args=[consult.pk]) in body


# --- revisions ---------------------------------------------------------------------------------------------

def test_revise_prefills_the_workspace_from_the_snapshot(client_for, teammate, author):
    original = saved_consult(author, build(YOUNG_FIT, **{"genetics.flt3_itd": True, "patient.age_years": 41}),
                             patient_identifier="MRN-9")
    body = client_for(teammate).get(reverse("consult_revise", args=[original.pk])).content.decode()
    assert 'name="age_years" value="41"' in body
    assert re.search(r'<input type="checkbox" name="flt3_itd"[^>]* checked', body)
    assert f'<input type="hidden" name="revision_of" value="{original.pk}"' in body
    assert 'name="patient_identifier" value="MRN-9"' in body
    assert f'hx-post="{reverse("consult_revise", args=[original.pk])}"' in body
    assert re.search(r'data-option="gilteritinib" data-tier="preferred"', body), "re-evaluated on arrival"


def test_revise_htmx_update_returns_the_fragment(client_for, author, consult):
    response = client_for(author).post(reverse("consult_revise", args=[consult.pk]), post_data(),
                                       HTTP_HX_REQUEST="true")
    assert 'id="result-panel"' in response.content.decode() and b"<html" not in response.content


def test_a_revision_is_a_new_consult_linked_to_the_old(client_for, teammate, consult):
    client = client_for(teammate)
    workup = build(YOUNG_FIT, **{"genetics.flt3_itd": True})
    response = save(client, workup, chosen_option_id="gilteritinib", revision_of=str(consult.pk),
                    patient_identifier="MRN-1001")
    revision = Consult.objects.exclude(pk=consult.pk).get()
    assert response["Location"] == reverse("consult_detail", args=[revision.pk])
    assert revision.revision_of == consult and revision.author == teammate
    old = Consult.objects.get(pk=consult.pk)
    assert old.workup["genetics"]["flt3_itd"] is False and old.result == consult.result
    assert f"consult {consult.pk}" in client.get(reverse("consult_detail", args=[revision.pk])).content.decode()
    assert f"consult {revision.pk}" in client.get(reverse("consult_detail", args=[consult.pk])).content.decode()


# --- the list ----------------------------------------------------------------------------------------------

def test_list_is_the_teams_consults_newest_first(client_for, author, teammate, outsider):
    first = saved_consult(author, patient_identifier="AB")
    second = saved_consult(teammate, patient_identifier="CD")
    saved_consult(outsider, patient_identifier="ZZ-OTHER")
    body = client_for(author).get(reverse("consult_list")).content.decode()
    assert body.index(f"Consult {second.pk}<") < body.index(f"Consult {first.pk}<")
    assert "ZZ-OTHER" not in body


def test_list_is_searchable_by_identifier(client_for, author):
    saved_consult(author, patient_identifier="MRN-12345")
    saved_consult(author, patient_identifier="JD")
    client = client_for(author)
    # A POST, then a redirect to the plain list URL: the identifier never appears in a URL.
    response = client.post(reverse("consult_list"), {"q": "mrn-123"})
    assert response.status_code == 302 and response["Location"] == reverse("consult_list")
    body = client.get(reverse("consult_list")).content.decode()
    assert "MRN-12345" in body and ">JD<" not in body
    assert 'method="post"' in body and "?q=" not in body
    client.post(reverse("consult_list"), {"q": "nobody"})
    empty = client.get(reverse("consult_list")).content.decode()
    assert "No consult has an identifier starting with" in empty
    client.post(reverse("consult_list"), {"q": "nobody", "clear": "1"})
    assert ">JD<" in client.get(reverse("consult_list")).content.decode()


def test_a_search_in_the_url_is_ignored(client_for, author):
    saved_consult(author, patient_identifier="MRN-12345")
    saved_consult(author, patient_identifier="JD")
    body = client_for(author).get(reverse("consult_list"), {"q": "mrn-123"}).content.decode()
    assert "MRN-12345" in body and ">JD<" in body


def test_list_pages(client_for, author):
    from aml_salvage.views.consults import CONSULTS_PER_PAGE

    parsed = services.workup_parse(data=YOUNG_FIT)
    result = services.consult_evaluate(workup=parsed)
    preferred = next(o for o in result.options if o.tier == "preferred").id
    for i in range(CONSULTS_PER_PAGE + 1):
        service.consult_create(author=author, workup=parsed, result=result, chosen_option_id=preferred,
                               patient_identifier=f"P{i}")
    client = client_for(author)
    assert "Page 1 of 2" in client.get(reverse("consult_list")).content.decode()
    assert ">P0<" in client.get(reverse("consult_list"), {"page": 2}).content.decode()


# --- the service -------------------------------------------------------------------------------------------

def imports_of(module) -> set[tuple[str, str]]:
    """(module imported, function importing it or '' at module level) for every import in a module of
    this package; relative imports are resolved."""
    tree = ast.parse(inspect.getsource(module))
    importer = {}
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        importer.update((node, function.name) for node in ast.walk(function))  # inner functions come later
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.ImportFrom):  # from . import pdf; from .presentation import ConsultMeta
            package = ".".join(module.__name__.split(".")[:-node.level])
            names = [f"{package}.{node.module}"] if node.module else [f"{package}.{a.name}" for a in node.names]
        else:
            continue
        found.update((name, importer.get(node, "")) for name in names)
    return found


DISPLAY = ("aml_salvage.views", "aml_salvage.presentation", "aml_salvage.pdf", "aml_salvage.forms",
           "aml_salvage.templatetags", "aml_salvage.jinja_env", "aml_salvage.live_cards")


@pytest.mark.parametrize("module", [service, services], ids=["consults", "services"])
def test_services_do_not_depend_on_display_code_except_printing_on_the_renderer(module):
    display = {(name, where) for name, where in imports_of(module) if name.startswith(DISPLAY)}
    printing = {("aml_salvage.pdf", "consult_print"), ("aml_salvage.pdf", "consult_print_draft")}
    assert display == (printing if module is service else set())


def test_the_admin_imports_nothing_from_the_views():
    from aml_salvage import admin

    assert not {name for name, _ in imports_of(admin) if name.startswith("aml_salvage.views")}

def test_consult_facts_name_the_clinician_and_the_choice_as_saved(author, consult):
    facts = service.consult_facts(consult=consult)
    chosen = next(o for o in consult.result["options"] if o["id"] == consult.chosen_option_id)
    assert facts.consult_id == consult.pk and facts.patient_identifier == "MRN-1001"
    assert facts.clinician == "Alice" and facts.revision_of is None
    assert (facts.chosen_option_name, facts.chosen_option_tier) == (chosen["name"], "preferred")
    assert facts.override_reason is None and facts.notes is None


def test_the_printed_summary_is_headed_with_the_saved_consult(teammate, consult):
    html = service.consult_print(consult=consult, user=teammate, as_html=True).decode()
    assert "MRN-1001" in html and f"#{consult.pk}" in html and "Alice" in html
    assert service.consult_facts(consult=consult).chosen_option_name in html


def test_a_pdf_is_never_one_the_current_summary_would_not_produce(monkeypatch, settings, teammate, consult):
    """Nothing printed is kept between requests: what the summary shows changes, the PDF follows."""
    from aml_salvage import pdf

    monkeypatch.setattr(pdf, "render_consult_pdf", lambda *, html: html.encode())  # the PDF "shows" its HTML
    settings.AML_SALVAGE_INSTITUTION = "St. Elsewhere"
    assert b"St. Elsewhere" in service.consult_print(consult=consult, user=teammate)
    settings.AML_SALVAGE_INSTITUTION = "General Hospital"
    assert b"General Hospital" in service.consult_print(consult=consult, user=teammate)


def test_a_consult_saved_before_contract_v2_still_opens_as_page_and_pdf(client_for, author):
    """Rows written before the v2 result fields (BMI, CrCl weight, dose-line status) are read back as saved."""
    fresh = saved_consult(author)
    legacy_result = fresh.result | {"assessment": {k: v for k, v in fresh.result["assessment"].items()
                                                   if k not in ("bmi", "crcl_weight", "crcl_by_weight")}}
    for opt in legacy_result["options"]:
        for line in opt["doses"]:
            del line["status"], line["not_assessed"]
    legacy = Consult(team=fresh.team, author=author, patient_identifier="MRN-OLD", workup=fresh.workup,
                     **service.result_stored(result=legacy_result), kb_version="2026.11.1",
                     chosen_option_id=fresh.chosen_option_id,
                     chosen_option_tier=fresh.chosen_option_tier)
    legacy.save()
    client = client_for(author)
    page = client.get(reverse("consult_detail", args=[legacy.pk]))
    assert page.status_code == 200 and "MRN-OLD" in page.content.decode()
    pdf = client.get(reverse("consult_pdf", args=[legacy.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    lines = [line for o in service.consult_result(consult=legacy).options for line in o.doses]
    assert lines and all(line.status is None for line in lines), "read back as saved: no status invented"
