"""Backup and restore, end to end with the production settings: fill a database with users, consults
(with a revision) and audit events, `backup_db` it while it is live, `restore_db` into a fresh database,
and compare every row. Runs on the database of the test run: SQLite (online backup API), then
PostgreSQL (pg_dump / pg_restore) in `make test-postgres`."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

pytestmark = pytest.mark.uses_database  # subprocesses on a fresh database of this run's kind

ROOT = Path(__file__).resolve().parent.parent.parent
VENDOR = connection.vendor  # the database this run of the suite is for


def production_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update({"DJANGO_SETTINGS_MODULE": "aml_salvage.settings.production", "DATABASE_URL": database_url,
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(64), "DJANGO_ALLOWED_HOSTS": "127.0.0.1"})
    return env


def run(args: list[str], database_url: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=production_env(database_url), cwd=ROOT, capture_output=True, text=True,
                          timeout=300, **kwargs)


def manage(database_url: str, *args: str) -> subprocess.CompletedProcess:
    return run([sys.executable, "manage.py", *args], database_url)


def python(database_url: str, code: str) -> subprocess.CompletedProcess:
    result = run([sys.executable, "-c", textwrap.dedent(code)], database_url)
    assert result.returncode == 0, result.stderr
    return result


@contextmanager
def fresh_database(tmp_path: Path, label: str) -> Iterator[str]:
    """DATABASE_URL of a new, empty database of this run's kind; dropped afterwards (PostgreSQL)."""
    if VENDOR == "sqlite":
        yield f"sqlite:///{tmp_path / (label + '.sqlite3')}"
        return
    import psycopg

    settings = connection.settings_dict
    host, port, user = settings["HOST"], settings["PORT"], settings["USER"]
    name = f"aml_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(host=host, port=port, user=user, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://{user}@{host}:{port}/{name}"
    finally:
        with psycopg.connect(host=host, port=port, user=user, dbname="postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


POPULATE = """
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import Group, User
    from aml_salvage import services
    from aml_salvage.audit import audit_record
    from aml_salvage.consults import consult_create
    from tests.factories import YOUNG_FIT, build

    team = Group.objects.create(name="Leukemia A")
    users = []
    for name in ("alice", "bob"):
        user = User.objects.create_user(name, password="backup-test-password-1")
        user.groups.add(team)
        users.append(user)
    previous = None
    for i, changes in enumerate([{}, {"genetics.flt3_itd": True}, {"patient.age_years": 72, "genetics.idh1": True}]):
        workup = services.workup_parse(data=build(YOUNG_FIT, **changes))
        result = services.consult_evaluate(workup=workup)
        chosen = next(o for o in result.options if o.tier == "preferred")
        author = users[i % 2]
        # Records 'created', and 'revised' on the previous consult.
        consult = consult_create(author=author, workup=workup, result=result, chosen_option_id=chosen.id,
                                 patient_identifier=f"MRN-{i}", notes="é ü 中文 ☤", revision_of=previous)
        audit_record(consult=consult, user=users[0], action="viewed")
        previous = consult
    audit_record(consult=previous, user=users[1], action="printed")
"""

COMPARED = ["auth.user", "auth.group", "aml_salvage.consult", "aml_salvage.auditevent", "aml_salvage.knowledgecontent"]


def rows(database_url: str) -> dict[str, list[dict]]:
    result = manage(database_url, "dumpdata", *COMPARED, "--indent", "0")
    assert result.returncode == 0, result.stderr
    by_model: dict[str, list[dict]] = {}
    for row in json.loads(result.stdout):
        by_model.setdefault(row["model"], []).append(row)
    return by_model


def test_backup_and_restore_round_trip(tmp_path):
    suffix = "sqlite3" if VENDOR == "sqlite" else "pgdump"
    backup = tmp_path / f"aml-salvage.{suffix}"
    with fresh_database(tmp_path, "source") as source, fresh_database(tmp_path, "restored") as target:
        python(source, POPULATE)
        result = manage(source, "backup_db", str(backup))
        assert result.returncode == 0, result.stderr
        assert "3 consults" in result.stdout and "9 audit events" in result.stdout
        assert oct(backup.stat().st_mode & 0o777) == "0o600", "the backup holds patient data: owner only"

        result = manage(target, "restore_db", str(backup))
        assert result.returncode == 0, result.stderr
        assert "Restored" in result.stdout and "3 consults" in result.stdout

        original, restored = rows(source), rows(target)
        assert len(original["aml_salvage.consult"]) == 3 and len(original["aml_salvage.auditevent"]) == 9
        assert restored == original, "every user, team, consult (workup, result, kb_version) and audit event"
        consult = restored["aml_salvage.consult"][0]["fields"]
        assert consult["kb_version"] and consult["result_zstd"] and consult["notes"] == "é ü 中文 ☤"
        # The result is compressed against the knowledge content, which the backup carries too.
        assert [row["pk"] for row in restored["aml_salvage.knowledgecontent"]] == [consult["kb_content"]]
        read_back = python(target, """
            import django
            django.setup()
            from aml_salvage.models import Consult
            print(len(Consult.objects.order_by("pk").first().result["options"]))
        """)
        assert int(read_back.stdout) > 0

        # The restored database is a working one: migrations recorded, immutability triggers in place.
        assert "No planned migration operations" in manage(target, "migrate", "--plan").stdout
        refused = python(target, """
            import django
            django.setup()
            from django.db import IntegrityError, connection
            try:
                with connection.cursor() as cursor:
                    cursor.execute("UPDATE aml_salvage_consult SET notes = 'changed'")
                print("updated")
            except IntegrityError:
                print("refused")
        """)
        assert refused.stdout.strip() == "refused"

        # A database that holds data is not overwritten unless asked.
        again = manage(target, "restore_db", str(backup))
        assert again.returncode != 0 and "is not empty (2 users, 3 consults, 9 audit events)" in again.stderr
        forced = manage(target, "restore_db", str(backup), "--force")
        assert forced.returncode == 0, forced.stderr
        assert rows(target) == original

        # A backup file is never overwritten.
        overwrite = manage(source, "backup_db", str(backup))
        assert overwrite.returncode != 0 and "already exists" in overwrite.stderr


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database")
    with fresh_database(tmp_path, "target") as target:
        result = manage(target, "restore_db", str(junk))
    assert result.returncode != 0 and "is not a backup_db file" in result.stderr


def test_restore_refuses_a_backup_of_the_other_database_kind(tmp_path):
    other = tmp_path / "other"
    other.write_bytes(b"PGDMP\x01\x0e" if VENDOR == "sqlite" else b"SQLite format 3\x00" + b"\x00" * 100)
    with fresh_database(tmp_path, "target") as target:
        result = manage(target, "restore_db", str(other))
    assert result.returncode != 0 and f"the configured database is {VENDOR}" in result.stderr
