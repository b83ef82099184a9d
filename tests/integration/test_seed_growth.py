"""`manage.py seed_growth` (the growth measurements of `make bench`) and the audit export it feeds: the seeded
consults are ones the app itself stores and shows, and the CSV export streams the trail row by row."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aml_salvage import consults
from aml_salvage.models import AuditEvent, Consult
from tests.web.conftest import otp_verified

pytestmark = pytest.mark.django_db


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_growth", stdout=out, **options)
    return out.getvalue()


def test_seeds_the_consults_and_events_asked_for_varied_and_readable():
    seed(consults=60, events=500, distinct=12, teams=3, batch=7)
    assert Consult.objects.count() == 60
    # The 12 saved by the service each recorded 'created'; the 500 seeded events come on top.
    assert AuditEvent.objects.count() == 12 + 500
    assert Consult.objects.values("workup").distinct().count() == 12
    assert Consult.objects.values("team").distinct().count() == 3
    assert Consult.objects.values("patient_identifier").distinct().count() == 60
    assert Consult.objects.values("chosen_option_id").distinct().count() > 1
    # Each consult is readable as the app reads it, and its stored choice is an option of its result.
    for consult in Consult.objects.order_by("?")[:10]:
        result = consults.consult_result(consult=consult)
        assert consult.chosen_option_id in {o.id for o in result.options}
        assert consult.team.user_set.filter(pk=consult.author_id).exists()
    # Spread over the years asked for (10 by default), oldest first.
    first, last = (Consult.objects.order_by(f)[0].created_at for f in ("created_at", "-created_at"))
    assert (last - first).days > 365 * 9


def test_refuses_a_database_that_holds_consults_unless_told_to_append():
    seed(consults=3, events=0, distinct=3, teams=1)
    with pytest.raises(CommandError, match="already holds consults"):
        seed(consults=3, events=0, distinct=3, teams=1)
    seed(consults=3, events=0, distinct=3, teams=1, append=True, seed=2)
    assert Consult.objects.count() == 6


def test_the_audit_export_streams_the_trail_reading_it_in_chunks(client):
    seed(consults=5, events=4500, distinct=5, teams=1)
    staff = User.objects.create_user("auditor", password="not-a-real-password-7f3a", is_staff=True)
    client.force_login(staff)
    otp_verified(client, staff)  # staff sign in with a second factor
    response = client.get(reverse("admin:aml_salvage_auditevent_export"))
    assert response.status_code == 200 and response.streaming
    lines = iter(response.streaming_content)
    with CaptureQueriesContext(connection) as queries:
        header = next(lines)
    assert header.decode().startswith("time,user,team,consult_id,action")
    assert not any("aml_salvage_auditevent" in q["sql"] for q in queries), "nothing read before it is sent"
    rest = b"".join(lines).decode()
    rows = list(csv.reader(io.StringIO(rest)))
    # the seeded 4,505 consult events, and the security events of the export itself (no consult)
    assert len(rows) == AuditEvent.objects.count() == 4505 + AuditEvent.objects.filter(consult=None).count()
    assert {row[4] for row in rows} <= {"created", "viewed", "printed", "exported", "signed_in", "trail_exported"}


def test_grows_a_seeded_database_by_copying_its_saved_consults():
    seed(consults=20, events=100, distinct=4, teams=2)
    with pytest.raises(CommandError, match="needs --append"):
        seed(consults=50, events=0, reuse=True)
    said = seed(consults=50, events=300, teams=2, append=True, reuse=True)
    assert "Seeded 30 consults" in said and "50 in the database" in said
    assert Consult.objects.count() == 50
    # Copies of the 4 workups the engine evaluated: none evaluated again, none new.
    assert Consult.objects.values("workup").distinct().count() == 4
    assert Consult.objects.values("patient_identifier").distinct().count() == 50  # numbered on
    assert AuditEvent.objects.count() == 4 + 100 + 300
    for consult in Consult.objects.order_by("-id")[:5]:
        assert consults.consult_result(consult=consult).options
        assert consult.team.user_set.filter(pk=consult.author_id).exists()
