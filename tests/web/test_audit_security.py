"""Every access to patient data and every security event goes into the append-only trail and its CSV: sign-in,
its failure (the username tried and the address, never the password), sign-out, the lockout, the second
factor, password changes, reset links, deactivation, consult lists and identifier searches (the term is kept:
the trail is itself protected), the staff consult list, refused access to another team's consult, and the
trail's own reading and export."""

from __future__ import annotations

import csv
import io

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from aml_salvage import accounts
from aml_salvage.models import AuditEvent

from .conftest import PASSWORD, mfa_device, post_data, saved_consult
from .test_accounts import code_for

pytestmark = pytest.mark.django_db

EXPORT = "admin:aml_salvage_auditevent_export"
WRONG = "Wrong-Password-Tried-9"


def trail(*actions: str) -> list[tuple]:
    events = AuditEvent.objects.order_by("id")
    if actions:
        events = events.filter(action__in=actions)
    return list(events.values_list("action", "username", "ip_address", "detail"))


def csv_rows(staff_client: Client) -> list[dict]:
    response = staff_client.get(reverse(EXPORT))
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_sign_in_and_sign_out_are_recorded_with_the_address(author):
    client = Client(REMOTE_ADDR="10.1.2.3")
    client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    client.post(reverse("logout"))
    assert trail() == [("signed_in", "alice", "10.1.2.3", ""), ("signed_out", "alice", "10.1.2.3", "")]


def test_a_failed_sign_in_records_the_username_tried_and_the_address_never_the_password(author):
    client = Client(REMOTE_ADDR="10.9.9.9")
    client.post(reverse("login"), {"username": "alice", "password": WRONG})
    client.post(reverse("login"), {"username": "mallory", "password": WRONG})
    assert trail() == [("sign_in_failed", "alice", "10.9.9.9", ""), ("sign_in_failed", "mallory", "10.9.9.9", "")]
    assert AuditEvent.objects.filter(username="alice").get().user == author
    assert AuditEvent.objects.filter(username="mallory").get().user is None, "no such account"
    assert not any(WRONG in str(value) for row in AuditEvent.objects.values_list() for value in row)


def test_failed_sign_ins_stay_in_the_trail_after_a_success(author):
    client = Client()
    client.post(reverse("login"), {"username": "alice", "password": WRONG})
    client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert [row[0] for row in trail()] == ["sign_in_failed", "signed_in"]


def test_a_lockout_is_recorded(author):
    client = Client(REMOTE_ADDR="10.6.6.6")
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        client.post(reverse("login"), {"username": "alice", "password": WRONG})
    assert ("locked_out", "alice", "10.6.6.6", "") in trail("locked_out")


def test_the_consult_list_and_each_identifier_search_are_recorded_with_the_term(client_for, author, consult):
    client = client_for(author)
    client.get(reverse("consult_list"))
    client.post(reverse("consult_list"), {"q": "MRN-10"})
    client.get(reverse("consult_list"))
    assert [(action, detail) for action, _, _, detail in trail("listed", "searched")] == [
        ("listed", ""), ("searched", "MRN-10"), ("listed", "search 'MRN-10'")]


def test_another_teams_consult_answers_404_and_the_refusal_is_recorded(client_for, outsider, consult):
    client = client_for(outsider)
    for url in (reverse("consult_detail", args=[consult.pk]), reverse("consult_pdf", args=[consult.pk]),
                reverse("consult_revise", args=[consult.pk]), reverse("consult_detail", args=[consult.pk + 99])):
        assert client.get(url).status_code == 404, url
    denied = AuditEvent.objects.filter(action="denied").order_by("id")
    assert [(e.user.username, e.consult_id, e.detail) for e in denied] == [
        ("olga", consult.pk, ""), ("olga", consult.pk, ""), ("olga", consult.pk, ""),
        ("olga", None, f"consult {consult.pk + 99} (no such consult)")]


def test_the_staff_consult_list_is_recorded_and_refuses_an_identifier_filter(client_for, staff, consult, team):
    client = client_for(staff)
    assert client.get(reverse("admin:aml_salvage_consult_changelist"), {"team__id__exact": team.pk}).status_code == 200
    for lookup in ("patient_identifier", "patient_identifier__icontains", "patient_identifier__startswith"):
        response = client.get(reverse("admin:aml_salvage_consult_changelist"), {lookup: "MRN-1001"})
        assert response.status_code == 400, lookup
    assert trail("listed") == [("listed", "stan", "127.0.0.1", f"admin consult list: team__id__exact={team.pk}")]


def test_reading_and_exporting_the_trail_are_recorded(client_for, staff):
    client = client_for(staff)
    for lookup in ("detail__icontains", "consult__patient_identifier"):  # identifiers stay out of URLs here too
        response = client.get(reverse("admin:aml_salvage_auditevent_changelist"), {lookup: "MRN-1001"})
        assert response.status_code == 400, lookup
    client.get(reverse("admin:aml_salvage_auditevent_changelist"))
    rows = csv_rows(client)
    assert [row[0] for row in trail("trail_viewed", "trail_exported")] == ["trail_viewed", "trail_exported"]
    assert rows[-1]["action"] == "trail_exported" and rows[-1]["user"] == "stan"


def test_every_kind_of_event_reaches_the_csv(client_for, staff, author, teammate, outsider, consult):
    """One of each action, then the export: a new action without a way into the trail fails here."""
    # Sign-in, its failure, the lockout, sign-out.
    alice = Client(REMOTE_ADDR="10.0.0.1")
    alice.post(reverse("login"), {"username": "alice", "password": WRONG})
    alice.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    paused = Client(REMOTE_ADDR="10.0.0.66")
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        paused.post(reverse("login"), {"username": "bob", "password": WRONG})
    # Lists, searches, reading, revising and printing consults; another team's consult.
    alice.post(reverse("consult_list"), {"q": "MRN-1001"})
    alice.get(reverse("consult_list"))
    alice.get(reverse("consult_detail", args=[consult.pk]))
    alice.get(reverse("consult_pdf", args=[consult.pk]))
    alice.post(reverse("print_draft"), post_data(patient_identifier="MRN-3003"))
    saved_consult(author, revision_of=consult)
    Client(REMOTE_ADDR="10.0.0.2").get(reverse("consult_detail", args=[consult.pk]))  # anonymous: sign-in page
    olga = Client()
    olga.force_login(outsider)
    olga.get(reverse("consult_detail", args=[consult.pk]))
    # The second factor: a wrong code, enrolment, a verified sign-in.
    device = mfa_device(teammate)
    bob = Client()
    bob.force_login(teammate)
    bob.post(reverse("mfa_verify"), {"code": "abcdefgh"})
    bob.post(reverse("mfa_verify"), {"code": accounts.recovery_codes_issue(user=teammate)[0]})
    device.delete()
    pending = accounts.mfa_enrolment_start(user=teammate)
    bob.post(reverse("mfa_setup"), {"code": code_for(pending)})
    # Passwords, reset links, deactivation, and staff reading the consults and the trail.
    alice.post(reverse("password_change"), {"old_password": PASSWORD, "new_password1": "a-new-long-password-1",
                                            "new_password2": "a-new-long-password-1"})
    admin = client_for(staff)
    admin.post(reverse("reset_link_issue"), {"username": "alice"})
    admin.get(reverse("admin:aml_salvage_consult_changelist"))
    admin.get(reverse("admin:aml_salvage_consult_change", args=[consult.pk]))
    admin.get(reverse("admin:aml_salvage_auditevent_changelist"))
    outsider.is_active = False
    outsider.save()
    outsider.is_active = True
    outsider.save()
    alice.post(reverse("logout"))
    AuditEvent.objects.create(user=author, consult=consult, action="exported", username="alice")  # reserved

    rows = csv_rows(admin)
    assert set(AuditEvent.Action.values) - {row["action"] for row in rows} == set()
    search = next(row for row in rows if row["action"] == "searched")
    assert (search["user"], search["address"], search["detail"]) == ("alice", "10.0.0.1", "MRN-1001")
    failed = next(row for row in rows if row["action"] == "sign_in_failed")
    assert (failed["user"], failed["address"], failed["team"], failed["consult_id"]) == ("alice", "10.0.0.1", "", "")
    draft = next(row for row in rows if row["action"] == "draft_printed")
    assert (draft["user"], draft["consult_id"], draft["detail"]) == ("alice", "", "patient identifier MRN-3003")
    denied = next(row for row in rows if row["action"] == "denied")
    assert (denied["user"], denied["consult_id"]) == ("olga", str(consult.pk))
    assert WRONG not in str(rows)
