"""Restore a backup made by ``backup_db`` into the configured database. Stop the app servers first.

    python manage.py restore_db /var/backups/aml-salvage/aml-2026-11-21.sqlite3
    python manage.py restore_db /var/backups/aml-salvage/aml-2026-11-21.pgdump
    python manage.py restore_db BACKUP --force     # replace a database that already holds data

The target must be empty (a new SQLite file, a new PostgreSQL database, or one that was only migrated):
a database holding users, consults or audit events is refused unless --force. Afterwards run
``python manage.py migrate`` if the backup came from an older version of AML Salvage.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from .backup_db import pg_env, pg_tool, record_counts

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
REQUIRED_TABLES = ("aml_salvage_consult", "aml_salvage_auditevent", "auth_user", "django_migrations")


class Command(BaseCommand):
    help = "Restore a backup_db file into the configured (empty) database."

    def add_arguments(self, parser):
        parser.add_argument("backup", help="a file written by backup_db")
        parser.add_argument("--force", action="store_true",
                            help="replace the configured database even though it holds data")

    def handle(self, *args, backup: str, force: bool, **options):
        source = Path(backup)
        if not source.is_file():
            raise CommandError(f"{source} is not a file")
        with source.open("rb") as handle:
            head = handle.read(16)
        kind = "sqlite" if head.startswith(SQLITE_MAGIC) else "postgresql" if head.startswith(PGDUMP_MAGIC) else None
        if kind is None:
            raise CommandError(f"{source} is not a backup_db file (neither SQLite nor pg_dump custom format)")
        if kind != connection.vendor:
            raise CommandError(
                f"{source} is a {kind} backup but the configured database is {connection.vendor}: restore it into "
                f"a {kind} database (to move between the two, use dumpdata/loaddata; see README, Deploying)"
            )

        counts = record_counts(connection)
        if any(counts.values()) and not force:
            held = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
            raise CommandError(
                f"the configured database is not empty ({held}): restore into a new database, or pass --force "
                "to replace its contents with the backup"
            )
        has_tables = bool(connection.introspection.table_names())
        if kind == "sqlite":
            self._sqlite(source)
        else:
            self._postgres(source, clean=has_tables)
        connection.close()
        restored = ", ".join(f"{n} {name}" for name, n in record_counts(connection).items())
        self.stdout.write(self.style.SUCCESS(f"Restored {source} ({restored})."))
        self.stdout.write("If the backup is from an older version, run `python manage.py migrate` now.")

    def _sqlite(self, source: Path) -> None:
        backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            status = backup.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {row[0] for row in backup.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            missing = [t for t in REQUIRED_TABLES if t not in tables]
            if status != "ok":
                raise CommandError(f"{source} failed its integrity check: {status}")
            if missing:
                raise CommandError(f"{source} is not an AML Salvage database (no {', '.join(missing)})")
            connection.close()
            target = sqlite3.connect(str(connection.settings_dict["NAME"]), timeout=30)
            try:
                backup.backup(target)  # replaces the target's pages, in one step
                target.execute("PRAGMA journal_mode=WAL")
            finally:
                target.close()
        finally:
            backup.close()

    def _postgres(self, source: Path, *, clean: bool) -> None:
        command = [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                   "--dbname", str(connection.settings_dict["NAME"])]
        if clean:
            command += ["--clean", "--if-exists"]
        connection.close()
        result = subprocess.run([*command, str(source)], env=pg_env(connection.settings_dict),
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise CommandError(f"pg_restore failed (nothing was changed): {result.stderr.strip()}")
