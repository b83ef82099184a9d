"""`make loadtest`: simulated clinicians (locust, bench/locustfile.py) against gunicorn with production settings,
on loopback only, bounded in clinicians and time. Not part of `make test`.

    .venv/bin/python bench/loadtest.py [--database sqlite] [--users 50,200] [--duration 60] [--workers 4]
        [--ramp 50,100,150,200,300,400] [--step 30]
    tests/postgres/with_postgres.sh .venv/bin/python bench/loadtest.py --database postgresql   # a throwaway server

For the database: migrate a new one (SQLite: a file in a temporary directory; PostgreSQL: the throwaway server
whose AML_SALVAGE_PG_* with_postgres.sh exports), create one clinician account per simulated clinician in one
care team, each signed in once (a session), pre-generate the typed workups (single-field edits of the worked
cases, each with the option a clinician would choose), start gunicorn (production settings, --workers, plain
HTTP on 127.0.0.1). Then one locust run per --users count, --duration seconds each, and the step ramp (--ramp
clinicians, --step seconds each; --ramp "" to skip it). For each run: requests, errors (locust's failures: any
answer a browser would not get), consults acknowledged (the save's redirect) against consults in the database
(lost = acknowledged and missing, or stored and never acknowledged), p50/p95 per action. For the ramp: the
live update's p95 in each step (its first 5 s left out: clinicians still arriving) and the first count at
which it passes 3× its 50-clinician figure (the ramp's own 50-clinician step, or else the fixed run's).

Writes bench/loadtest_results.json (git-ignored; the runs of the other database are kept), which `make bench`
summarises. Exit status 1 on any error or lost consult.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HOST = "127.0.0.1"  # loopback only, always
RESULTS = ROOT / "bench" / "loadtest_results.json"
ACTIONS = ("typing", "saving", "listing", "printing")
RAMP_SETTLE_S = 5


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--users", default="50,200", help="clinicians of each fixed run (default 50,200)")
    parser.add_argument("--duration", type=float, default=60, help="seconds per fixed run (default 60)")
    parser.add_argument("--ramp", default="50,100,150,200,300,400", help="clinicians of each ramp step ('' skips)")
    parser.add_argument("--step", type=float, default=30, help="seconds per ramp step (default 30)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--think", default="1,3", help="pause between a clinician's actions, min,max s (default 1,3)")
    parser.add_argument("--workups", type=int, default=3000, help="pre-generated typed workups (default 3,000)")
    return parser.parse_args()


def database_url(kind: str, tmp: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'load.sqlite3'}"
    try:
        host, port = os.environ["AML_SALVAGE_PG_HOST"], os.environ["AML_SALVAGE_PG_PORT"]
        name, user = os.environ["AML_SALVAGE_PG_NAME"], os.environ["AML_SALVAGE_PG_USER"]
    except KeyError:
        raise SystemExit("PostgreSQL: run under tests/postgres/with_postgres.sh (a throwaway server)") from None
    if host not in ("127.0.0.1", "localhost"):
        raise SystemExit("loopback only")
    return f"postgres://{user}@{host}:{port}/{name}"


def server_env(url: str, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "aml_salvage.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback: this load test only
        "DATABASE_URL": url,
        "DJANGO_STATIC_ROOT": str(tmp / "static"),
        "PYTHONPATH": str(ROOT),
    })
    return env


_PREPARE = r"""
import json, sys
import django
django.setup()
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from aml_salvage import services
from aml_salvage.forms import WorkupForm
from django.http import QueryDict
from bench.workloads import typing_edits

users, workups, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
call_command("collectstatic", interactive=False, verbosity=0)
call_command("migrate", verbosity=0)
team = Group.objects.create(name="Leukemia load test")
hashed = make_password(password)  # one real (slow) hash, shared: creating hundreds would take minutes
made = User.objects.bulk_create([User(username=f"clinician{i:03d}", password=hashed) for i in range(users)])
team.user_set.add(*made)
# Each clinician signed in once before the run (a session as the sign-in page makes it), so that the run
# measures their work, not hundreds of password hashes at the start.
from django.conf import settings
from django.test import Client
sessions = []
# Production asks clinicians for a second factor: each session has passed it (django-otp's session key).
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
for user in made:
    client = Client()
    client.force_login(user, backend=settings.AUTHENTICATION_BACKENDS[-1])
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.create(user=user, name="authenticator",
                                                               confirmed=True).persistent_id
    session.save()
    sessions.append(client.cookies[settings.SESSION_COOKIE_NAME].value)
bodies = []
for i, form in enumerate(typing_edits(workups)):
    query = QueryDict(mutable=True)
    for key, value in form.items():
        query.setlist(key, value if isinstance(value, list) else [value])
    result = services.consult_evaluate(workup=WorkupForm(query).parse_workup())
    chosen = sorted(result.options, key=lambda o: o.tier != "preferred")[0]
    save = {"chosen_option_id": chosen.id, "patient_identifier": f"LT-{i}"}
    if chosen.tier != "preferred":
        save["override_reason"] = "Load test: no preferred option for this workup."
    bodies.append({"form": form, "save": save})
print(json.dumps({"usernames": [u.username for u in made], "sessions": sessions, "bodies": bodies}))
"""

_COUNT = r"""
import django
django.setup()
from aml_salvage.models import Consult
print(Consult.objects.count())
"""


def start_gunicorn(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "aml_salvage.wsgi", "--workers", str(workers),
         "--bind", f"{HOST}:{port}", "--timeout", "120", "--error-logfile", str(log)],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {process.returncode}:\n{log.read_text()}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/accounts/login/")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit("gunicorn did not answer within 120 s")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def locust(env: dict, port: int, tmp: Path, name: str, *, users: int = 0, duration: float = 0,
           ramp: str = "", step: float = 0) -> dict:
    samples = tmp / f"{name}.samples.json"
    run_env = {**env, "LOAD_SAMPLES": str(samples), "LOAD_RAMP": ramp, "LOAD_STEP_S": str(step)}
    cmd = [str(Path(sys.executable).parent / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
           "--host", f"http://{HOST}:{port}", "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "30"]
    if not ramp:
        cmd += ["-u", str(users), "-r", str(max(10, users // 5)), "--run-time", f"{duration:g}s"]
    limit = (duration if not ramp else step * len(ramp.split(","))) + 180
    out = subprocess.run(cmd, cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=limit)
    if not samples.exists():
        raise SystemExit(f"locust wrote no samples (exit {out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(samples.read_text())


def summarise(data: dict, started: float, ended: float) -> dict:
    by_action: dict[str, list[float]] = {}
    failures = 0
    for name, _start, ms, ok in data["samples"]:
        by_action.setdefault(name, []).append(ms)
        failures += not ok
    return {
        "requests": len(data["samples"]), "requests_per_s": round(len(data["samples"]) / (ended - started), 1),
        "errors": failures,
        "p50_ms": {a: round(statistics.median(v)) for a, v in by_action.items() if a in ACTIONS},
        "p95_ms": {a: round(pct(v, 95)) for a, v in by_action.items() if a in ACTIONS},
        "counts": {a: len(v) for a, v in by_action.items()},
    }


def main() -> int:
    args = parse_args()
    think_min, think_max = (float(x) for x in args.think.split(","))
    fixed = [int(n) for n in args.users.split(",") if n.strip()]
    ramp = [int(n) for n in args.ramp.split(",") if n.strip()]
    tmp = Path(tempfile.mkdtemp(prefix="aml-salvage-load-"))
    env = server_env(database_url(args.database, tmp), tmp)
    print(f"loadtest ({args.database}): database, {max(fixed + ramp)} clinicians, {args.workups} typed workups ...",
          file=sys.stderr, flush=True)
    prepared = subprocess.run([sys.executable, "-c", _PREPARE, str(max(fixed + ramp)), str(args.workups),
                               "load-" + secrets.token_urlsafe(12)], cwd=ROOT, env=env, capture_output=True, text=True)
    if prepared.returncode != 0:
        raise SystemExit(prepared.stderr[-3000:])
    data_file = tmp / "load-data.json"
    data_file.write_text(prepared.stdout.strip().splitlines()[-1])
    env.update(LOAD_DATA=str(data_file), LOAD_THINK_MIN=str(think_min), LOAD_THINK_MAX=str(think_max))

    def consults_in_db() -> int:
        return int(subprocess.run([sys.executable, "-c", _COUNT], cwd=ROOT, env=env, capture_output=True,
                                  text=True, check=True).stdout.strip().splitlines()[-1])

    port = free_port()
    server = start_gunicorn(env, port, args.workers, tmp / "gunicorn.log")
    runs, ramp_out = [], None
    try:
        for users in fixed:
            print(f"loadtest: {users} clinicians, {args.duration:g} s ...", file=sys.stderr, flush=True)
            before = consults_in_db()
            started = time.time()
            data = locust(env, port, tmp, f"u{users}", users=users, duration=args.duration)
            row = {"database": args.database, "users": users, "duration_s": args.duration,
                   **summarise(data, started, time.time())}
            stored = consults_in_db() - before
            row.update(acknowledged_saves=len(data["acknowledged"]), db_consults=stored,
                       lost_consults=abs(stored - len(set(data["acknowledged"]))))
            runs.append(row)
        if ramp:
            print(f"loadtest: step ramp {ramp}, {args.step:g} s each ...", file=sys.stderr, flush=True)
            data = locust(env, port, tmp, "ramp", ramp=",".join(map(str, ramp)), step=args.step)
            first = min(s[1] for s in data["samples"])
            steps = []
            for i, users in enumerate(ramp):
                lo, hi = first + i * args.step + RAMP_SETTLE_S, first + (i + 1) * args.step
                typed = [ms for name, t, ms, _ in data["samples"] if name == "typing" and lo <= t < hi]
                steps.append({"users": users, "typing_p95_ms": round(pct(typed, 95)) if typed else None,
                              "requests": len(typed)})
            # The ramp's own 50-clinician step when it has one (the same run), else the fixed 50-clinician run.
            reference = steps[0]["typing_p95_ms"] if ramp[0] == 50 else next(
                (r["p95_ms"]["typing"] for r in runs if r["users"] == 50), steps[0]["typing_p95_ms"])
            limit = next((s["users"] for s in steps if s["typing_p95_ms"] and s["typing_p95_ms"] > 3 * reference),
                         None)
            ramp_out = {"database": args.database, "step_s": args.step, "steps": steps,
                        "reference_p95_ms": reference, "limit_users": limit,
                        "errors": sum(not ok for *_, ok in data["samples"])}
    finally:
        server.terminate()
        server.wait(timeout=60)

    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    kept = [r for r in previous.get("runs", []) if r["database"] != args.database]
    report = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "tool": f"locust {_locust_version()}", "workers": args.workers, "think_s": [think_min, think_max],
        "machine": f"{platform.platform()}, {os.cpu_count()} CPUs",
        "runs": kept + runs, "ramp": ramp_out or previous.get("ramp"),
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    for r in runs:
        print(f"{r['database']} {r['users']:>4} clinicians: {r['requests']:,} requests ({r['requests_per_s']}/s), "
              f"{r['errors']} errors, saves {r['acknowledged_saves']} acknowledged / {r['db_consults']} stored, "
              f"p95 " + ", ".join(f"{a} {r['p95_ms'].get(a, '—')} ms" for a in ACTIONS), file=sys.stderr)
    if ramp_out:
        print(f"ramp: {ramp_out['steps']}; passes 3× the 50-clinician p95 at {ramp_out['limit_users']}",
              file=sys.stderr)
    return 1 if any(r["errors"] or r["lost_consults"] for r in runs) else 0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _locust_version() -> str:
    from importlib.metadata import version

    return version("locust")


if __name__ == "__main__":
    sys.exit(main())
