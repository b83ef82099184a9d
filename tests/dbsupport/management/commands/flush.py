"""Django's ``flush``, for the test suite only: it sets the immutability triggers aside while it empties the
tables, then puts them back, in one transaction.

Why this is needed: pytest-django empties the database after every transactional test (``transactional_db``,
``live_server``) through Django's ``TransactionTestCase``, which runs ``call_command("flush")``. Flush deletes
every row (SQLite) or TRUNCATEs every table (PostgreSQL), and the triggers of migration 0004 refuse both, as
they must in production. (Tests on the plain ``db`` fixture roll their transaction back and delete nothing.)

Why it exists only in tests: this app is in the test settings' INSTALLED_APPS and nowhere else; Django lets an
app's command replace a built-in one of the same name, so ``flush`` means this command under the test settings
only. It works because the test database's role owns the tables, which the runtime role of a deployment
never does (tests/postgres/test_runtime_role.py): PostgreSQL ``ALTER TABLE ... DISABLE TRIGGER USER`` needs
the owner; SQLite cannot disable a trigger, so they are dropped and created again from their own SQL.
"""

from __future__ import annotations

from django.core.management.commands.flush import Command as DjangoFlush
from django.db import DEFAULT_DB_ALIAS, connections, transaction


def _user_triggers(connection) -> list[tuple[str, str]]:
    """(trigger name, its SQL) of every trigger (SQLite); (table, '') of every table with triggers that a
    migration wrote (PostgreSQL)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'trigger'")
            return [(name, sql) for _table, name, sql in cursor.fetchall()]
        cursor.execute(
            "SELECT DISTINCT c.relname, '' FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE NOT t.tgisinternal AND n.nspname = current_schema()"
        )
        return list(cursor.fetchall())


class Command(DjangoFlush):
    help = DjangoFlush.help + " (Test settings: sets the immutability triggers aside while it empties.)"

    def handle(self, **options):
        connection = connections[options.get("database", DEFAULT_DB_ALIAS)]
        with transaction.atomic(using=connection.alias):
            triggers = _user_triggers(connection)
            with connection.cursor() as cursor:
                for name, _sql in triggers:
                    if connection.vendor == "sqlite":
                        cursor.execute(f"DROP TRIGGER {connection.ops.quote_name(name)}")
                    else:
                        cursor.execute(f"ALTER TABLE {connection.ops.quote_name(name)} DISABLE TRIGGER USER")
            super().handle(**options)
            with connection.cursor() as cursor:
                for name, sql in triggers:
                    if connection.vendor == "sqlite":
                        cursor.execute(sql)
                    else:
                        cursor.execute(f"ALTER TABLE {connection.ops.quote_name(name)} ENABLE TRIGGER USER")
