"""The two-role PostgreSQL deployment: the app connects as a runtime role that owns nothing and holds only
what ``manage.py grant_runtime_role`` gives it; the schema's owner runs the migrations.

As that role nothing can remove or change a saved consult or an audit event: no DELETE, UPDATE or TRUNCATE
privilege, no way to disable or drop the triggers or replace their function, and no session setting that
matters. Even a role that was granted DELETE, UPDATE and TRUNCATE by mistake is stopped by the triggers. And
the app's normal work (sign-in, failed sign-ins, saving, viewing and printing a consult, sign-out) succeeds
as the runtime role, in a separate process, as on an app server.

Runs in the PostgreSQL pass of `make test` (tests/postgres/with_postgres.sh); skipped on SQLite, which has no
roles (its limits: tests/web/test_security_records.py).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.db import connection

from aml_salvage.models import AuditEvent, Consult
from tests.web.conftest import PASSWORD, post_data, saved_consult

pytestmark = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL roles")

ROOT = Path(__file__).resolve().parent.parent.parent
RECORDS = ("aml_salvage_consult", "aml_salvage_auditevent")
SESSION_SETTINGS = ("", "SET aml_salvage.allow_record_deletion = 'on'")


@pytest.fixture
def make_role(transactional_db):
    """make_role() → the name of a new login role (dropped, with its grants, after the test)."""
    made: list[str] = []

    def make() -> str:
        name = f"aml_test_{secrets.token_hex(4)}"
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE ROLE {name} LOGIN")
        made.append(name)
        return name

    yield make
    with connection.cursor() as cursor:
        for name in made:
            cursor.execute(f"DROP OWNED BY {name}")
            cursor.execute(f"DROP ROLE {name}")


@pytest.fixture
def runtime_role(make_role) -> str:
    role = make_role()
    call_command("grant_runtime_role", role=role, stdout=open(os.devnull, "w"))
    return role


@pytest.fixture
def records(author):
    """A saved consult with its 'created' event, committed (the role's session is another connection)."""
    consult = saved_consult(author)
    return {"aml_salvage_consult": 1, "aml_salvage_auditevent": AuditEvent.objects.filter(consult=consult).count()}


@contextmanager
def connected_as(role: str):
    params = connection.settings_dict
    with psycopg.connect(host=params["HOST"], port=params["PORT"], dbname=params["NAME"], user=role,
                         autocommit=True) as conn:
        yield conn


def row_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in RECORDS:
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
        return counts


def attempt(conn, setting: str, statement: str) -> psycopg.Error:
    """Run a statement as the role (after the session setting, if any); return the error it must raise."""
    if setting:
        conn.execute(setting)
    with pytest.raises(psycopg.Error) as refused:
        conn.execute(statement)
    return refused.value


@pytest.mark.parametrize("setting", SESSION_SETTINGS, ids=["plain", "deletion-setting-on"])
@pytest.mark.parametrize("table", RECORDS)
def test_the_runtime_role_cannot_remove_change_or_unprotect_records(runtime_role, records, table, setting):
    statements = [
        f"DELETE FROM {table}",
        f"UPDATE {table} SET id = id",
        f"TRUNCATE {table} CASCADE",
        f"TRUNCATE {table}",
        f"ALTER TABLE {table} DISABLE TRIGGER USER",
        f"ALTER TABLE {table} DISABLE TRIGGER {table}_immutable",
        f"DROP TRIGGER {table}_no_truncate ON {table}",
        f"ALTER TABLE {table} OWNER TO {runtime_role}",
        "SET session_replication_role = replica",  # would skip ordinary triggers
        "CREATE OR REPLACE FUNCTION aml_salvage_refuse_change() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN OLD; END; $$",
    ]
    with connected_as(runtime_role) as conn:
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == records[table], "it can read"
        for statement in statements:
            error = attempt(conn, setting, statement)
            assert isinstance(error, psycopg.errors.InsufficientPrivilege), (statement, error)
    assert row_counts() == records


@pytest.mark.parametrize("setting", SESSION_SETTINGS, ids=["plain", "deletion-setting-on"])
def test_a_role_granted_delete_update_and_truncate_is_still_stopped_by_the_triggers(make_role, records, setting):
    # The review's case: a role granted SELECT and DELETE deleted every consult after setting the old flag.
    careless = make_role()
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT SELECT, DELETE, UPDATE, TRUNCATE ON {', '.join(RECORDS)} TO {careless}")
    with connected_as(careless) as conn:
        for statement in ("DELETE FROM aml_salvage_auditevent", "DELETE FROM aml_salvage_consult",
                          "UPDATE aml_salvage_consult SET notes = 'changed'", "TRUNCATE aml_salvage_auditevent",
                          "TRUNCATE aml_salvage_consult, aml_salvage_auditevent"):
            error = attempt(conn, setting, statement)
            assert isinstance(error, psycopg.errors.IntegrityConstraintViolation), (statement, error)
            assert "refused" in str(error)
    assert row_counts() == records


def test_the_grants_are_per_table_and_never_truncate(runtime_role):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, string_agg(privilege_type, ',' ORDER BY privilege_type) "
            "FROM information_schema.role_table_grants WHERE grantee = %s GROUP BY table_name", [runtime_role])
        grants = dict(cursor.fetchall())
        cursor.execute("SELECT count(*) FROM pg_class WHERE pg_has_role(%s::name, relowner, 'MEMBER')",
                       [runtime_role])
        owned = cursor.fetchone()[0]
    assert grants["aml_salvage_consult"] == grants["aml_salvage_auditevent"] == "INSERT,SELECT"
    assert grants["django_session"] == grants["axes_accessattempt"] == "DELETE,INSERT,SELECT,UPDATE"
    assert grants["auth_permission"] == "INSERT,SELECT" and grants["django_migrations"] == "SELECT"
    assert not [table for table, privileges in grants.items() if "TRUNCATE" in privileges or "TRIGGER" in privileges]
    assert owned == 0


def test_granting_is_idempotent_and_refuses_a_role_that_could_disable_the_triggers(runtime_role, make_role):
    call_command("grant_runtime_role", role=runtime_role, stdout=open(os.devnull, "w"))  # again: same result
    test_the_grants_are_per_table_and_never_truncate(runtime_role)
    with pytest.raises(CommandError, match="is the role running this command"):
        call_command("grant_runtime_role", role=connection.settings_dict["USER"])
    with pytest.raises(CommandError, match="there is no role"):
        call_command("grant_runtime_role", role="nobody_by_that_name")
    member_of_owner = make_role()
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT {connection.settings_dict['USER']} TO {member_of_owner}")
    with pytest.raises(CommandError, match="superuser|owns"):
        call_command("grant_runtime_role", role=member_of_owner)


APP_SERVER = """
    import json, sys, django
    django.setup()
    from django.test import Client
    password, form = sys.argv[1], json.loads(sys.stdin.read())
    client = Client()
    failed = [client.post("/accounts/login/", {"username": "alice", "password": "wrong-password-123"}).status_code
              for _ in range(2)]
    signed_in = client.post("/accounts/login/", {"username": "alice", "password": password})
    workspace = client.get("/")
    saved = client.post("/consults/new/", form)
    detail = client.get(saved["Location"])
    pdf = client.get(saved["Location"] + "pdf/")
    signed_out = client.post("/accounts/logout/")
    print(json.dumps({"failed": failed, "sign_in": signed_in.status_code, "workspace": workspace.status_code,
                      "save": saved.status_code, "detail": detail.status_code, "pdf": pdf.status_code,
                      "pdf_type": pdf["Content-Type"], "sign_out": signed_out.status_code}))
"""


def test_the_app_does_its_work_as_the_runtime_role(runtime_role, author):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "aml_salvage.settings.test_postgres",
           "AML_SALVAGE_PG_USER": runtime_role, "AML_SALVAGE_PG_NAME": connection.settings_dict["NAME"]}
    form = post_data(chosen_option_id="flag-ida")
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(APP_SERVER), PASSWORD], input=json.dumps(form),
                            env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    got = json.loads(result.stdout.strip().splitlines()[-1])
    assert got == {"failed": [200, 200], "sign_in": 302, "workspace": 200, "save": 302, "detail": 200,
                   "pdf": 200, "pdf_type": "application/pdf", "sign_out": 302}
    consult = Consult.objects.get()
    assert consult.author == author and consult.chosen_option_id == "flag-ida"
    assert sorted(consult.audit_events.values_list("action", flat=True)) == ["created", "printed", "viewed"]
    assert AccessAttempt.objects.get(username="alice").failures_since_start == 2  # inserted, then updated
    assert not Session.objects.exists(), "the sign-out deleted the session"
