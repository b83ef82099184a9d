"""/consults/<id>/pdf/: the saved consult's printable summary, with the consult's permissions, audited."""

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from aml_salvage.models import AuditEvent


def _text(response) -> str:
    return " ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(response.content)).pages)


@pytest.mark.parametrize("persona", ["author", "teammate"])
def test_the_team_gets_the_pdf_of_the_saved_snapshot(persona, request, client_for, consult):
    user = request.getfixturevalue(persona)
    response = client_for(user).get(reverse("consult_pdf", args=[consult.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = " ".join(_text(response).split())
    assert "MRN-1001" in text and "Page 1 of" in text
    assert f"Knowledge base {consult.kb_version}" in text or f"KB {consult.kb_version}" in text
    assert "Consult" in text and f"#{consult.pk}" in text
    # The file name carries the consult number, never the patient identifier.
    assert "MRN" not in response["Content-Disposition"]
    assert f"consult-{consult.pk}.pdf" in response["Content-Disposition"]


def test_each_print_is_audited(client_for, author, consult):
    client = client_for(author)
    for _ in range(2):
        assert client.get(reverse("consult_pdf", args=[consult.pk])).status_code == 200
    assert AuditEvent.objects.filter(consult=consult, user=author, action="printed").count() == 2


def test_outsider_gets_404_and_nothing_is_recorded(client_for, outsider, consult):
    assert client_for(outsider).get(reverse("consult_pdf", args=[consult.pk])).status_code == 404
    assert not AuditEvent.objects.filter(consult=consult, action="printed").exists()


def test_html_form_for_checking(client_for, author, consult):
    response = client_for(author).get(reverse("consult_pdf", args=[consult.pk]) + "?format=html")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert b"salvage consult: decision sheet" in response.content and b"MRN-1001" in response.content


def test_the_consult_page_links_to_its_pdf(client_for, author, consult):
    page = client_for(author).get(reverse("consult_detail", args=[consult.pk]))
    assert reverse("consult_pdf", args=[consult.pk]).encode() in page.content


def test_anonymous_is_sent_to_sign_in(client, consult):
    response = client.get(reverse("consult_pdf", args=[consult.pk]))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_a_bad_paper_size_fails_the_system_check(settings):
    from aml_salvage.checks import print_settings_check

    settings.AML_SALVAGE_PAPER_SIZE = "tabloid"
    assert [e.id for e in print_settings_check(None)] == ["aml_salvage.E002"]
    settings.AML_SALVAGE_PAPER_SIZE = "a4"
    assert print_settings_check(None) == []
