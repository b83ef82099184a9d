"""Concurrent saves never fail: several processes (as gunicorn workers would be) save consults with their
audit events into one database at the same moment, with the production settings. On SQLite this is what
WAL, the busy timeout and BEGIN IMMEDIATE are for: zero "database is locked", zero lost consults."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.integration.test_backup_restore import ROOT, fresh_database, production_env, python

pytestmark = pytest.mark.uses_database  # subprocesses on a fresh database of this run's kind

WORKERS = 8
SAVES_PER_WORKER = 25

SETUP = f"""
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import Group, User
    team = Group.objects.create(name="Leukemia A")
    for i in range({WORKERS}):
        User.objects.create_user(f"clinician{{i}}", password="concurrency-test-pw").groups.add(team)
"""

# Each worker gets ready (Django, knowledge base, one evaluation), says so, and waits for "go" on stdin so
# that all of them write at the same moment.
WORKER = """
    import json, sys, django
    django.setup()
    from django.contrib.auth.models import User
    from aml_salvage import services
    from aml_salvage.audit import audit_record
    from aml_salvage.consults import consult_create, consult_search
    from tests.factories import YOUNG_FIT

    user = User.objects.get(username=sys.argv[1])
    workup = services.workup_parse(data=YOUNG_FIT)
    result = services.consult_evaluate(workup=workup)
    chosen = next(o.id for o in result.options if o.tier == "preferred")
    print("ready", flush=True)
    sys.stdin.readline()
    saved, errors = [], []
    for i in range(int(sys.argv[2])):
        try:
            # One transaction: read the team, write the consult and its 'created' event.
            consult = consult_create(author=user, workup=workup, result=result, chosen_option_id=chosen,
                                     patient_identifier=f"{sys.argv[1]}-{i}")
            audit_record(consult=consult, user=user, action="viewed")  # a lone write, outside a transaction
            list(consult_search(user=user).values_list("id", flat=True)[:25])
            saved.append(consult.pk)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    print(json.dumps({"saved": saved, "errors": errors}), flush=True)
"""


def test_concurrent_saves_all_succeed_and_none_is_lost(tmp_path):
    with fresh_database(tmp_path, "concurrent") as url:
        python(url, SETUP)
        env = production_env(url)
        workers = [
            subprocess.Popen([sys.executable, "-c", textwrap.dedent(WORKER), f"clinician{i}", str(SAVES_PER_WORKER)],
                             env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
            for i in range(WORKERS)
        ]
        try:
            for worker in workers:
                assert worker.stdout.readline().strip() == "ready", worker.stderr.read()
            for worker in workers:
                worker.stdin.write("go\n")
                worker.stdin.flush()
            reports = []
            for worker in workers:
                out, err = worker.communicate(timeout=240)
                assert worker.returncode == 0, err
                reports.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()

        errors = [e for r in reports for e in r["errors"]]
        saved = sorted(pk for r in reports for pk in r["saved"])
        assert errors == [], f"{len(errors)} failed saves, e.g. {errors[:3]}"
        assert len(saved) == WORKERS * SAVES_PER_WORKER
        counted = python(url, """
            import django
            django.setup()
            from aml_salvage.models import AuditEvent, Consult
            print(sorted(Consult.objects.values_list("id", flat=True)), AuditEvent.objects.count())
        """).stdout
        ids, events = counted.rsplit(" ", 1)
        assert json.loads(ids) == saved, "every successful save is in the database, and nothing else"
        assert int(events) == 2 * len(saved)
