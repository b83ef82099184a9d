"""Who sees what: nothing but the sign-in page without an account; a consult only for its author and
their team (another team's consult answers 404); the admin for staff only; sign-out and inactivity."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from aml_salvage.consults import consult_visible_to

pytestmark = pytest.mark.django_db


def consult_urls(pk: int) -> list[str]:
    return [reverse(name, args=[pk]) for name in ("consult_detail", "consult_revise", "consult_pdf")]


def app_urls(pk: int) -> list[str]:
    return [reverse("workspace"), reverse("consult_list"), reverse("regimen_list"),
            reverse("regimen_detail", args=["mec"]), *consult_urls(pk)]


def test_anonymous_sees_only_the_sign_in_page(client, consult):
    for url in app_urls(consult.pk):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next="), url
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b"Sign in" in page.content
    assert b"Saved consults" not in page.content  # no navigation for anonymous visitors


def test_anonymous_cannot_save(client, author):
    from tests.web.conftest import post_data

    response = client.post(reverse("consult_create"), post_data(chosen_option_id="flag-ida"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_sign_in_with_the_login_form(client, author):
    from tests.web.conftest import PASSWORD

    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("workspace")
    assert client.get(reverse("workspace")).status_code == 200


def test_wrong_password_is_refused(client, author):
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong-password-123"})
    assert response.status_code == 200
    assert client.get(reverse("workspace")).status_code == 302


@pytest.mark.parametrize("persona", ["author", "teammate"])
def test_author_and_teammate_see_the_consult(persona, request, client_for, consult):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(reverse("consult_detail", args=[consult.pk])).status_code == 200
    assert client.get(reverse("consult_revise", args=[consult.pk])).status_code == 200
    assert client.get(reverse("consult_pdf", args=[consult.pk])).status_code == 200
    assert f"Consult {consult.pk}".encode() in client.get(reverse("consult_list")).content


@pytest.mark.parametrize("persona", ["outsider", "loner"])
def test_another_teams_consult_answers_404(persona, request, client_for, consult):
    client = client_for(request.getfixturevalue(persona))
    for url in consult_urls(consult.pk):
        assert client.get(url).status_code == 404, url
    listing = client.get(reverse("consult_list"))
    assert listing.status_code == 200
    assert b"MRN-1001" not in listing.content


def test_outsider_gets_404_for_the_pdf(client_for, outsider, consult):
    assert client_for(outsider).get(reverse("consult_pdf", args=[consult.pk])).status_code == 404


def test_a_consult_stays_with_its_team_not_the_authors_later_teams(author, teammate, outsider, consult):
    assert set(consult_visible_to(user=teammate)) == {consult}
    assert set(consult_visible_to(user=outsider)) == set()
    author.groups.clear()  # the author left the team: still sees what they wrote
    assert set(consult_visible_to(user=author)) == {consult}


def test_inactive_user_sees_nothing(author, consult):
    author.is_active = False
    assert list(consult_visible_to(user=author)) == []


def test_revising_another_teams_consult_is_404(client_for, outsider, consult):
    from tests.web.conftest import post_data

    data = post_data(chosen_option_id="flag-ida", revision_of=str(consult.pk))
    assert client_for(outsider).post(reverse("consult_create"), data).status_code == 404


def test_sign_out(client_for, author):
    client = client_for(author)
    assert client.get(reverse("logout")).status_code == 405  # sign-out is a POST (CSRF-protected)
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.get(reverse("workspace")).status_code == 302


def test_live_update_after_session_expiry_keeps_the_inputs(client):
    """An HTMX update from a signed-out browser gets a panel saying so, not the sign-in page."""
    from tests.web.conftest import post_data

    response = client.post(reverse("workspace"), post_data(), HTTP_HX_REQUEST="true", follow=True)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="result-panel"' in body and "You were signed out" in body
    assert "<html" not in body and "<input" not in body


# --- admin ------------------------------------------------------------------------------------------------

ADMIN_URLS = ("admin:index", "admin:aml_salvage_consult_changelist", "admin:aml_salvage_knowledgebaseentry_changelist")


@pytest.fixture
def staff_with_view(staff):
    for codename in ("view_consult", "view_knowledgebaseentry"):
        staff.user_permissions.add(Permission.objects.get(codename=codename))
    return staff


@pytest.mark.parametrize("persona", ["author", "outsider"])
def test_admin_is_for_staff_only(persona, request, client_for):
    client = client_for(request.getfixturevalue(persona))
    for name in ADMIN_URLS:
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/admin/login/" in response["Location"], name


def test_anonymous_admin_redirects_to_sign_in(client):
    response = client.get(reverse("admin:aml_salvage_consult_changelist"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_staff_reads_consults_in_the_admin_but_cannot_change_them(client_for, staff_with_view, consult):
    client = client_for(staff_with_view)
    listing = client.get(reverse("admin:aml_salvage_consult_changelist"))
    assert listing.status_code == 200 and b"MRN-1001" in listing.content
    change = client.get(reverse("admin:aml_salvage_consult_change", args=[consult.pk]))
    assert change.status_code == 200
    assert b"kb_version" in change.content or consult.kb_version.encode() in change.content
    assert b'name="_save"' not in change.content  # read-only: no save button
    assert client.get(reverse("admin:aml_salvage_consult_add")).status_code == 403
    assert client.get(reverse("admin:aml_salvage_consult_delete", args=[consult.pk])).status_code == 403
    response = client.post(reverse("admin:aml_salvage_consult_change", args=[consult.pk]), {"notes": "x"})
    assert response.status_code == 403


def test_staff_reads_the_knowledge_base_in_the_admin(client_for, staff_with_view):
    from aml_salvage import services

    client = client_for(staff_with_view)
    index = client.get(reverse("admin:index"))
    assert b"Knowledge base" in index.content
    page = client.get(reverse("admin:aml_salvage_knowledgebaseentry_changelist"))
    assert page.status_code == 200
    kb = services.knowledge_get()
    body = page.content.decode()
    assert kb.version in body
    for regimen_id in kb.regimens:
        assert reverse("regimen_detail", args=[regimen_id]) in body
    for rule_id in kb.rules:
        assert rule_id in body
