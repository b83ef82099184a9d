"""Load test (not part of `make test`): simulated clinicians against gunicorn with the production settings.

    python bench/loadtest.py [--clients 50] [--duration 30] [--workers 3] [--save-every 4] [--think 1.0]

Starts gunicorn on 127.0.0.1 (a free port) with a throwaway SQLite database in WAL mode, a throwaway
secret key and DJANGO_SECURE_SSL_REDIRECT=false (plain HTTP on loopback only). Creates the clinicians,
signs them all in, then for --duration seconds each one edits workups (HTMX updates of the workspace)
and every --save-every updates saves a consult and opens it. --think is the mean pause between actions in
seconds (a clinician typing; 0 for a stress test). At the end: requests per second, p50/p95/p99 latency
per endpoint, errors, and lost consults (successful saves that are not in the database, or rows that no
save accounts for). Writes bench/loadtest_results.json (git-ignored). Exit status 1 on any error or loss.

A bounded script of threads and http.client rather than Locust: no extra dependency (Locust brings
gevent), everything it measures is here to read, and it stops by itself.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HOST = "127.0.0.1"  # loopback only, always
PASSWORD = "load-test-password-" + secrets.token_hex(4)
# Production asks clinicians for a second factor: each simulated clinician has this one-time recovery code.
RECOVERY_CODE = secrets.token_hex(4)
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')
CONSULT_URL = re.compile(r"^/consults/(\d+)/$")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="simulated clinicians (default 50)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of editing and saving (default 30)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes (default 3)")
    parser.add_argument("--save-every", type=int, default=4, help="save a consult every N updates (default 4)")
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean pause between a clinician's actions, seconds (default 1.0; 0: stress)")
    parser.add_argument("--workups", type=int, default=200, help="distinct random workups (default 200)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "loadtest_results.json")
    return parser.parse_args()


# --- the server ---------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def server_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "aml_salvage.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback: this load test only
        "DATABASE_URL": f"sqlite:///{tmp / 'load.sqlite3'}",
        "DJANGO_STATIC_ROOT": str(tmp / "static"),
    })
    return env


def prepare_database(args) -> tuple[list[str], list[dict]]:
    """Migrate, create the clinicians (one care team) and the form data of varied valid workups."""
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from aml_salvage import services
    from aml_salvage.forms import form_data_from_workup
    from bench.workloads import random_workups

    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)
    team = Group.objects.create(name="Leukemia load test")
    hashed = make_password(PASSWORD)  # one real (slow) hash, shared: creating 50 would take as long as signing in
    users = User.objects.bulk_create([User(username=f"clinician{i:02d}", password=hashed)
                                      for i in range(args.clients)])
    team.user_set.add(*users)
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    devices = StaticDevice.objects.bulk_create([StaticDevice(user=u, name="recovery codes") for u in users])
    StaticToken.objects.bulk_create([StaticToken(device=d, token=RECOVERY_CODE) for d in devices])

    submissions = []
    for workup in random_workups(args.workups):
        result = services.consult_evaluate(workup=services.workup_parse(data=workup))
        options = sorted(result.options, key=lambda o: o.tier != "preferred")
        chosen = options[0]
        save = {"chosen_option_id": chosen.id, "patient_identifier": f"LT-{len(submissions)}"}
        if chosen.tier != "preferred":
            save["override_reason"] = "Load test: no preferred option for this workup."
        submissions.append({"form": form_data_from_workup(workup), "save": save})
    return [u.username for u in users], submissions


def start_gunicorn(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen:
    gunicorn = Path(sys.executable).parent / "gunicorn"
    process = subprocess.Popen(
        [str(gunicorn), "aml_salvage.wsgi", "--workers", str(workers), "--bind", f"{HOST}:{port}",
         "--timeout", "60", "--error-logfile", str(log)],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {process.returncode}:\n{log.read_text()}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/accounts/login/")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("gunicorn did not answer within 60 s")


# --- a simulated clinician ------------------------------------------------------------------------------------

class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.saved_ids: list[int] = []
        self.views = 0

    def record(self, endpoint: str, seconds: float) -> None:
        with self.lock:
            self.latencies.setdefault(endpoint, []).append(seconds)

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


class Clinician:
    def __init__(self, port: int, username: str, stats: Stats, rng: random.Random):
        self.port, self.username, self.stats, self.rng = port, username, stats, rng
        self.cookies: dict[str, str] = {}
        self.token = ""

    def request(self, endpoint: str, method: str, path: str, data: dict | None = None, htmx: bool = False):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if data is not None:
            body = urlencode(data, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.token
        if htmx:
            headers["HX-Request"] = "true"
        start = time.perf_counter()
        conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            content = response.read()
        finally:
            conn.close()
        self.stats.record(endpoint, time.perf_counter() - start)
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, response.getheader("Location", ""), content.decode("utf-8", "replace")

    def sign_in(self) -> bool:
        status, _, page = self.request("sign-in page", "GET", "/accounts/login/")
        match = CSRF_INPUT.search(page)
        if status != 200 or not match:
            self.stats.error(f"{self.username}: sign-in page {status}")
            return False
        self.token = match.group(1)
        status, location, _ = self.request("sign in", "POST", "/accounts/login/",
                                           {"username": self.username, "password": PASSWORD})
        if status != 302 or location != "/":
            self.stats.error(f"{self.username}: sign in answered {status} {location}")
            return False
        status, location, page = self.request("workspace page", "GET", "/")
        if status == 302 and location.startswith("/accounts/two-factor/verify/"):
            status, _, page = self.request("two-factor page", "GET", location)
            match = CSRF_INPUT.search(page)
            if status != 200 or not match:
                self.stats.error(f"{self.username}: two-factor page {status}")
                return False
            self.token = match.group(1)
            status, location, _ = self.request("two-factor code", "POST", "/accounts/two-factor/verify/",
                                               {"code": RECOVERY_CODE, "next": "/"})
            if status != 302 or location != "/":
                self.stats.error(f"{self.username}: two-factor code answered {status} {location}")
                return False
            status, _, page = self.request("workspace page", "GET", "/")
        match = CSRF_HEADER.search(page)
        if status != 200 or not match:
            self.stats.error(f"{self.username}: workspace page {status}")
            return False
        self.token = match.group(1)
        return True

    def think(self, mean: float) -> None:
        if mean > 0:
            time.sleep(self.rng.uniform(0.5 * mean, 1.5 * mean))

    def work(self, submissions: list[dict], deadline: float, save_every: int, think: float) -> None:
        updates = 0
        while time.monotonic() < deadline:
            submission = self.rng.choice(submissions)
            status, _, body = self.request("update (HTMX)", "POST", "/", submission["form"], htmx=True)
            if status != 200 or 'id="result-panel"' not in body:
                self.stats.error(f"update answered {status}")
            updates += 1
            self.think(think)
            if updates % save_every or time.monotonic() >= deadline:
                continue
            status, location, _ = self.request("save consult", "POST", "/consults/new/",
                                               {**submission["form"], **submission["save"]})
            saved = CONSULT_URL.match(location)
            if status != 302 or not saved:
                self.stats.error(f"save answered {status} {location}")
                continue
            with self.stats.lock:
                self.stats.saved_ids.append(int(saved.group(1)))
            status, _, _ = self.request("open consult", "GET", location)
            if status != 200:
                self.stats.error(f"open consult answered {status}")
            else:
                with self.stats.lock:
                    self.stats.views += 1
            self.think(think)


# --- the run ------------------------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def summarise(latencies: dict[str, list[float]]) -> dict[str, dict]:
    return {
        endpoint: {"requests": len(v), "p50_ms": round(1000 * statistics.median(v), 1),
                   "p95_ms": round(1000 * percentile(v, 95), 1), "p99_ms": round(1000 * percentile(v, 99), 1),
                   "max_ms": round(1000 * max(v), 1)}
        for endpoint, v in latencies.items() if v
    }


def main() -> int:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="aml-salvage-load-"))
    env = server_env(tmp)
    os.environ.update(env)
    gunicorn = None
    try:
        print(f"Preparing: {args.clients} clinicians, {args.workups} workups, static files, database in {tmp}")
        usernames, submissions = prepare_database(args)
        port = free_port()
        gunicorn = start_gunicorn(env, port, args.workers, tmp / "gunicorn.log")
        print(f"gunicorn: {args.workers} workers on http://{HOST}:{port} (production settings, SQLite WAL)")

        stats = Stats()
        clinicians = [Clinician(port, name, stats, random.Random(i)) for i, name in enumerate(usernames)]
        signed_in: list[bool] = [False] * len(clinicians)
        ready = threading.Barrier(len(clinicians) + 1)
        deadline_box: list[float] = []

        def run(index: int) -> None:
            clinician = clinicians[index]
            try:
                signed_in[index] = clinician.sign_in()
            except Exception as exc:  # a refused connection, a timeout: counted, never hidden
                stats.error(f"{clinician.username}: sign-in failed: {exc!r}")
            ready.wait()
            if not signed_in[index]:
                return
            try:
                clinician.work(submissions, deadline_box[0], args.save_every, args.think)
            except Exception as exc:
                stats.error(f"{clinician.username}: {exc!r}")

        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(clinicians))]
        sign_in_start = time.perf_counter()
        for thread in threads:
            thread.start()
        # Everyone signs in first (password hashing is deliberately slow), then the timed phase starts at once.
        deadline_box.append(0.0)
        while ready.n_waiting < len(clinicians):
            time.sleep(0.05)
        sign_in_seconds = time.perf_counter() - sign_in_start
        deadline_box[0] = time.monotonic() + args.duration
        sign_in_latencies = {k: v for k, v in stats.latencies.items()}
        stats.latencies = {}
        print(f"Signed in {sum(signed_in)}/{len(clinicians)} clinicians in {sign_in_seconds:.1f} s; "
              f"editing and saving for {args.duration:.0f} s (think time {args.think} s) ...")
        work_start = time.perf_counter()
        ready.wait()
        for thread in threads:
            thread.join(timeout=args.duration + 120)
        elapsed = time.perf_counter() - work_start
    finally:
        if gunicorn is not None and gunicorn.poll() is None:
            gunicorn.send_signal(signal.SIGTERM)
            try:
                gunicorn.wait(timeout=30)
            except subprocess.TimeoutExpired:
                gunicorn.kill()

    from aml_salvage.models import AuditEvent, Consult

    in_db = set(Consult.objects.values_list("id", flat=True))
    saved = set(stats.saved_ids)
    lost = sorted(saved - in_db)
    unaccounted = sorted(in_db - saved)
    created_events = AuditEvent.objects.filter(action="created").count()
    viewed_events = AuditEvent.objects.filter(action="viewed").count()
    requests = sum(len(v) for v in stats.latencies.values())
    endpoints = summarise(stats.latencies)
    all_latencies = [x for v in stats.latencies.values() for x in v]
    results = {
        "clients": args.clients, "duration_s": round(elapsed, 1), "gunicorn_workers": args.workers,
        "think_s": args.think, "save_every": args.save_every, "database": "SQLite (WAL)",
        "sign_in": {"seconds": round(sign_in_seconds, 1), "signed_in": sum(signed_in),
                    "endpoints": summarise(sign_in_latencies)},
        "requests": requests, "requests_per_s": round(requests / elapsed, 1),
        "p95_ms_all": round(1000 * percentile(all_latencies, 95), 1) if all_latencies else None,
        "endpoints": endpoints,
        "successful_saves": len(saved), "consults_in_database": len(in_db), "lost_consults": len(lost),
        "unaccounted_consults": len(unaccounted),
        "audit_created_events": created_events, "audit_viewed_events": viewed_events, "consults_opened": stats.views,
        "errors": len(stats.errors), "error_samples": stats.errors[:10],
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
                   f"Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    args.out.write_text(json.dumps(results, indent=2) + "\n")

    print()
    print(f"{'endpoint':<18}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for endpoint, row in {**results["sign_in"]["endpoints"], **endpoints}.items():
        print(f"{endpoint:<18}{row['requests']:>9}{row['p50_ms']:>9}{row['p95_ms']:>9}{row['p99_ms']:>9}"
              f"{row['max_ms']:>9}")
    print()
    print(f"{requests} requests in {elapsed:.1f} s: {results['requests_per_s']} req/s, p95 {results['p95_ms_all']} ms "
          f"({args.clients} clinicians, {args.workers} gunicorn workers, think time {args.think} s)")
    print(f"Consults: {len(saved)} saved, {len(in_db)} in the database, {len(lost)} lost, "
          f"{len(unaccounted)} unaccounted; audit: {created_events} created, {viewed_events} viewed "
          f"({stats.views} opened)")
    print(f"Errors: {len(stats.errors)}" + (f" — e.g. {stats.errors[:3]}" if stats.errors else ""))
    print(f"Results: {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    shutil.rmtree(tmp, ignore_errors=True)
    ok = not stats.errors and not lost and not unaccounted and created_events == len(saved) \
        and viewed_events == stats.views and sum(signed_in) == args.clients
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
