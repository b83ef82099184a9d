"""Give the app's runtime PostgreSQL role exactly the privileges the app needs, table by table.

    python manage.py grant_runtime_role                   # the role of DATABASE_URL, through the owner's connection
    python manage.py grant_runtime_role --role aml_app --database owner

Run by the owner of the schema (MIGRATION_DATABASE_URL, the ``owner`` connection when it is configured)
after every ``migrate``: it revokes everything the role held on the schema's tables and grants again, so it
is idempotent and covers tables added by new migrations. The runtime role gets SELECT and INSERT on every
table the app uses, UPDATE and DELETE only on the tables whose rows the app changes in normal use (below),
never TRUNCATE, never ownership, no DDL. Saved consults and audit events are read and appended only; their
triggers would refuse a change anyway, and only an owner could disable them.

The role itself is created by the database administrator (``CREATE ROLE aml_app LOGIN PASSWORD '...'``;
README, "Security and audit"). The command refuses a role that is a superuser, owns the tables, or is a
member of their owner: such a role could disable the triggers, so the grants would mean nothing.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections, transaction

READ_APPEND = ("SELECT", "INSERT")
READ_WRITE = ("SELECT", "INSERT", "UPDATE", "DELETE")

# The app's own tables, each classified on purpose (tests/web/test_runtime_grants.py fails for a new model
# that is not listed here): append-only records, or what the app changes.
AML_SALVAGE_TABLES: dict[str, tuple[str, ...]] = {
    "aml_salvage_consult": READ_APPEND,  # an immutable snapshot; a correction is a new row
    "aml_salvage_auditevent": READ_APPEND,  # the append-only trail
    "aml_salvage_knowledgecontent": READ_APPEND,  # knowledge-base content of saved consults, once per version
}
# Tables of other apps whose rows the app updates or deletes in normal use.
CHANGED_TABLES: dict[str, str] = {
    "auth_user": "last sign-in time, password changes, deactivation",
    "auth_user_groups": "care-team membership",
    "auth_user_user_permissions": "staff rights",
    "auth_group": "care teams renamed",
    "auth_group_permissions": "rights of a group",
}
# Apps whose every table the app updates and deletes in (when installed).
CHANGED_APPS: dict[str, str] = {
    "sessions": "sign-out and expiry delete sessions; activity renews them",
    "axes": "failed sign-ins are counted, then expire",
    "otp_totp": "a device records the last code used",
    "otp_static": "recovery codes are used up",
    "otp_hotp": "a device records its counter",
    "otp_email": "a device records the last code sent",
    "two_factor": "phone devices",
    "health_check_db": "the database health check writes and removes a probe row",
}
READ_ONLY_TABLES = {"django_migrations": "read to tell whether migrations are pending"}


def table_privileges() -> dict[str, tuple[tuple[str, ...], str]]:
    """Every table of an installed app (and the database caches) → (privileges, why)."""
    plan: dict[str, tuple[tuple[str, ...], str]] = {}
    for model in apps.get_models(include_auto_created=True):
        opts = model._meta
        if not opts.managed and not opts.auto_created:
            continue
        table = opts.db_table
        if opts.app_label == "aml_salvage":
            if table not in AML_SALVAGE_TABLES:
                raise CommandError(f"{table} is not classified in grant_runtime_role.AML_SALVAGE_TABLES: decide "
                                   "whether the app only reads and appends to it, or also changes its rows")
            plan[table] = (AML_SALVAGE_TABLES[table], "append-only record")
        elif table in CHANGED_TABLES:
            plan[table] = (READ_WRITE, CHANGED_TABLES[table])
        elif opts.app_label in CHANGED_APPS:
            plan[table] = (READ_WRITE, CHANGED_APPS[opts.app_label])
        else:
            plan[table] = (READ_APPEND, "read and appended to")
    for cache in settings.CACHES.values():
        if cache["BACKEND"] == "django.core.cache.backends.db.DatabaseCache":
            plan[cache["LOCATION"]] = (READ_WRITE, "shared cache: entries replaced and culled")
    for table, why in READ_ONLY_TABLES.items():
        plan[table] = (("SELECT",), why)
    return plan


class Command(BaseCommand):
    help = "Grant the app's runtime PostgreSQL role the per-table privileges it needs (run as the owner)."

    def add_arguments(self, parser):
        parser.add_argument("--role", help="the runtime role (default: the user of the 'default' connection)")
        parser.add_argument("--database", default=None,
                            help="connection of the schema's owner (default: 'owner' if configured, else 'default')")

    def handle(self, *args, role: str | None, database: str | None, **options):
        alias = database or ("owner" if "owner" in connections.settings else DEFAULT_DB_ALIAS)
        connection = connections[alias]
        if connection.vendor != "postgresql":
            raise CommandError("grant_runtime_role is for PostgreSQL. SQLite has no roles: whoever can write the "
                               "database file can change it (README, \"Security and audit\").")
        role = role or connections[DEFAULT_DB_ALIAS].settings_dict.get("USER")
        if not role:
            raise CommandError("--role: name the runtime role (the user of DATABASE_URL)")
        existing = set(connection.introspection.table_names())
        plan = {table: grant for table, grant in table_privileges().items() if table in existing}
        quote = connection.ops.quote_name
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            self._refuse_unsafe_role(cursor, role, list(plan))
            cursor.execute("SELECT current_database(), current_schema()")
            database_name, schema = cursor.fetchone()
            cursor.execute(f"GRANT CONNECT ON DATABASE {quote(database_name)} TO {quote(role)}")
            cursor.execute(f"GRANT USAGE ON SCHEMA {quote(schema)} TO {quote(role)}")
            cursor.execute(f"REVOKE CREATE ON SCHEMA {quote(schema)} FROM {quote(role)}")
            cursor.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {quote(schema)} FROM {quote(role)}")
            cursor.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {quote(schema)} FROM {quote(role)}")
            for table, (privileges, _why) in sorted(plan.items()):
                cursor.execute(f"GRANT {', '.join(privileges)} ON TABLE {quote(table)} TO {quote(role)}")
            # New rows take their id from the table's identity sequence.
            cursor.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {quote(schema)} TO {quote(role)}")
            cursor.execute("SELECT has_schema_privilege(%s, %s, 'CREATE')", [role, schema])
            can_create = cursor.fetchone()[0]
        for table, (privileges, why) in sorted(plan.items()):
            self.stdout.write(f"  {table}: {', '.join(privileges)} ({why})")
        unknown = sorted(existing - set(plan))
        if unknown:
            self.stdout.write(self.style.WARNING(
                f"No privileges on tables the app does not know: {', '.join(unknown)}"))
        if can_create:
            self.stdout.write(self.style.WARNING(
                f"{role} can still create objects in schema {schema} through PUBLIC: as the owner, run "
                f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC"))
        self.stdout.write(self.style.SUCCESS(
            f"{role}: {len(plan)} tables granted on {database_name}.{schema}; no TRUNCATE, no DDL, owns nothing."))

    @staticmethod
    def _refuse_unsafe_role(cursor, role: str, tables: list[str]) -> None:
        cursor.execute("SELECT rolsuper, current_user = rolname FROM pg_roles WHERE rolname = %s", [role])
        row = cursor.fetchone()
        if row is None:
            raise CommandError(f"--role: there is no role {role!r}; the database administrator creates it first: "
                               f"CREATE ROLE {role} LOGIN PASSWORD '...'")
        superuser, is_self = row
        if is_self:
            raise CommandError(f"--role: {role!r} is the role running this command, the owner: the app must "
                               "connect as another role (DATABASE_URL) than the one that runs migrations "
                               "(MIGRATION_DATABASE_URL)")
        if superuser:
            raise CommandError(f"--role: {role!r} is a superuser: it could disable the triggers; use a plain role")
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relname = ANY(%s::name[]) "
            "AND pg_has_role(%s::name, c.relowner, 'MEMBER')",
            [tables, role],
        )
        owned = [name for (name,) in cursor.fetchall()]
        if owned:
            raise CommandError(f"--role: {role!r} owns (or is a member of the owner of) {', '.join(owned[:3])}...: "
                               "an owner can disable the triggers. The runtime role must own nothing.")
