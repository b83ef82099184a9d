"""Database-level immutability: saved consults and audit events refuse UPDATE and DELETE from any client.

SQLite: BEFORE UPDATE / BEFORE DELETE triggers that RAISE(ABORT). PostgreSQL: one plpgsql function behind
row triggers (UPDATE, DELETE) and a statement trigger (TRUNCATE). Both raise an integrity error.

Deletion (never update) is let through only when the connection says so: the SQLite function
``aml_salvage_deletion_allowed()`` (registered by aml_salvage.models on each connection) or the PostgreSQL
setting ``aml_salvage.allow_record_deletion = 'on'``. Only the test settings turn it on, so that test
teardown can empty the tables; another SQLite client has no such function and is refused too.

Caution for later migrations: on SQLite, altering these tables rebuilds them and drops their triggers.
Such a migration must run ``install`` from this module again (tests/web/test_security_records.py fails
if a trigger is missing).
"""

from django.db import migrations

TABLES = {
    "aml_salvage_consult": "a saved consult is an immutable snapshot: save a revision instead",
    "aml_salvage_auditevent": "the audit trail is append-only",
}

SQLITE = """
CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, '{message} (update refused)'); END;
CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} WHEN NOT aml_salvage_deletion_allowed()
BEGIN SELECT RAISE(ABORT, '{message} (delete refused)'); END;
"""
SQLITE_DROP = """
DROP TRIGGER IF EXISTS {table}_no_update;
DROP TRIGGER IF EXISTS {table}_no_delete;
"""

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION aml_salvage_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'TRUNCATE')
     AND coalesce(current_setting('aml_salvage.allow_record_deletion', true), '') = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '% (% refused)', TG_ARGV[0], lower(TG_OP) USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
"""
POSTGRES = """
CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table}
  FOR EACH ROW EXECUTE FUNCTION aml_salvage_refuse_change('{message}');
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
  FOR EACH STATEMENT EXECUTE FUNCTION aml_salvage_refuse_change('{message}');
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS {table}_immutable ON {table};
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
"""


def install(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for table, message in TABLES.items():
            for statement in SQLITE.format(table=table, message=message).strip().split("END;"):
                if statement.strip():
                    schema_editor.execute(statement.strip() + " END;")
    elif vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION, params=None)  # no placeholders: plpgsql uses %
        for table, message in TABLES.items():
            for statement in POSTGRES.format(table=table, message=message).strip().split(";\n"):
                if statement.strip():
                    schema_editor.execute(statement.strip().rstrip(";"))
    else:
        raise NotImplementedError(f"no immutability triggers for the {vendor} database")


def uninstall(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    drop = SQLITE_DROP if vendor == "sqlite" else POSTGRES_DROP
    for table in TABLES:
        for statement in drop.format(table=table).strip().splitlines():
            schema_editor.execute(statement)
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS aml_salvage_refuse_change();")


class Migration(migrations.Migration):
    dependencies = [("aml_salvage", "0002_auditevent")]

    operations = [migrations.RunPython(install, uninstall)]
