"""Saved consults and audit events are immutable in the database itself, not only in the model: an UPDATE
or DELETE from any path (a bulk queryset that skips the model's guard, raw SQL, TRUNCATE) is refused
by triggers, on SQLite and on PostgreSQL alike (the suite runs on both), whatever the session says.

What the triggers cannot stop is tested too: on SQLite, anyone who can write the file can drop them. On
PostgreSQL only the tables' owner can, and the app's runtime role owns nothing
(tests/postgres/test_runtime_role.py)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.core.management.commands.flush import Command as DjangoFlush
from django.db import DatabaseError, IntegrityError, connection, models, transaction

from aml_salvage.audit import audit_record
from aml_salvage.models import MSG_AUDIT_APPEND_ONLY, AuditAppendOnly, AuditEvent, Consult
from tests.web.conftest import saved_consult

pytestmark = pytest.mark.django_db

TABLES = {Consult: "aml_salvage_consult", AuditEvent: "aml_salvage_auditevent"}
# Every write-once table: the knowledge-base content that saved consults are stored against, too.
WRITE_ONCE_TABLES = [*TABLES.values(), "aml_salvage_knowledgecontent"]


def refused(sql: str, params=()) -> str:
    """Run one statement in a savepoint; return the database's error message (it must raise)."""
    with pytest.raises(IntegrityError) as exc, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(exc.value)


@pytest.fixture
def event(consult, author):
    return audit_record(consult=consult, user=author, action="viewed")


def plain_queryset(model):
    """A queryset without the model's guard (the manager's update/delete refuse before SQL is sent)."""
    return models.QuerySet(model=model)


def test_a_bulk_update_that_bypasses_the_model_is_refused_by_the_database(consult):
    with pytest.raises(IntegrityError), transaction.atomic():
        plain_queryset(Consult).filter(pk=consult.pk).update(notes="changed behind the model's back")
    assert Consult.objects.get(pk=consult.pk).notes == ""


@pytest.mark.parametrize("model", [Consult, AuditEvent], ids=["consult", "audit"])
def test_raw_sql_update_is_refused(model, consult, event):
    table = TABLES[model]
    pk = consult.pk if model is Consult else event.pk
    column = "notes" if model is Consult else "action"
    message = refused(f"UPDATE {table} SET {column} = %s WHERE id = %s", ["x", pk])
    assert "update refused" in message
    assert "update refused" in refused(f"UPDATE {table} SET {column} = %s", ["x"])


@pytest.mark.parametrize("model", [Consult, AuditEvent], ids=["consult", "audit"])
def test_raw_sql_delete_is_refused(model, consult, event):
    table = TABLES[model]
    stored = model.objects.count()  # the consult; its 'created' and 'viewed' events
    assert "delete refused" in refused(f"DELETE FROM {table}")
    with pytest.raises(IntegrityError), transaction.atomic():
        plain_queryset(model).all().delete()
    assert model.objects.count() == stored


@pytest.mark.parametrize("table", WRITE_ONCE_TABLES)
def test_emptying_a_table_at_once_is_refused(table, consult, event):
    # PostgreSQL's TRUNCATE fires no row trigger: a statement trigger refuses it. SQLite has no TRUNCATE;
    # its unqualified DELETE (the "truncate optimisation") is skipped when the table has triggers.
    postgres = connection.vendor == "postgresql"
    if postgres:  # check the fixtures' deferred foreign keys now: TRUNCATE refuses pending trigger events
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    message = refused(f"TRUNCATE {table} CASCADE" if postgres else f"DELETE FROM {table}")
    assert ("truncate refused" if postgres else "delete refused") in message


def test_the_immutability_triggers_are_installed():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        names = {row[0] for row in cursor.fetchall()}
    expected = {"no_update", "no_delete"} if connection.vendor == "sqlite" else {"immutable", "no_truncate"}
    for table in WRITE_ONCE_TABLES:
        for suffix in expected:
            assert f"{table}_{suffix}" in names


def test_an_audit_event_cannot_be_changed_or_deleted_through_the_model(event):
    event.action = "printed"
    with pytest.raises(AuditAppendOnly, match=MSG_AUDIT_APPEND_ONLY):
        event.save()
    with pytest.raises(AuditAppendOnly):
        event.delete()
    with pytest.raises(AuditAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(action="printed")
    with pytest.raises(AuditAppendOnly):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "viewed"


def test_users_and_teams_with_consults_cannot_be_deleted(author, team, consult):
    with pytest.raises(models.ProtectedError):
        author.delete()
    with pytest.raises(models.ProtectedError):
        team.delete()


def test_new_consults_and_events_are_still_inserted(author, consult):
    saved_consult(author, revision_of=consult)  # with 'created' on it and 'revised' on the original
    assert Consult.objects.count() == 2 and AuditEvent.objects.count() == 3


def test_the_database_error_is_an_integrity_error_on_both_databases(consult):
    # Callers can rely on one exception class whatever the database.
    assert issubclass(IntegrityError, DatabaseError)
    message = refused("DELETE FROM aml_salvage_consult WHERE id = %s", [consult.pk])
    assert "immutable snapshot" in message


def ask_for_the_old_escape_hatch() -> None:
    """What migration 0003 listened to: a session setting (PostgreSQL), a connection function (SQLite)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL aml_salvage.allow_record_deletion = 'on'")
    else:
        connection.ensure_connection()
        connection.connection.create_function("aml_salvage_deletion_allowed", 0, lambda: 1)


@pytest.mark.parametrize("table", TABLES.values())
def test_no_session_setting_or_connection_function_lets_a_delete_through(table, consult, event):
    ask_for_the_old_escape_hatch()
    stored = {t: count_rows(t) for t in TABLES.values()}
    assert "delete refused" in refused(f"DELETE FROM {table}")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        assert "truncate refused" in refused(f"TRUNCATE {table} CASCADE")
    assert {t: count_rows(t) for t in TABLES.values()} == stored


def count_rows(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite's limit; PostgreSQL: tests/postgres/")
def test_on_sqlite_whoever_can_write_the_file_can_drop_the_triggers(consult, event):
    # The limit of a SQLite deployment, stated as a test (README, "Security and audit"): the triggers stop
    # every UPDATE and DELETE through any client, but SQLite has no roles, so any program that can write the
    # file can drop them first. Only file permissions (and backups) protect the records there.
    with pytest.raises(RuntimeError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER aml_salvage_auditevent_no_delete")
        cursor.execute("DELETE FROM aml_salvage_auditevent")
        assert count_rows("aml_salvage_auditevent") == 0
        raise RuntimeError("roll back: the test database keeps its triggers and events")
    assert count_rows("aml_salvage_auditevent") == 2
    assert "delete refused" in refused("DELETE FROM aml_salvage_auditevent")


@pytest.mark.django_db(transaction=True)
def test_tests_empty_the_tables_with_a_flush_of_their_own_and_the_triggers_come_back(author, consult):
    # pytest-django runs `flush` after every transactional test. Django's own is refused by the triggers;
    # the test settings' replacement (tests/dbsupport) sets them aside as the owner and restores them.
    with pytest.raises(CommandError) as refusal:
        call_command(DjangoFlush(), interactive=False, verbosity=0)
    assert isinstance(refusal.value.__cause__, IntegrityError) and "refused" in str(refusal.value.__cause__)
    assert Consult.objects.count() == 1
    call_command("flush", interactive=False, verbosity=0)
    assert count_rows("aml_salvage_consult") == 0 and count_rows("aml_salvage_auditevent") == 0
    test_the_immutability_triggers_are_installed()
