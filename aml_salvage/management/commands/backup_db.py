"""Back up the whole database to one file, while the app keeps running.

    python manage.py backup_db /var/backups/aml-salvage/aml-2026-11-21.sqlite3   # SQLite: online backup API
    python manage.py backup_db /var/backups/aml-salvage/aml-2026-11-21.pgdump    # PostgreSQL: pg_dump -Fc

SQLite: a consistent copy made with SQLite's online backup API (safe with WAL and concurrent saves), then
checked with PRAGMA integrity_check. PostgreSQL: ``pg_dump --format=custom`` of the configured database
(pg_dump from PATH or /usr/lib/postgresql/*/bin; its major version must be at least the server's). Restore
with ``restore_db``. The file holds patient data: keep it where the database itself is allowed to be.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection


class Command(BaseCommand):
    help = "Back up the database to one file (SQLite online backup, or pg_dump custom format for PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("out", help="the backup file to write (must not exist)")

    def handle(self, *args, out: str, **options):
        target = Path(out)
        if target.exists():
            raise CommandError(f"{target} already exists: choose a new file name (backups are never overwritten)")
        if not target.parent.is_dir():
            raise CommandError(f"{target.parent} is not a directory")
        counts = record_counts(connection)
        partial = target.with_name(target.name + ".partial")
        try:
            if connection.vendor == "sqlite":
                self._sqlite(partial)
            elif connection.vendor == "postgresql":
                self._postgres(partial)
            else:
                raise CommandError(f"backups of a {connection.vendor} database are not supported")
            os.chmod(partial, 0o600)
            partial.rename(target)
        finally:
            partial.unlink(missing_ok=True)
        summary = ", ".join(f"{n} {name}" for name, n in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Backed up {connection.vendor} database to {target} ({summary})."))

    def _sqlite(self, partial: Path) -> None:
        source_name = str(connection.settings_dict["NAME"])
        if source_name == ":memory:" or source_name.startswith("file:"):
            raise CommandError("the configured SQLite database is in memory: nothing to back up")
        source = sqlite3.connect(source_name, timeout=30)
        destination = sqlite3.connect(partial)
        try:
            source.backup(destination)
            destination.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            status = destination.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            destination.close()
            source.close()
        if status != "ok":
            raise CommandError(f"the backup copy failed its integrity check: {status}")

    def _postgres(self, partial: Path) -> None:
        pg_dump = pg_tool("pg_dump")
        result = subprocess.run(
            [pg_dump, "--format=custom", "--no-owner", "--no-privileges", "--file", str(partial)],
            env=pg_env(connection.settings_dict), capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise CommandError(f"pg_dump failed: {result.stderr.strip()}")


# --- shared with restore_db ---------------------------------------------------------------------------------

COUNTED_TABLES = {"users": "auth_user", "consults": "aml_salvage_consult", "audit events": "aml_salvage_auditevent"}


def record_counts(conn) -> dict[str, int]:
    """Rows of the tables that matter, by name; a missing table counts as 0 (a database never migrated)."""
    existing = set(conn.introspection.table_names())
    counts = {}
    with conn.cursor() as cursor:
        for name, table in COUNTED_TABLES.items():
            if table in existing:
                cursor.execute(f"SELECT COUNT(*) FROM {conn.ops.quote_name(table)}")
                counts[name] = cursor.fetchone()[0]
            else:
                counts[name] = 0
    return counts


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore: from PATH, else the newest /usr/lib/postgresql/*/bin (Debian's layout)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    if not candidates:
        raise CommandError(f"{name} not found: install PostgreSQL's client tools (apt-get install postgresql-client)")
    return str(candidates[-1])


def pg_env(settings_dict: dict) -> dict[str, str]:
    """libpq environment for the configured database: the password never appears on a command line."""
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD"),
                     ("NAME", "PGDATABASE")):
        value = settings_dict.get(key)
        if value:
            env[var] = str(value)
    sslmode = settings_dict.get("OPTIONS", {}).get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = sslmode
    return env
