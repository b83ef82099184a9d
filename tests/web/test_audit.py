"""The audit trail: every creation, view, revision and print of a consult is recorded with who and when;
staff read it in the admin (read-only) and export it as CSV. Security events (sign-ins, lists, searches,
account changes) are in tests/web/test_audit_security.py."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.db import DatabaseError
from django.urls import reverse

from aml_salvage import consults, pdf
from aml_salvage.audit import MSG_UNKNOWN_ACTION, audit_record
from aml_salvage.models import AuditEvent, Consult
from tests.factories import YOUNG_FIT, build
from tests.web.conftest import post_data, saved_consult

pytestmark = pytest.mark.django_db

EXPORT = "admin:aml_salvage_auditevent_export"


def events(**filters) -> list[tuple]:
    """The events about consults (sign-ins by the test client and other security events left aside)."""
    return list(AuditEvent.objects.exclude(consult=None).filter(**filters).order_by("id")
                .values_list("consult_id", "user__username", "action"))


def preferred_id(workup=YOUNG_FIT) -> str:
    from aml_salvage import services

    result = services.consult_evaluate(workup=services.workup_parse(data=workup))
    return next(o.id for o in result.options if o.tier == "preferred")


def test_saving_records_created(client_for, author):
    response = client_for(author).post(reverse("consult_create"),
                                       post_data(chosen_option_id=preferred_id(), patient_identifier="MRN-5"))
    consult = Consult.objects.get()
    assert response.status_code == 302
    assert events() == [(consult.pk, "alice", "created")]
    event = AuditEvent.objects.get(action="created")
    assert event.at >= consult.created_at


def test_a_refused_save_records_nothing(client_for, author):
    client_for(author).post(reverse("consult_create"), post_data(chosen_option_id=""))
    assert not Consult.objects.exists() and not AuditEvent.objects.exclude(action="signed_in").exists()


@pytest.mark.parametrize("failing_write", ["consult", "created", "revised"])
def test_a_consult_and_its_audit_events_are_stored_together_or_not_at_all(failing_write, monkeypatch, author,
                                                                          consult):
    """The save service writes the revision, 'created' on it and 'revised' on the original in one
    transaction: whichever write fails, none of them is kept."""
    stored = (list(Consult.objects.values_list("pk", flat=True)), events())
    real_save, real_record = Consult.save, consults.audit_record

    def save(self, *args, **kwargs):
        if failing_write == "consult":
            raise DatabaseError("disk full")
        real_save(self, *args, **kwargs)

    def record(*, consult, user, action):
        if action == failing_write:
            raise DatabaseError("disk full")
        return real_record(consult=consult, user=user, action=action)

    monkeypatch.setattr(Consult, "save", save)
    monkeypatch.setattr(consults, "audit_record", record)
    with pytest.raises(DatabaseError):
        saved_consult(author, revision_of=consult)
    assert (list(Consult.objects.values_list("pk", flat=True)), events()) == stored


def test_opening_a_consult_records_viewed_for_each_reader(client_for, author, teammate, consult):
    client_for(teammate).get(reverse("consult_detail", args=[consult.pk]))
    client_for(author).get(reverse("consult_detail", args=[consult.pk]))
    assert events() == [(consult.pk, "alice", "created"), (consult.pk, "bob", "viewed"),
                        (consult.pk, "alice", "viewed")]


def test_another_teams_reader_is_answered_404_and_the_refusal_is_recorded(client_for, outsider, consult):
    before = events()
    assert client_for(outsider).get(reverse("consult_detail", args=[consult.pk])).status_code == 404
    assert events() == [*before, (consult.pk, "olga", "denied")], "denied, not viewed"


def test_saving_a_revision_records_created_on_the_new_and_revised_on_the_original(client_for, teammate, consult):
    client = client_for(teammate)
    client.get(reverse("consult_revise", args=[consult.pk]))  # the revise page shows the saved workup
    flt3 = build(YOUNG_FIT, **{"genetics.flt3_itd": True})
    client.post(reverse("consult_revise", args=[consult.pk]), post_data(flt3), HTTP_HX_REQUEST="true")
    response = client.post(reverse("consult_create"),
                           post_data(flt3, chosen_option_id="gilteritinib", revision_of=str(consult.pk)))
    revision = Consult.objects.exclude(pk=consult.pk).get()
    assert response.status_code == 302
    assert events() == [(consult.pk, "alice", "created"), (consult.pk, "bob", "viewed"),
                        (revision.pk, "bob", "created"), (consult.pk, "bob", "revised")], \
        "live updates while revising are not events"


def test_each_print_is_rendered_and_recorded(monkeypatch, teammate, consult):
    rendered = []
    monkeypatch.setattr(pdf, "render_consult_pdf", lambda *, html: rendered.append(html) or b"%PDF-1.7 stub")
    for _ in range(2):
        assert consults.consult_print(consult=consult, user=teammate) == b"%PDF-1.7 stub"
    assert len(rendered) == 2, "no printout is kept between requests (several app servers)"
    assert events() == [(consult.pk, "alice", "created"), (consult.pk, "bob", "printed"),
                        (consult.pk, "bob", "printed")]


def test_a_print_that_fails_is_not_recorded(monkeypatch, teammate, consult):
    def broken(*, html):
        raise OSError("font missing")

    monkeypatch.setattr(pdf, "render_consult_pdf", broken)
    with pytest.raises(OSError):
        consults.consult_print(consult=consult, user=teammate)
    assert events(action="printed") == []


def test_an_unknown_action_is_refused_naming_the_known_ones(author, consult):
    before = events()
    with pytest.raises(ValueError) as refused:
        audit_record(consult=consult, user=author, action="edited")
    assert str(refused.value) == MSG_UNKNOWN_ACTION.format(action="edited")  # lists AuditEvent.Action
    assert events() == before


def test_staff_opening_a_consult_in_the_admin_is_recorded(client_for, staff, consult):
    staff.user_permissions.add(Permission.objects.get(codename="view_consult"))
    response = client_for(staff).get(reverse("admin:aml_salvage_consult_change", args=[consult.pk]))
    assert response.status_code == 200
    assert events() == [(consult.pk, "alice", "created"), (consult.pk, "stan", "viewed")]


# --- staff: the trail in the admin, and its CSV ------------------------------------------------------------

@pytest.fixture
def trail(client_for, author, teammate, consult):
    # Saving the consult recorded 'created' by its author.
    audit_record(consult=consult, user=teammate, action="viewed")
    audit_record(consult=consult, user=author, action="printed")
    return consult


def test_staff_read_the_trail_in_the_admin_and_cannot_change_it(client_for, staff, trail):
    client = client_for(staff)
    listing = client.get(reverse("admin:aml_salvage_auditevent_changelist"))
    body = listing.content.decode()
    assert listing.status_code == 200 and body.count("printed") >= 1 and "Export all as CSV" in body
    stored = AuditEvent.objects.count()
    event = AuditEvent.objects.exclude(consult=None).first()
    assert client.get(reverse("admin:aml_salvage_auditevent_change", args=[event.pk])).status_code == 200
    assert client.get(reverse("admin:aml_salvage_auditevent_add")).status_code == 403
    assert client.get(reverse("admin:aml_salvage_auditevent_delete", args=[event.pk])).status_code == 403
    assert client.post(reverse("admin:aml_salvage_auditevent_change", args=[event.pk]),
                       {"action": "viewed"}).status_code == 403
    assert AuditEvent.objects.count() == stored and AuditEvent.objects.exclude(consult=None).count() == 3


def test_staff_export_the_trail_as_csv(client_for, staff, trail, team):
    response = client_for(staff).get(reverse(EXPORT))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["time", "user", "team", "consult_id", "action", "address", "detail"]
    assert [row[1:5] for row in rows[1:] if row[3]] == [
        ["alice", team.name, str(trail.pk), "created"],
        ["bob", team.name, str(trail.pk), "viewed"],
        ["alice", team.name, str(trail.pk), "printed"],
    ]
    assert rows[-1][1:5] == ["stan", "", "", "trail_exported"], "the export is recorded, in its own file"
    assert all("T" in row[0] for row in rows[1:]), "ISO 8601 times"
    assert "MRN-1001" not in text, "no patient identifier in the trail"


@pytest.mark.parametrize("persona", ["author", "outsider"])
def test_clinicians_who_are_not_staff_cannot_read_or_export_the_trail(persona, request, client_for, trail):
    client = client_for(request.getfixturevalue(persona))
    for url in (reverse(EXPORT), reverse("admin:aml_salvage_auditevent_changelist")):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_neutralised(client_for, staff, consult, team):
    from django.contrib.auth.models import User

    odd = User.objects.create_user("=cmd|calc", password="x" * 16)
    odd.groups.add(team)
    audit_record(consult=consult, user=odd, action="viewed")
    text = b"".join(client_for(staff).get(reverse(EXPORT)).streaming_content).decode()
    assert "'=cmd|calc" in text
