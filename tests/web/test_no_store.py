"""Nothing a signed-in clinician or auditor opens stays in the browser's cache: every such response says
`Cache-Control: no-store` (shared ward workstations). Static files stay cacheable."""

from __future__ import annotations

import pytest
from django.urls import reverse

from aml_salvage import services
from aml_salvage.views.option_detail import TOKEN_HEADER, URL_NAME, workup_token
from tests.factories import YOUNG_FIT
from tests.web.conftest import post_data

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def assert_no_store(response, what: str) -> None:
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    assert {"no-store", "no-cache", "must-revalidate", "private"} <= directives, (what, response.get("Cache-Control"))
    assert "Expires" in response, what


def clinician_responses(client, consult):
    detail = reverse("consult_detail", args=[consult.pk])
    pdf = reverse("consult_pdf", args=[consult.pk])
    token = workup_token(workup=services.workup_parse(data=YOUNG_FIT), user=consult.author)
    return {
        "workspace": client.get(reverse("workspace")),
        "workspace fragment": client.post(reverse("workspace"), post_data(), **HX),
        "workspace post": client.post(reverse("workspace"), post_data()),
        "option detail": client.get(reverse(URL_NAME, args=["flag-ida"]), **HX,
                                    **{"HTTP_" + TOKEN_HEADER.upper().replace("-", "_"): token}),
        "live comparison": client.get(reverse("result_glance"), **HX,
                                       **{"HTTP_" + TOKEN_HEADER.upper().replace("-", "_"): token}),
        "consult page": client.get(detail),
        "consult list": client.get(reverse("consult_list")),
        "consult search": client.post(reverse("consult_list"), {"q": "MRN"}, follow=True),
        "revise": client.get(reverse("consult_revise", args=[consult.pk])),
        "save": client.post(reverse("consult_create"), post_data(chosen_option_id="flag-ida")),
        "pdf": client.get(pdf),
        "print html": client.get(pdf + "?format=html"),
        "regimen library": client.get(reverse("regimen_list")),
    }


def test_every_page_fragment_and_file_for_a_clinician_is_no_store(client_for, author, consult):
    responses = clinician_responses(client_for(author), consult)
    assert responses["pdf"]["Content-Type"] == "application/pdf"
    assert "evidence-table" in responses["option detail"].content.decode()
    assert 'id="result-panel"' in responses["workspace fragment"].content.decode()
    for what, response in responses.items():
        assert response.status_code in (200, 302), what
        assert_no_store(response, what)


def test_another_teams_consult_answers_404_with_no_store_too(client_for, outsider, consult):
    response = client_for(outsider).get(reverse("consult_detail", args=[consult.pk]))
    assert response.status_code == 404
    assert_no_store(response, "404")


def test_every_admin_page_and_the_audit_export_are_no_store(client_for, staff, consult):
    client = client_for(staff)
    urls = {
        "admin index": reverse("admin:index"),
        "consults": reverse("admin:aml_salvage_consult_changelist"),
        "consult": reverse("admin:aml_salvage_consult_change", args=[consult.pk]),
        "audit trail": reverse("admin:aml_salvage_auditevent_changelist"),
        "audit export": reverse("admin:aml_salvage_auditevent_export"),
        "knowledge base": reverse("admin:aml_salvage_knowledgebaseentry_changelist"),
    }
    for what, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, what
        assert_no_store(response, what)


def test_the_sign_out_and_sign_in_pages_are_no_store(client_for, client, author):
    assert_no_store(client.get(reverse("login")), "sign-in page")
    assert_no_store(client_for(author).post(reverse("logout")), "sign-out")
