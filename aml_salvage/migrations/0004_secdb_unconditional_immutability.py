"""Saved consults and audit events refuse UPDATE, DELETE and TRUNCATE unconditionally: no escape hatch.

Migration 0003 let DELETE and TRUNCATE through when the connection said so (the PostgreSQL setting
``aml_salvage.allow_record_deletion``, which any session can set, or the SQLite function
``aml_salvage_deletion_allowed()``), so that test teardown could empty the tables. A role allowed to DELETE
could set it too. This migration replaces the PostgreSQL trigger function and the SQLite DELETE triggers
with ones that ask nothing and refuse everything.

Tests empty their tables with their own mechanism, which exists only under the test settings: the test-only
app ``tests.dbsupport`` replaces the ``flush`` command and, as the owner of the tables, sets the triggers
aside while it empties them (see tests/dbsupport/management/commands/flush.py).

What the triggers cannot stop: the owner of the tables (PostgreSQL) can disable or drop them, and anyone who
can write the SQLite file can drop them. Hence the two-role deployment on PostgreSQL: the app connects as a
role that owns nothing and holds only the privileges ``manage.py grant_runtime_role`` gives it (README,
"Security and audit").

Caution for later migrations: on SQLite, altering these tables rebuilds them and drops their triggers. Such a
migration must run ``install`` from this module again (tests/web/test_security_records.py fails if a
trigger is missing).
"""

from importlib import import_module

from django.db import migrations

previous = import_module("aml_salvage.migrations.0003_record_immutability_triggers")
TABLES = previous.TABLES

SQLITE_NO_DELETE = """
CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, '{message} (delete refused)'); END
"""
SQLITE_NO_UPDATE = """
CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, '{message} (update refused)'); END
"""

# The row triggers (UPDATE, DELETE) and the statement trigger (TRUNCATE) of migration 0003 call this function
# by its identity, so replacing its body is enough. Only its owner can replace it.
POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION aml_salvage_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% (% refused)', TG_ARGV[0], lower(TG_OP) USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
"""


def install(apps, schema_editor) -> None:
    """Unconditional triggers on both tables (idempotent: also repairs triggers dropped by a table rebuild)."""
    install_on(schema_editor, TABLES)


def install_on(schema_editor, tables: dict[str, str]) -> None:
    """Unconditional triggers on ``tables`` (table name: the message its refusals carry)."""
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for table, message in tables.items():
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
            schema_editor.execute(SQLITE_NO_UPDATE.format(table=table, message=message).strip())
            schema_editor.execute(SQLITE_NO_DELETE.format(table=table, message=message).strip())
    elif vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION, params=None)  # no placeholders: plpgsql uses %
        for table, message in tables.items():
            for statement in previous.POSTGRES_DROP.format(table=table).strip().splitlines():
                schema_editor.execute(statement)
            for statement in previous.POSTGRES.format(table=table, message=message).strip().split(";\n"):
                if statement.strip():
                    schema_editor.execute(statement.strip().rstrip(";"))
    else:
        raise NotImplementedError(f"no immutability triggers for the {vendor} database")


def restore_0003(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        # Only the function's body changed: restore 0003's in place (other tables' triggers, such as those of
        # 0004_store's knowledge content, may still call it, so it is never dropped here).
        schema_editor.execute(previous.POSTGRES_FUNCTION, params=None)
        return
    previous.uninstall(apps, schema_editor)
    previous.install(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("aml_salvage", "0003_record_immutability_triggers")]

    operations = [migrations.RunPython(install, restore_0003)]
