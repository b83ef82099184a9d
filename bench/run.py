"""`make bench`: the budgets of issue 15 — what a clinician feels, what the server pays as they type, what grows
with use, the PDF — each a ratio measured in one run on this machine, with a verdict.

    .venv/bin/python bench/run.py [--quick] [--only engine,htmx,browser,growth,pdf,weight,load,cli]

Sections, each figure the median with its spread (min–max) over repeated runs:

1. Browser (budget 1) — in Debian's chromium (Playwright, bench/browser_bench.py) on the bench gunicorn: from
   the last keystroke of ≥ 30 edits of a worked case (a new value each time) to the DOM update of the result,
   minus the page's debounce, against the same page's htmx round trip to /bench/ping/ (a tiny fragment; only
   in the bench URLconf), one after each edit, after the same pause as the edit's request. p95 ratio ≤ 3, the
   p95s over every edit and every ping of the runs.
2. Live update as a clinician types (budget 2) — gunicorn (2 sync workers, production settings:
   bench/settings_bench.py) on loopback, wrk with bench/wrk_post.lua cycling through thousands of
   pre-generated workups, each one field away from the one before (bench/workloads.py: typing_edits), at
   concurrency 1 and 8 (5 interleaved runs at 8); in the same run and server the signed-in baseline
   (bench/baseline.py: a 10-field form bound, validated and rendered, Django's stock session and auth, the
   same middleware). p95 ratio at 8 ≤ 3.
   In-process, where the time goes (bench/htmx_profile.py).
3. Growth (budget 4) — `manage.py seed_growth` seeds a small (1,000 consults, 10,000 events) and a large
   database (100,000 and 1,000,000; --quick: 10,000 and 100,000); bench/growth_bench.py measures the consult
   list and the identifier search (p95 large ≤ 2× small, the two measured in turn), the audit CSV export's
   peak memory (large ≤ 1.5× small), and `backup_db` / `restore_db` of the large one (reported). The large
   database is the small one copied and grown in bulk (seed_growth --append --reuse --fast).
4. PDF (budget 6) — consult_print's decision sheet of DT20 Patient 1 saved as a consult (bench/pdf_bench.py
   --saved) and a reference document of the same page count (bench/pdf_reference.py --make: the fixed
   reference's sections repeated), fresh processes: warm per page ≤ 1.5× the reference's; cold ≤ 2× warm.
5. Load (budget 5) — bench/loadtest_results.json, written by `make loadtest` (locust: bench/locustfile.py,
   bench/loadtest.py), summarised when it exists.
6. Figures, not targets (budget 7): the engine's cost per result (bench/engine_bench.py), the page weights,
   and the command line of issue 17 (recommend's start-up and a batch of 1,000 workups: bench/cli_bench.py,
   whose two ratios keep their verdicts).

Writes bench/results.md and bench/results.json (both git-ignored). Exit status 0 when it ran, whatever the
verdicts (the report states which budgets hold); 2 when a measurement could not be made.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PY = sys.executable
HOST = "127.0.0.1"  # loopback only
CASE = ROOT / "tests" / "cases" / "dt20-patient1-flt3-itd.json"  # DT20 Patient 1 (the repository's copy)
SECTIONS = ("engine", "htmx", "browser", "storage", "growth", "pdf", "weight", "load", "cli")

TARGETS = {  # issue 15's budgets, each a ratio within one run
    "browser_p95_ratio": 3.0,  # ≤ (keystroke-to-result minus debounce / htmx round trip to a tiny fragment, p95)
    "htmx_typing_p95_ratio_c8": 3.0,  # ≤ (live update, a new workup each request / signed-in baseline, p95, c=8)
    "storage_ratio": 0.25,  # ≤ (database bytes per saved consult / the same consults as uncompressed JSON)
    "growth_list_p95_ratio": 2.0,  # ≤ (consult list p95 at the large database / at 1,000 consults)
    "growth_search_p95_ratio": 2.0,  # ≤ (identifier search, the same)
    "growth_export_peak_ratio": 1.5,  # ≤ (CSV export peak memory at the large trail / at 10,000 events)
    "pdf_warm_per_page_ratio": 1.5,  # ≤ (consult / reference document, warm, per page)
    "pdf_cold_to_warm": 2.0,  # ≤ (consult cold / consult warm)
    "cli_startup_ratio": 3.0,  # ≤ (issue 17: recommend, process start to first result / bare django.setup())
    "cli_batch_ratio": 2.0,  # ≤ (issue 17: per workup in a batch of 1,000 / the engine alone on the same workups)
}


# --- small helpers ------------------------------------------------------------------------------------

_STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - _STARTED:4.0f} s] {message}", file=sys.stderr, flush=True)


def spread(values: list[float], digits: int = 2) -> dict:
    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits), "runs": len(values)}


def fmt_spread(s: dict | None, unit: str = "", digits: int = 2) -> str:
    if not s:
        return "—"
    return f"{s['median']:,.{digits}f}{unit} ({s['min']:,.{digits}f}–{s['max']:,.{digits}f})"


def run_json(cmd: list[str], *, env: dict | None = None, timeout: float = 900) -> dict:
    """Run a command that prints one JSON object on its last output line."""
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {out.returncode}:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def version_of(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def py_version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:
        return "not installed"


# --- environment --------------------------------------------------------------------------------------

def environment() -> dict:
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem_gib = None
    try:
        kib = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal")))
        mem_gib = round(kib / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError):
        pass
    commit = version_of(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True,
                           text=True).stdout.strip()
    return {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu_model": cpu, "cpu_count": os.cpu_count(), "memory_gib": mem_gib,
        "platform": platform.platform(), "python": platform.python_version(),
        "django": py_version("django"), "weasyprint": py_version("weasyprint"), "gunicorn": py_version("gunicorn"),
        "pydantic": py_version("pydantic"), "wrk": version_of(["wrk", "--version"]).split(" Copyright")[0],
        "git_commit": commit + (" (uncommitted changes)" if dirty else ""),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


# --- 1. engine ----------------------------------------------------------------------------------------

def section_engine(args, tmp: Path) -> dict:
    log("engine: results per second in-process ...")
    out = tmp / "engine.json"
    subprocess.run([PY, "bench/engine_bench.py", "--random", str(args.random), "--repeats", str(args.engine_repeats),
                    "--out", str(out)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    data = json.loads(out.read_text())
    data["repeats"] = args.engine_repeats
    for name in ("worked_cases", "random_workups"):
        full = data[name]["validate_and_evaluate"]
        data[name]["results_per_s"] = round(1000 / full["median_ms"])
        data[name]["results_per_s_spread"] = [round(1000 / full["max_ms"]), round(1000 / full["min_ms"])]
    return data


# --- 2. HTMX update under gunicorn + wrk -----------------------------------------------------------------

_SESSION_SCRIPT = r"""
import json, sys
from pathlib import Path
import django
django.setup()
from urllib.parse import urlencode
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client
from aml_salvage.forms import form_data_from_workup
from bench.baseline import BASELINE_POST
from bench.workloads import typing_edits, with_cards_held

user = User.objects.create_user("bench", password=None, first_name="Bench", last_name="Clinician")
user.groups.add(Group.objects.create(name="Bench team"))
client = Client()
# Production asks clinicians for a second factor: the session has passed it (django-otp's session key).
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
client.force_login(user, backend=settings.AUTHENTICATION_BACKENDS[-1])  # the password backend
session = client.session
session[DEVICE_ID_SESSION_KEY] = device.persistent_id
session.save()
client.get("/")  # the CSRF cookie, as a browser gets it with the page
workup = json.loads(Path(sys.argv[1]).read_text())["workup"]
cases = {p.stem: urlencode(form_data_from_workup(json.loads(p.read_text())["workup"]), doseq=True)
         for p in sorted(Path(sys.argv[1]).parent.glob("*.json"))}
print(json.dumps({
    "sessionid": client.cookies["sessionid"].value, "csrftoken": client.cookies["csrftoken"].value,
    # One workup repeated, its page holding every card (the keys the update before it brought).
    "product_body": urlencode(with_cards_held([form_data_from_workup(workup)] * 2)[1], doseq=True),
    "baseline_body": urlencode(BASELINE_POST),
    "case_bodies": cases,
    # A clinician typing: single-field edits of the worked cases, each body a workup not sent before, with
    # the keys of the cards the page holds from the update before (the workspace's script sends them).
    "typed_bodies": [urlencode(data, doseq=True) for data in with_cards_held(typing_edits(int(sys.argv[2])))],
}))
"""


class BenchServer:
    """gunicorn with bench/settings_bench.py on a free loopback port, a throwaway database and static root."""

    def __init__(self, tmp: Path, workers: int, typing_bodies: int = 4000):
        self.tmp = tmp
        self.workers = workers
        self.typing_bodies = typing_bodies
        self.port = free_port()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings_bench",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "AML_BENCH_DB": str(tmp / "bench.sqlite3"),
            "DJANGO_STATIC_ROOT": str(tmp / "static"),
            "DJANGO_ALLOWED_HOSTS": f"{HOST},localhost,testserver",
            "PYTHONPATH": str(ROOT),
        }
        self.proc: subprocess.Popen | None = None
        self.session: dict = {}

    def prepare(self) -> None:
        manage = [PY, "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=self.env, check=True)
        subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=self.env, check=True)
        self.session = run_json([PY, "-c", _SESSION_SCRIPT, str(CASE), str(self.typing_bodies)], env=self.env)
        self.cookie = f"sessionid={self.session['sessionid']}; csrftoken={self.session['csrftoken']}"
        (self.tmp / "product.body").write_text(self.session["product_body"])
        (self.tmp / "baseline.body").write_text(self.session["baseline_body"])
        (self.tmp / "typed.bodies").write_text("\n".join(self.session["typed_bodies"]) + "\n")

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(Path(PY).parent / "gunicorn"), "aml_salvage.wsgi:application", "--workers", str(self.workers),
             "--worker-class", "sync", "--bind", f"{HOST}:{self.port}", "--log-level", "warning"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=open(self.tmp / "gunicorn.log", "w"),
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + (self.tmp / "gunicorn.log").read_text()[-3000:])
            try:
                if self.request("GET", "/accounts/login/", cookie=False)[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer within 60 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def request(self, method: str, path: str, *, body: str | None = None, htmx: bool = False,
                gzip_ok: bool = False, cookie: bool = True, csrf_cookie: bool = False) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        headers = {"Accept-Encoding": "gzip" if gzip_ok else "identity"}
        if cookie:
            headers.update({"Cookie": self.cookie, "X-CSRFToken": self.session["csrftoken"]})
        elif csrf_cookie:
            token = self.session["csrftoken"]
            headers.update({"Cookie": f"csrftoken={token}", "X-CSRFToken": token})
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if htmx:
            headers["HX-Request"] = "true"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def wrk(self, path: str, body_file: Path, *, connections: int, duration: float, htmx: bool,
            signed_in: bool = True, offset: int = 0) -> dict:
        threads = 1 if connections == 1 else 2
        cookie = self.cookie if signed_in else f"csrftoken={self.session['csrftoken']}"
        env = {**os.environ, "BENCH_BODY_FILE": str(body_file), "BENCH_COOKIE": cookie,
               "BENCH_CSRF": self.session["csrftoken"], "BENCH_HTMX": "1" if htmx else "0",
               "BENCH_OFFSET": str(offset)}
        if body_file.suffix == ".bodies":  # one body per line, sent in turn
            env.update(BENCH_BODY_FILE=str(body_file.with_name("product.body")), BENCH_BODIES_FILE=str(body_file))
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency", "--timeout", "10s",
             "-s", str(BENCH / "wrk_post.lua"), f"http://{HOST}:{self.port}{path}"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=duration + 60,
        )
        if out.returncode != 0:
            raise RuntimeError(f"wrk failed:\n{out.stderr}")
        line = next(x for x in out.stdout.splitlines() if x.startswith("BENCH_JSON "))
        data = json.loads(line[len("BENCH_JSON "):])
        data["requests_per_s"] = data["requests"] / (data["duration_us"] / 1e6)
        return data


# name: (path, body, HX-Request, signed in, concurrencies)
TARGETS_HTMX = {
    # Budget 2: the live update as a clinician types (a new workup each request) against the signed-in form.
    "product_typing": ("/", "typed.bodies", True, True, (1, 8)),
    "baseline": ("/bench/baseline/", "baseline.body", False, True, (1, 8)),
    # Figures: one workup repeated (every card held by the page), and the same form anonymous (the retired
    # reference).
    "product": ("/", "product.body", True, True, (8,)),
    "baseline_bare": ("/bench/baseline-bare/", "baseline.body", False, False, (8,)),
}
RATIO_TO = "baseline"  # budget 2: the signed-in baseline, Django's stock session and auth


def check_responses(server: BenchServer) -> dict:
    """What is measured is what is meant: the fragment (not the page, not a redirect) and a valid form."""
    status, headers, body = server.request("POST", "/", body=server.session["product_body"], htmx=True)
    text = body.decode()
    # Its page holds every key (product.body): the update sends its parts (live/pieces.html), out of band — the
    # result's head and the preferred tier, its cards held — and no swap of the panel.
    tiers, held = text.count('class="tier-group'), text.count("data-held")
    parts = headers.get("hx-reswap") == "none" and 'id="result-head"' in text and 'id="tier-preferred"' in text
    if status != 200 or "<html" in text or not parts or tiers != 1 or not held:
        raise RuntimeError(f"the live update did not return the result's parts (status {status}, {tiers} tiers, "
                           f"{held} held)")
    for path, _, _, signed_in, _ in (TARGETS_HTMX["baseline"], TARGETS_HTMX["baseline_bare"]):
        status, _, body = server.request("POST", path, body=server.session["baseline_body"], cookie=signed_in,
                                         csrf_cookie=True)
        if status != 200 or b"Saved" not in body:
            raise RuntimeError(f"the baseline view {path} did not validate its form (status {status})")
    for typed in server.session["typed_bodies"][:: max(1, len(server.session["typed_bodies"]) // 20)]:
        status, headers, body = server.request("POST", "/", body=typed, htmx=True)
        whole_or_parts = body.count(b'class="tier-group') == 4 or headers.get("hx-reswap") == "none"
        if status != 200 or b'id="result-head"' not in body or not whole_or_parts:
            raise RuntimeError(f"a typed workup gave no result (status {status})")
    return {"fragment_tiers": tiers, "fragment_held": held}


def section_htmx(args, server: BenchServer) -> dict:
    tmp = server.tmp
    log("htmx: warming both workers ...")
    offset = 0
    for path, body, htmx, signed_in, _ in TARGETS_HTMX.values():
        server.wrk(path, tmp / body, connections=8, duration=args.warmup, htmx=htmx, signed_in=signed_in)
    runs: dict[str, dict[int, list[dict]]] = {name: {c: [] for c in t[4]} for name, t in TARGETS_HTMX.items()}
    for rep in range(1, args.repeats + 1):
        for connections in (1, 8):
            for name, (path, body, htmx, signed_in, concurrencies) in TARGETS_HTMX.items():  # interleaved
                if connections not in concurrencies or (rep > 1 and (connections == 1 or name not in (
                        "product_typing", RATIO_TO))):
                    continue  # the figures once; the budget's two sides (8 clients) every repeat
                log(f"htmx: run {rep}/{args.repeats}, {name}, concurrency {connections}, {args.duration:g} s ...")
                offset += 7919  # each run starts elsewhere in the typed workups
                runs[name][connections].append(server.wrk(path, tmp / body, connections=connections,
                                                          duration=args.duration, htmx=htmx, signed_in=signed_in,
                                                          offset=offset))
    figures: dict = {"duration_s": args.duration, "repeats": args.repeats, "workers": server.workers,
                     "typed_workups": len(server.session["typed_bodies"]),
                     "tool": "wrk --latency (p95 from the Lua done() hook)"}
    for name, by_c in runs.items():
        figures[name] = {}
        for connections, samples in by_c.items():
            figures[name][f"c{connections}"] = {
                "requests_per_s": spread([s["requests_per_s"] for s in samples], 1),
                **{f"{p}_ms": spread([s[f"{p}_us"] / 1000 for s in samples], 2) for p in ("p50", "p95", "p99")},
                "requests": sum(s["requests"] for s in samples),
                "not_200": sum(s["not_200"] for s in samples),
                "socket_errors": sum(s["socket_errors"] for s in samples),
            }
    figures["ratio_to"] = RATIO_TO
    for c in ("c1", "c8"):
        for p in ("p50", "p95"):
            figures[f"{p}_ratio_typing_{c}"] = round(figures["product_typing"][c][f"{p}_ms"]["median"]
                                                     / figures[RATIO_TO][c][f"{p}_ms"]["median"], 2)
    # The ratio run by run (both sides of each repeat measured back to back), for its spread.
    figures["p95_ratio_typing_c8_runs"] = [round(a["p95_us"] / b["p95_us"], 2) for a, b in
                                           zip(runs["product_typing"][8], runs[RATIO_TO][8], strict=True)]
    figures["p95_ratio_repeated_c8"] = round(figures["product"]["c8"]["p95_ms"]["median"]
                                             / figures[RATIO_TO]["c8"]["p95_ms"]["median"], 2)
    figures["p95_ratio_signed_in_to_bare_c8"] = round(figures[RATIO_TO]["c8"]["p95_ms"]["median"]
                                                      / figures["baseline_bare"]["c8"]["p95_ms"]["median"], 2)
    return figures


# --- 1. browser ----------------------------------------------------------------------------------------

def summary_of(values: list[float]) -> dict:
    """Median and p95 of pooled samples, as bench/browser_bench.py summarises a run's."""
    sys.path.insert(0, str(ROOT))
    from bench.browser_bench import summary

    return summary(values)


def section_browser(args, server: BenchServer) -> dict:
    log(f"browser: {args.browser_edits} edits, each followed by a ping, in chromium ...")
    runs = [run_json([PY, "bench/browser_bench.py", "--url", f"http://{HOST}:{server.port}",
                      "--session", server.session["sessionid"], "--csrf", server.session["csrftoken"],
                      "--case", str(CASE), "--edits", str(args.browser_edits),
                      "--seed", str(15 + i)], env=server.env, timeout=900)
            for i in range(args.browser_repeats)]
    out = {"runs": runs, "debounce_ms": runs[0]["debounce_ms"], "hx_trigger": runs[0]["hx_trigger"],
           "edits_per_run": args.browser_edits, "key_delay_ms": runs[0]["key_delay_ms"],
           "edits_without_result": sum(r["edits_without_result"] for r in runs)}
    out["ping_pause_ms"] = runs[0]["ping_pause_ms"]
    for key in ("keystroke_to_result", "keystroke_to_result_minus_debounce", "ping_round_trip", "ping_back_to_back"):
        out[key] = {stat: spread([r[key][stat] for r in runs], 1) for stat in ("median_ms", "p95_ms")}
    out["p95_ratio_runs"] = spread([r["p95_ratio"] for r in runs], 2)
    # The budget: one p95 over every edit of every run, over one p95 over every ping (a run's p95 of 40 edits
    # is its second largest: a single stall moves it).
    pooled = {key: [v for r in runs for v in r["samples_ms"][key]]
              for key in ("keystroke_to_result_minus_debounce", "ping_round_trip")}
    out["pooled"] = {key: summary_of(values) for key, values in pooled.items()}
    out["p95_ratio"] = round(out["pooled"]["keystroke_to_result_minus_debounce"]["p95_ms"]
                             / out["pooled"]["ping_round_trip"]["p95_ms"], 2)
    out["split"] = {part: {stat: spread([r["split"][part][stat] for r in runs], 1) for stat in ("median_ms", "p95_ms")}
                    for part in ("to_send", "server", "swap")}
    return out


# --- 3. growth -----------------------------------------------------------------------------------------

def _manage(env: dict, *argv: str, timeout: float = 3600) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run([PY, "manage.py", *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(argv)} exited {out.returncode}:\n{out.stderr[-3000:]}")
    return time.perf_counter() - t0, out.stdout.strip()


def section_growth(args, tmp: Path, static_root: Path) -> dict:
    sizes = {"small": (1000, 10_000), "large": (args.growth_consults, args.growth_events)}
    envs, out = {}, {"sizes": {k: {"consults": c, "events": e} for k, (c, e) in sizes.items()}}
    # The small database is seeded from nothing (its distinct workups evaluated by the engine and saved by the
    # service); the large one is a copy of it grown in bulk (seed_growth --append --reuse: its saved consults
    # are the templates, none evaluated again; --fast: no journal and no fsync on this throwaway file).
    seeded_s = 0.0
    for name, (consults, events) in sizes.items():
        db = tmp / f"growth-{name}.sqlite3"
        envs[name] = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings_bench", "AML_BENCH_DB": str(db),
                      "DJANGO_STATIC_ROOT": str(static_root), "PYTHONPATH": str(ROOT),
                      "DJANGO_SECRET_KEY": secrets.token_urlsafe(64)}
        log(f"growth: seeding {consults:,} consults and {events:,} audit events ({name}) ...")
        if name == "small":
            _manage(envs[name], "migrate", "--noinput", "-v0")
            argv = ["--consults", str(consults), "--events", str(events)]
        else:
            small = tmp / "growth-small.sqlite3"
            t0 = time.perf_counter()
            shutil.copyfile(small, db)  # the seeding process has closed it: its WAL is checkpointed
            seeded_s += time.perf_counter() - t0
            argv = ["--append", "--reuse", "--fast", "--consults", str(consults),
                    "--events", str(events - sizes["small"][1])]
        seconds, said = _manage(envs[name], "seed_growth", *argv)
        seeded_s += seconds
        out["sizes"][name].update(seed_s=round(seeded_s, 1), seed_said=said.splitlines()[-1] if said else "",
                                  db_bytes=db.stat().st_size, bytes_per_consult=round(db.stat().st_size / consults))
    pages = {name: [] for name in sizes}
    exports = {name: [] for name in sizes}
    for rep in range(1, args.growth_repeats + 1):
        for name in sizes:  # in turn, so that drift hits both sizes alike
            log(f"growth: list and search, {name}, run {rep}/{args.growth_repeats} ...")
            pages[name].append(run_json([PY, "bench/growth_bench.py", "pages", "--requests",
                                         str(args.growth_requests)], env=envs[name]))
    for name in sizes:
        log(f"growth: audit CSV export, {name} ...")
        exports[name].append(run_json([PY, "bench/growth_bench.py", "export"], env=envs[name]))
    for name in sizes:
        out["sizes"][name]["visible_to_clinician"] = pages[name][0]["visible_to_clinician"]
        for what in ("list", "search"):
            out["sizes"][name][what] = {stat: spread([r[what][stat] for r in pages[name]], 2)
                                        for stat in ("median_ms", "p95_ms")}
        out["sizes"][name]["export"] = exports[name][0]
    for what in ("list", "search"):
        out[f"{what}_p95_ratio"] = round(out["sizes"]["large"][what]["p95_ms"]["median"]
                                         / out["sizes"]["small"][what]["p95_ms"]["median"], 2)
    out["export_peak_ratio"] = round(exports["large"][0]["peak_rss_mib"] / exports["small"][0]["peak_rss_mib"], 2)
    log("growth: backup_db and restore_db of the large database ...")
    backup = tmp / "growth-large.backup.sqlite3"
    seconds, _ = _manage(envs["large"], "backup_db", str(backup))
    out["backup_s"], out["backup_bytes"] = round(seconds, 1), backup.stat().st_size
    restored = {**envs["large"], "AML_BENCH_DB": str(tmp / "growth-restored.sqlite3")}
    seconds, _ = _manage(restored, "restore_db", str(backup))
    out["restore_s"] = round(seconds, 1)
    for path in tmp.glob("growth-*"):
        path.unlink(missing_ok=True)
    return out


# --- 4. page weight -------------------------------------------------------------------------------------

class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and a.get("href") and set((a.get("rel") or "").split()) & {
                "stylesheet", "icon", "preload", "modulepreload", "manifest"}:
            self.urls.append(a["href"])
        elif tag in ("script", "img") and a.get("src"):
            self.urls.append(a["src"])


def section_weight(server: BenchServer) -> dict:
    log("weight: the workspace page with its assets, and one update fragment ...")
    status, _, page = server.request("GET", "/")
    if status != 200:
        raise RuntimeError(f"the workspace page answered {status}")
    _, headers, page_wire = server.request("GET", "/", gzip_ok=True)
    parser = _Assets()
    parser.feed(page.decode())
    assets = []
    for url in parser.urls:
        if url.startswith(("http:", "https:", "//")):
            raise RuntimeError(f"an asset from another host: {url}")
        s_raw, _, raw = server.request("GET", url, cookie=False)
        s_wire, h_wire, wire = server.request("GET", url, gzip_ok=True, cookie=False)
        if s_raw != 200 or s_wire != 200:
            raise RuntimeError(f"asset {url} answered {s_raw}/{s_wire}")
        assets.append({"url": url, "bytes": len(raw), "wire_bytes": len(wire),
                       "encoding": h_wire.get("content-encoding", "identity")})
    body = server.session["product_body"]
    _, _, fragment = server.request("POST", "/", body=body, htmx=True)
    composition = fragment_composition(fragment.decode())
    _, f_headers, fragment_wire = server.request("POST", "/", body=body, htmx=True, gzip_ok=True)
    page_total = len(page) + sum(a["bytes"] for a in assets)
    by_case = {}  # every worked case: the fragment varies with the workup (how many options carry doses)
    for stem, case_body in server.session.get("case_bodies", {}).items():
        _, _, raw = server.request("POST", "/", body=case_body, htmx=True)
        _, _, wire = server.request("POST", "/", body=case_body, htmx=True, gzip_ok=True)
        if b'id="result-panel"' not in raw or b"data-option=" not in raw:
            raise RuntimeError(f"the live update of case {stem} did not return a result")
        by_case[stem] = {"bytes": len(raw), "wire_bytes": len(wire)}
    return {
        "page_html_bytes": len(page), "page_html_wire_bytes": len(page_wire),
        "page_html_encoding": headers.get("content-encoding", "identity"),
        "assets": assets, "page_with_assets_bytes": page_total,
        "page_with_assets_wire_bytes": len(page_wire) + sum(a["wire_bytes"] for a in assets),
        "fragment_bytes": len(fragment), "fragment_wire_bytes": len(fragment_wire),
        "fragment_encoding": f_headers.get("content-encoding", "identity"),
        "fragment_gzip6_bytes": len(gzip.compress(fragment, 6)),
        "fragment_composition": composition,
        "case": CASE.stem,
        "fragments_by_case": by_case,
    }


_OPTION_START = re.compile(r'<(?:article|details|li) class="option ')
_OPTION_TIER = re.compile(r'data-tier="([a-z_]+)"')


def fragment_composition(html: str) -> dict:
    """Bytes of the fragment by part: option cards by tier, and everything else."""
    starts = [m.start() for m in _OPTION_START.finditer(html)]
    # The options end where the references begin, or (an update of parts, the references held) where the
    # summary sent with every update does.
    end_of_options = min(i for i in (html.find('<section class="result-section references"'),
                                     html.find('<div id="result-summary"'), len(html)) if i >= 0)
    parts: dict[str, int] = {}
    for start, end in zip(starts, [*starts[1:], end_of_options], strict=True):
        tier = _OPTION_TIER.search(html, start).group(1)
        parts[f"{tier}_cards"] = parts.get(f"{tier}_cards", 0) + len(html[start:end].encode())
        parts[f"{tier}_count"] = parts.get(f"{tier}_count", 0) + 1
    parts["everything_else"] = len(html.encode()) - sum(v for k, v in parts.items() if k.endswith("_cards"))
    return parts


# --- 3. PDF ---------------------------------------------------------------------------------------------

def section_pdf(args, tmp: Path) -> dict:
    """What a clinician's Print renders (consults.consult_print of the case saved as a consult, in a throwaway
    database), against a reference document of the same number of pages (bench/pdf_reference.py --make: the
    fixed reference's sections repeated), per page; each in fresh processes."""
    consult, reference = [], []
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings_bench", "AML_BENCH_DB": str(tmp / "pdf.sqlite3"),
           "DJANGO_STATIC_ROOT": str(tmp / "static"), "PYTHONPATH": str(ROOT),
           "DJANGO_SECRET_KEY": secrets.token_urlsafe(64)}
    if not (tmp / "static").exists():
        _manage(env, "collectstatic", "--noinput", "-v0")
    document = tmp / "reference.html"
    for i in range(1, args.pdf_repeats + 1):  # fresh processes each time: each gives a cold figure
        log(f"pdf: consult and reference document, process {i}/{args.pdf_repeats} ...")
        out = tmp / f"pdf_{i}.json"
        subprocess.run([PY, "bench/pdf_bench.py", "--saved", str(tmp / "pdf.sqlite3"), "--runs", str(args.pdf_runs),
                        "--case", str(CASE), "--out", str(out)], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        consult.append(json.loads(out.read_text()))
        if i == 1:
            log(f"pdf: a reference document of {consult[0]['pages']} pages ...")
            made = run_json([PY, "bench/pdf_reference.py", "--make", str(consult[0]["pages"]),
                             "--document", str(document)])
            if made["pages"] != consult[0]["pages"]:
                raise RuntimeError(f"reference document of {made['pages']} pages, not {consult[0]['pages']}")
        reference.append(run_json([PY, "bench/pdf_reference.py", "--runs", str(args.pdf_runs),
                                   "--document", str(document)]))

    def summary(samples: list[dict]) -> dict:
        pages = samples[0]["pages"]
        cold = [s["cold_total_ms"] for s in samples]
        warm = [s["warm_median_total_ms"] for s in samples]
        return {"pages": pages, "cold_ms": spread(cold, 1), "warm_ms": spread(warm, 1),
                "cold_per_page_ms": spread([c / pages for c in cold], 1),
                "warm_per_page_ms": spread([w / pages for w in warm], 1),
                "warm_runs_per_process": samples[0]["warm_runs"], "bytes": samples[0]["bytes"]}

    c, r = summary(consult), summary(reference)
    return {"case": CASE.stem, "rendered_by": consult[0].get("rendered_by"), "consult": c, "reference": r,
            "warm_per_page_ratio": round(c["warm_per_page_ms"]["median"] / r["warm_per_page_ms"]["median"], 2),
            "cold_per_page_ratio": round(c["cold_per_page_ms"]["median"] / r["cold_per_page_ms"]["median"], 2),
            "consult_cold_to_warm": round(c["cold_ms"]["median"] / c["warm_ms"]["median"], 2)}


# --- 3. storage ----------------------------------------------------------------------------------------

def section_storage(args, tmp: Path) -> dict:
    """bench/storage.py: 1,000 varied consults saved through the service into a fresh SQLite database, their
    bytes after VACUUM against the same consults as the uncompressed JSON columns they used to be."""
    log(f"storage: saving {args.storage_consults:,} varied consults (bench/storage.py) ...")
    out = tmp / "storage.json"
    subprocess.run([PY, "bench/storage.py", "--n", str(args.storage_consults), "--json", str(out)], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL, timeout=900)
    return json.loads(out.read_text())


# --- 5. load --------------------------------------------------------------------------------------------

def section_load() -> dict:
    path = BENCH / "loadtest_results.json"
    if not path.exists():
        return {"status": "not run (make loadtest writes bench/loadtest_results.json)"}
    data = json.loads(path.read_text())
    if "runs" not in data:
        return {"status": "bench/loadtest_results.json is from the retired thread script: run make loadtest"}
    return {"status": "from bench/loadtest_results.json", **data}


# --- 6. command line ------------------------------------------------------------------------------------

def section_cli(args) -> dict:
    log("cli: recommend start-up and a batch of 1,000 workups (bench/cli_bench.py) ...")
    return run_json([PY, "bench/cli_bench.py", "--repeats", str(args.cli_repeats), "--batch", "1000"])


# --- verdicts and report ---------------------------------------------------------------------------------

def machine_busy(report: dict) -> bool:
    """More runnable processes than CPUs at the start or the end of the run: latency ratios are then unsafe."""
    env = report["environment"]
    loads = (env.get("load_average_at_start", [0])[0], env.get("load_average_at_end", [0])[0])
    return max(loads) > (env.get("cpu_count") or 1)


def verdicts(report: dict) -> list[dict]:
    rows = []
    busy = machine_busy(report)

    def add(name, value, limit, holds, unit=""):
        rows.append({"target": name, "value": value, "limit": limit, "unit": unit, "holds": holds})

    b = report.get("browser")
    if b:
        ratio = b["p95_ratio"]
        add(f"1. Keystroke to result in chromium, minus the {b['debounce_ms']} ms debounce, p95 ≤ 3× the page's htmx "
            "round trip to a tiny fragment (after the same pause)", ratio, f"≤ {TARGETS['browser_p95_ratio']}×",
            ratio <= TARGETS["browser_p95_ratio"], "×")
    h = report.get("htmx")
    if h:
        ratio = h["p95_ratio_typing_c8"]
        # On a busy machine both p95s are mostly waiting for other processes: a ratio that holds says nothing.
        holds = ratio <= TARGETS["htmx_typing_p95_ratio_c8"]
        add("2. Live update, a new workup each request, p95 at 8 clients ≤ 3× the signed-in baseline form (stock "
            "session and auth, same middleware)", ratio, f"≤ {TARGETS['htmx_typing_p95_ratio_c8']}×",
            None if busy and holds else holds, "×")
    st = report.get("storage")
    if st:
        ratio = st["ratio_to_old_json"]
        add(f"3. Database bytes per saved consult ({st['bytes_per_consult']:,} B, {st['consults']:,} consults) "
            f"≤ 25% of the same consults as JSON ({st['old_json_bytes_per_consult']:,} B)", round(ratio * 100, 1),
            f"≤ {TARGETS['storage_ratio'] * 100:.0f}%", ratio <= TARGETS["storage_ratio"], "%")
    g = report.get("growth")
    if g:
        large = f"{g['sizes']['large']['consults']:,} consults"
        for what, label in (("list", "consult list"), ("search", "identifier search")):
            ratio = g[f"{what}_p95_ratio"]
            add(f"4. {label.capitalize()} p95 at {large} ≤ 2× at 1,000", ratio,
                f"≤ {TARGETS[f'growth_{what}_p95_ratio']}×", ratio <= TARGETS[f"growth_{what}_p95_ratio"], "×")
        ratio = g["export_peak_ratio"]
        add(f"4. Audit CSV export peak memory at {g['sizes']['large']['events']:,} events ≤ 1.5× at 10,000", ratio,
            f"≤ {TARGETS['growth_export_peak_ratio']}×", ratio <= TARGETS["growth_export_peak_ratio"], "×")
    load = report.get("load") or {}
    for run in load.get("runs", []):
        ok = run["errors"] == 0 and run["lost_consults"] == 0
        add(f"5. Load, {run['database']}, {run['users']} clinicians: 0 errors, 0 lost consults",
            f"{run['errors']} errors, {run['lost_consults']} lost", "0 / 0", ok)
    p = report.get("pdf")
    if p:
        ratio = p["warm_per_page_ratio"]
        add("6. PDF warm render per page ≤ 1.5× the reference document's", ratio,
            f"≤ {TARGETS['pdf_warm_per_page_ratio']}×", ratio <= TARGETS["pdf_warm_per_page_ratio"], "×")
        ratio = p["consult_cold_to_warm"]
        add("6. PDF cold render ≤ 2× warm", ratio, f"≤ {TARGETS['pdf_cold_to_warm']}×",
            ratio <= TARGETS["pdf_cold_to_warm"], "×")
    if "cli" in report:
        c = report["cli"]
        add("Issue 17: recommend, process start to the first result ≤ 3× a bare django.setup() (same settings)",
            c["startup_ratio"], f"≤ {TARGETS['cli_startup_ratio']}×",
            c["startup_ratio"] <= TARGETS["cli_startup_ratio"], "×")
        add("Issue 17: recommend --jsonl, per workup in a batch of 1,000 ≤ 2× the engine alone",
            c["batch_ratio"], f"≤ {TARGETS['cli_batch_ratio']}×", c["batch_ratio"] <= TARGETS["cli_batch_ratio"], "×")
    return rows


PARTS_PHASE = "result parts template (live/pieces.html, every key held)"  # bench/htmx_profile.py's phase


def explain(report: dict) -> list[str]:
    """What the figures of a missed budget are made of, from this run's own measurements."""
    notes = []
    h = report.get("htmx")
    busy = machine_busy(report)
    if h and h.get("in_process"):
        r, ph = h["in_process"]["requests_ms"], h["in_process"]["phases_ms"]
        typing, base = r.get("product_new_workup_each_time", 0.0), r["baseline"]
        notes.append(
            f"Budget 2 in CPU time (bench/htmx_profile.py, in-process): the live update as a clinician types costs "
            f"{typing:.2f} ms a request, the signed-in baseline {base:.2f} ms: {typing / base:.2f}×. At 8 clients "
            "on 2 workers each request waits for those ahead of it, so on a quiet machine the p95 ratio comes "
            f"close to this. Its largest parts: the engine {ph['engine (consult_evaluate)']:.2f} ms and the "
            f"template of the update's parts {ph[PARTS_PHASE]:.2f} ms (bench/htmx_profile.py's phases below)."
            + (" This run's machine was busy (load average above its CPUs): time spent waiting for other "
               "processes inflates both p95s alike, which pulls the wrk ratio towards 1 — read the CPU-time ratio."
               if busy else ""))
    g = report.get("growth")
    if g:
        large = g["sizes"]["large"]
        notes.append(
            f"Growth: the large database held {large['db_bytes'] / 2**30:.2f} GiB "
            f"({large['bytes_per_consult']:,} bytes per consult, events included); seeding took "
            f"{large['seed_s']:.0f} s. The consult list reads each source of a clinician's consults (their own, "
            "each team's) newest first by index, as far as the page needs, then only the rows shown; the "
            "identifier search finds identifiers by their start through an index on (team or author, "
            "UPPER(identifier)): neither reads every consult the clinician may see. Pages deep in the list "
            "still read every newer entry of the indexes (page 100: 2,500 per source).")
    return notes


def markdown(report: dict) -> str:
    env = report["environment"]
    out = ["# `make bench` — AML Salvage against the budgets of issue 15", "",
           f"Run {env['date']} on commit {env['git_commit']}. Medians, with the spread (min–max) over repeated "
           "runs in brackets. Regenerate with `make bench`.", "", "## Verdicts", "",
           "| Target | Measured | Limit | Holds |", "|---|---:|---:|:---:|"]
    for v in report["verdicts"]:
        value = f"{v['value']:,}" if isinstance(v["value"], int) else f"{v['value']}"
        holds = "inconclusive (machine busy)" if v["holds"] is None else "yes" if v["holds"] else "**no**"
        out.append(f"| {v['target']} | {value}{v['unit']} | {v['limit']} | {holds} |")
    out += ["", "## Environment", "", "| | |", "|---|---|"]
    for key in ("cpu_model", "cpu_count", "memory_gib", "platform", "python", "django", "weasyprint", "gunicorn",
                "pydantic", "wrk", "git_commit", "date", "load_average_at_start", "load_average_at_end",
                "duration_s"):
        if key in env:
            out.append(f"| {key.replace('_', ' ')} | {env[key]} |")
    out += ["", "The machine may be shared: the load averages above say how busy it was. Ratios are measured "
            "in the same run, so both sides of a ratio saw the same conditions.", ""]

    if "browser" in report:
        b = report["browser"]
        out += ["## 1. What the clinician feels (chromium)", "",
                f"bench/browser_bench.py: Debian's chromium through Playwright on the bench gunicorn, signed in; "
                f"{len(b['runs'])} runs of {b['edits_per_run']} edits of {CASE.stem} (a numeric field clicked, "
                f"selected, a new value typed {b['key_delay_ms']} ms per key), timed in the page from the last "
                "keydown to the first DOM change of the result column; after each edit, an htmx round trip of the "
                f"same page to /bench/ping/, once page and server have been idle {b['ping_pause_ms']} ms, about as "
                "long as before an edit's own request (typing, then the debounce): the two sides of the ratio are "
                "measured after the same pause, in the same minute. The same round trips back to back, at the "
                "end, are quicker (nothing has gone cold in between): a figure, not the denominator. "
                f"The page's trigger: `{b['hx_trigger']}`.", "",
                "| Figure | Median | p95 |", "|---|---:|---:|"]
        for key, label in (("keystroke_to_result", "Keystroke to result (what the clinician feels)"),
                           ("keystroke_to_result_minus_debounce", f"… minus the {b['debounce_ms']} ms debounce"),
                           ("ping_round_trip", "htmx round trip to a tiny fragment, after the same pause"),
                           ("ping_back_to_back", "… the same, back to back (a figure)")):
            if key not in b:
                continue
            out.append(f"| {label} | {fmt_spread(b[key]['median_ms'], ' ms', 0)} | "
                       f"{fmt_spread(b[key]['p95_ms'], ' ms', 0)} |")
        for part, label in (("to_send", "… of which: last keydown to the request sent (the debounce and htmx)"),
                            ("server", "… the request until its response arrived (network and server)"),
                            ("swap", "… the response until the result's DOM changed (htmx's swap)")):
            if part in b.get("split", {}):
                out.append(f"| {label} | {fmt_spread(b['split'][part]['median_ms'], ' ms', 0)} | "
                           f"{fmt_spread(b['split'][part]['p95_ms'], ' ms', 0)} |")
        pooled = b["pooled"]
        out += ["", f"p95 over the {pooled['keystroke_to_result_minus_debounce']['n']} edits of every run: "
                f"{pooled['keystroke_to_result_minus_debounce']['p95_ms']} ms, over the p95 of the "
                f"{pooled['ping_round_trip']['n']} pings: {pooled['ping_round_trip']['p95_ms']} ms: "
                f"{b['p95_ratio']}× (run by run: {fmt_spread(b['p95_ratio_runs'], '×')}; a run's p95 of "
                f"{b['edits_per_run']} edits is its second largest, which one stall moves). Edits without a "
                f"result: {b['edits_without_result']}.", ""]

    if "htmx" in report:
        h = report["htmx"]
        out += ["## 2. The server as a clinician types (gunicorn + wrk)", "",
                f"gunicorn, {h['workers']} sync workers, production settings (bench/settings_bench.py: DEBUG off, "
                "cached templates, WhiteNoise, SQLite, sessions and every middleware), loopback; wrk with "
                "bench/wrk_post.lua, signed in (session cookie + X-CSRFToken), `Accept-Encoding: gzip`. "
                f"`product_typing`: the live update with a new workup at each request, cycling through "
                f"{h['typed_workups']:,} pre-generated workups each one field away from the one before "
                "(bench/workloads.py: typing_edits; each run starts elsewhere in the list). `baseline`: "
                "bench/baseline.py, a 10-field form bound, validated and rendered, signed in with the same "
                f"session. At 8 clients, {h['repeats']} runs of {h['duration_s']:g} s each, the two interleaved "
                "(the budget: the median of the typing p95s over the median of the baseline p95s). Figures "
                "measured once: both at 1 client, `product` (one workup repeated: every card held by the page) and "
                "`baseline_bare` (the same form anonymous: the retired reference).", "",
                "| Endpoint | Concurrency | Requests/s | p50 | p95 | p99 | Requests | Not 200 |",
                "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name in TARGETS_HTMX:
            for c in ("c1", "c8"):
                if c not in h[name]:
                    continue
                r = h[name][c]
                out.append(f"| {name} | {c[1:]} | {fmt_spread(r['requests_per_s'], '', 0)} | "
                           f"{fmt_spread(r['p50_ms'], ' ms', 1)} | {fmt_spread(r['p95_ms'], ' ms', 1)} | "
                           f"{fmt_spread(r['p99_ms'], ' ms', 1)} | {r['requests']:,} | "
                           f"{r['not_200'] + r['socket_errors']} |")
        out += ["", f"Typing ÷ signed-in baseline: p95 {h['p95_ratio_typing_c8']}× at 8 clients (run by run: "
                f"{', '.join(f'{x}×' for x in h['p95_ratio_typing_c8_runs'])}), {h['p95_ratio_typing_c1']}× at 1; "
                f"p50 {h['p50_ratio_typing_c8']}× at 8. One workup repeated ÷ the baseline: p95 "
                f"{h['p95_ratio_repeated_c8']}× at 8. Signed-in ÷ anonymous baseline: "
                f"{h['p95_ratio_signed_in_to_bare_c8']}× at 8.", ""]
        prof = h.get("in_process")
        if prof:
            r = prof["requests_ms"]
            out += ["Where the time goes (bench/htmx_profile.py: in-process, through Django's handler and every "
                    f"middleware but no HTTP; CPU time, medians of {prof['runs']} requests):", "",
                    "| In-process | ms |", "|---|---:|"]
            out += [f"| {name} | {ms:.2f} |" for name, ms in r.items()]
            out += [f"| Live update: {name} | {ms:.2f} |" for name, ms in prof["phases_ms"].items()]
            out += ["", "Each phase is timed on its own, in a loop, so its code and data stay in the CPU's caches; "
                    "within a whole request each takes longer, so the phases do not add up to the request.", ""]

    if "storage" in report:
        st = report["storage"]
        out += ["## 3. Storage per saved consult", "",
                f"bench/storage.py: {st['consults']:,} varied consults (the worked cases and seeded random workups, "
                "each with new numbers) saved through `consults.consult_create` into a fresh "
                f"{st['database']} database; bytes after VACUUM, indexes included. Each consult stores its result "
                "compressed against the knowledge base it was computed under, which is stored once per version "
                "(aml_salvage/storage.py).", "",
                "| Table | Bytes |", "|---|---:|"]
        out += [f"| {table} | {size:,} |" for table, size in st["tables"].items()]
        out += ["", f"{st['bytes_per_consult']:,} bytes per consult against {st['old_json_bytes_per_consult']:,} "
                f"for the same consults as uncompressed JSON columns: {st['ratio_to_old_json']:.1%}.", ""]

    if "growth" in report:
        g = report["growth"]
        out += ["## 4. Growth (SQLite)", "",
                "`manage.py seed_growth` (a few hundred workups evaluated by the engine and saved by the service, "
                "the rest copies of their stored rows with their own team, author, identifier and time over ten "
                "years; audit events in bulk), then bench/growth_bench.py in fresh processes, the two databases "
                "in turn: the consult list's first page and the identifier search (POST, then the list it "
                "redirects to; a different identifier each time, one consult found) as one clinician of twelve "
                "teams, in-process through every middleware; the audit CSV export consumed to the end, its peak "
                "the process's resident high-water mark during the export (VmHWM; in brackets, above the "
                "resident size before it). The large database is a copy of the small one grown in bulk "
                "(`seed_growth --append --reuse --fast`): its seeding time includes the small one's.", "",
                "| Database | Seeded in | Size | Visible to the clinician | List p50 / p95 | Search p50 / p95 "
                "| Export: peak, time |", "|---|---:|---:|---:|---:|---:|---:|"]
        for name in ("small", "large"):
            d = g["sizes"][name]
            e = d["export"]
            out.append(
                f"| {d['consults']:,} consults, {d['events']:,} events | {d['seed_s']:.0f} s | "
                f"{d['db_bytes'] / 2**20:,.0f} MiB | {d['visible_to_clinician']:,} | "
                f"{d['list']['median_ms']['median']:.1f} / {fmt_spread(d['list']['p95_ms'], ' ms', 1)} | "
                f"{d['search']['median_ms']['median']:.1f} / {fmt_spread(d['search']['p95_ms'], ' ms', 1)} | "
                f"{e['peak_rss_mib']} MiB (+{e['peak_above_start_mib']}), {e['seconds']} s ({e['rows']:,} rows) |")
        out += ["", f"Large ÷ small: list p95 {g['list_p95_ratio']}×, search p95 {g['search_p95_ratio']}×, export "
                f"peak {g['export_peak_ratio']}×. Backup of the large database (`backup_db`, SQLite's online backup) "
                f"{g['backup_s']} s for {g['backup_bytes'] / 2**20:,.0f} MiB; `restore_db` of it into a new "
                f"database {g['restore_s']} s.", ""]

    out += ["## 5. Load (locust)", ""]
    load = report.get("load", {})
    if load.get("runs"):
        out += [f"{load['status']} ({load.get('date')}, {load.get('tool')}): gunicorn with production settings, "
                f"{load.get('workers')} workers, loopback; bench/locustfile.py (typing, saving, listing, printing).",
                "", "| Database | Clinicians | Requests | Req/s | Errors | Saves acknowledged / in the database | "
                "Typing p95 | Saving p95 | Listing p95 | Printing p95 |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for run in load["runs"]:
            p95 = run["p95_ms"]
            out.append(f"| {run['database']} | {run['users']} | {run['requests']:,} | {run['requests_per_s']} | "
                       f"{run['errors']} | {run['acknowledged_saves']} / {run['db_consults']} | "
                       + " | ".join(f"{p95.get(a, '—')} ms" for a in ("typing", "saving", "listing", "printing"))
                       + " |")
        ramp = load.get("ramp")
        if ramp:
            steps = ", ".join(f"{s['users']}: {s['typing_p95_ms']} ms" for s in ramp["steps"])
            out += ["", f"Step ramp ({ramp['database']}, live update p95 by clinicians): {steps}. "
                    + (f"It passes 3× its 50-clinician figure ({3 * ramp['reference_p95_ms']:.0f} ms) at "
                       f"{ramp['limit_users']} clinicians." if ramp.get("limit_users") else
                       "It stayed within 3× its 50-clinician figure at every step.")]
        out.append("")
    else:
        out += [load.get("status", "not run"), ""]

    if "pdf" in report:
        p = report["pdf"]
        c, r = p["consult"], p["reference"]
        out += ["## 6. PDF", "",
                f"bench/pdf_bench.py --saved (the consult of {p['case']} saved, then printed by "
                "`consults.consult_print`, as the Print button does) and bench/pdf_reference.py (a reference "
                "document of the same number of pages: bench/reference_document.html's sections repeated), "
                "each in fresh processes "
                f"({c['cold_ms']['runs']} each; cold = the first render in a process, warm = median of "
                f"{c['warm_runs_per_process']} more).", "",
                "| Document | Pages | Cold | Warm | Cold per page | Warm per page |", "|---|---:|---:|---:|---:|---:|"]
        for name, d in (("consult", c), ("reference", r)):
            out.append(f"| {name} | {d['pages']} | {fmt_spread(d['cold_ms'], ' ms', 0)} | "
                       f"{fmt_spread(d['warm_ms'], ' ms', 0)} | {fmt_spread(d['cold_per_page_ms'], ' ms', 0)} | "
                       f"{fmt_spread(d['warm_per_page_ms'], ' ms', 0)} |")
        out += ["", f"Consult ÷ reference per page: warm {p['warm_per_page_ratio']}×, cold "
                f"{p['cold_per_page_ratio']}×. Consult cold ÷ warm: {p['consult_cold_to_warm']}×.", ""]

    if "engine" in report:
        e = report["engine"]
        out += ["## 7. Figures: the engine (in-process)", "",
                f"bench/engine_bench.py in a fresh process, {e['worked_cases']['n']} worked cases and "
                f"{e['random_workups']['n']} seeded random valid workups; per result, over "
                f"{e['repeats']} repeats.", "",
                "| Workload | Validate only | Engine only | Validate + evaluate | Results/s | Full ÷ validation "
                "| Validate + evaluate, CPU time |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        for name in ("worked_cases", "random_workups"):
            r = e[name]

            def ms(s):
                return f"{s['median_ms']:.4f} ms ({s['min_ms']:.4f}–{s['max_ms']:.4f})"

            lo, hi = r["results_per_s_spread"]
            out.append(f"| {name.replace('_', ' ')} (n={r['n']}) | {ms(r['validation_only'])} | {ms(r['engine_only'])} "
                       f"| {ms(r['validate_and_evaluate'])} | {r['results_per_s']:,} ({lo:,}–{hi:,}) "
                       f"| {r['ratio_full_to_validation']:.1f}× | {ms(r['validate_and_evaluate_cpu'])} |")
        out.append("")

    if "weight" in report:
        w = report["weight"]
        out += ["## 7. Figures: page weight", "",
                "As served by the bench gunicorn (WhiteNoise serves the assets, compressed "
                "when the browser accepts it).", "", "| What | Raw bytes | On the wire |", "|---|---:|---:|",
                f"| Workspace page (HTML) | {w['page_html_bytes']:,} | {w['page_html_wire_bytes']:,} "
                f"({w['page_html_encoding']}) |"]
        for a in w["assets"]:
            out.append(f"| {a['url']} | {a['bytes']:,} | {a['wire_bytes']:,} ({a['encoding']}) |")
        out += [f"| **Page with its assets** | **{w['page_with_assets_bytes']:,}** | "
                f"**{w['page_with_assets_wire_bytes']:,}** |",
                f"| **Update fragment** ({w['case']}, a page holding every key: its parts) | "
                f"**{w['fragment_bytes']:,}** | **{w['fragment_wire_bytes']:,}** ({w['fragment_encoding']}) |", ""]
        if w.get("fragments_by_case"):
            out += ["Update fragment of every worked case (a page's first live update, nothing held: the whole "
                    "panel):", "",
                    "| Case | Raw bytes | On the wire |", "|---|---:|---:|"]
            out += [f"| {stem} | {v['bytes']:,} | {v['wire_bytes']:,} |" for stem, v in w["fragments_by_case"].items()]
            out.append("")

    if "cli" in report:
        c, e = report["cli"], report["cli"]["engine"]
        out += ["## Issue 17: the command line", "",
                f"bench/cli_bench.py, fresh processes, settings `{c['settings']}`, {c['repeats']} interleaved runs "
                f"each. Batch: `recommend --jsonl` over {c['batch_n']:,} seeded random workups minus the same over "
                "their first line, per workup; the engine alone is `consult_evaluate` on the same workups, "
                "already validated, in one process.", "",
                "| Figure | Time |", "|---|---:|",
                f"| `python -c pass` | {fmt_spread(c['python_alone_ms'], ' ms', 0)} |",
                f"| `python -c \"import django; django.setup()\"` | {fmt_spread(c['django_setup_ms'], ' ms', 0)} |",
                f"| `recommend --compact {c['case']}.json`, start to first result | "
                f"{fmt_spread(c['startup_to_first_result_ms'], ' ms', 0)} |",
                f"| `recommend --jsonl`, per workup in a batch | {fmt_spread(c['batch_ms_per_workup'], ' ms', 2)} |",
                f"| Engine alone, per workup | {fmt_spread(e['engine_ms_per_workup'], ' ms', 2)} |",
                f"| knowledge_load from the YAML (libyaml) | {fmt_spread(e['knowledge_load_libyaml_ms'], ' ms', 0)} |",
                f"| knowledge_load from the YAML (pure-Python parser, before issue 17) | "
                f"{fmt_spread(e['knowledge_load_pure_python_yaml_ms'], ' ms', 0)} |", "",
                f"Start-up ÷ bare django.setup(): {c['startup_ratio']}×; batch per workup ÷ engine alone: "
                f"{c['batch_ratio']}×. Where one start-up goes (one fresh process, medians, the knowledge-base "
                "cache already written):", "", "| Phase | ms |", "|---|---:|"]
        out += [f"| {name} | {ms:.1f} |" for name, ms in c["startup_phases_ms"].items()]
        out.append("")

    if report.get("notes"):
        out += ["## Notes", ""] + [f"- {n}" for n in report["notes"]] + [""]
    return "\n".join(out)


# --- main -------------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=6, help="seconds per wrk run (default 6)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="wrk runs of the budget's two sides at 8 clients, interleaved (default 5)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of wrk warm-up per endpoint (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--random", type=int, default=600, help="random workups for the engine (default 600)")
    parser.add_argument("--engine-repeats", type=int, default=3, help="passes over each workload (default 3)")
    parser.add_argument("--pdf-repeats", type=int, default=3, help="fresh processes per document (default 3)")
    parser.add_argument("--pdf-runs", type=int, default=3, help="warm renders per process (default 3)")
    parser.add_argument("--cli-repeats", type=int, default=3,
                        help="interleaved runs of each command-line measurement (default 3)")
    parser.add_argument("--typing-bodies", type=int, default=4000,
                        help="pre-generated typed workups the live update cycles through (default 4,000)")
    parser.add_argument("--profile-runs", type=int, default=300, help="in-process requests per figure (default 300)")
    parser.add_argument("--browser-edits", type=int, default=40, help="edits per chromium run (default 40, ≥ 30)")
    parser.add_argument("--browser-repeats", type=int, default=2, help="chromium runs (default 2)")
    parser.add_argument("--storage-consults", type=int, default=1000,
                        help="consults saved for budget 3 (default 1,000)")
    parser.add_argument("--growth-consults", type=int, default=100_000, help="large database (default 100,000)")
    parser.add_argument("--growth-events", type=int, default=1_000_000, help="its audit events (default 1,000,000)")
    parser.add_argument("--growth-requests", type=int, default=100, help="list and search requests per run")
    parser.add_argument("--growth-repeats", type=int, default=2, help="runs of each database, in turn (default 2)")
    parser.add_argument("--quick", action="store_true",
                        help="a quicker run for development: shorter wrk runs, fewer repeats, a 10,000-consult large "
                             "database (the growth verdicts then speak for 10,000)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    parser.add_argument("--out", type=Path, default=BENCH / "results.md")
    parser.add_argument("--json", type=Path, default=BENCH / "results.json")
    args = parser.parse_args()
    if args.quick:
        for name, value in {"duration": 5, "repeats": 2, "warmup": 2, "random": 500, "engine_repeats": 3,
                            "pdf_repeats": 2, "pdf_runs": 3, "cli_repeats": 1, "typing_bodies": 2000,
                            "browser_edits": 30, "browser_repeats": 1, "storage_consults": 200,
                            "growth_consults": 10_000, "growth_events": 100_000, "growth_requests": 60,
                            "growth_repeats": 2, "profile_runs": 100}.items():
            setattr(args, name, value)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}")
    if {"htmx", "weight"} & only and not shutil.which("wrk"):
        parser.error("wrk is not installed: `make bench-deps` (apt-get install wrk)")

    report: dict = {"environment": environment(), "targets": TARGETS, "notes": [], "quick": args.quick}
    tmp = Path(tempfile.mkdtemp(prefix="aml-salvage-bench-"))
    failed = False
    try:
        if "engine" in only:
            report["engine"] = section_engine(args, tmp)
        if {"htmx", "weight", "browser", "growth"} & only:
            server = BenchServer(tmp, args.workers, args.typing_bodies)
            log("htmx: database, static files, a signed-in clinician ...")
            server.prepare()
            server.start()
            try:
                report["htmx_checks"] = check_responses(server)
                if "weight" in only:
                    report["weight"] = section_weight(server)
                if "browser" in only:
                    report["browser"] = section_browser(args, server)
                if "htmx" in only:
                    report["htmx"] = section_htmx(args, server)
            finally:
                server.stop()
            if "htmx" in only:  # after the server stopped: nothing else on the CPUs
                log("htmx: where the time goes, in-process (bench/htmx_profile.py) ...")
                report["htmx"]["in_process"] = run_json(
                    [PY, "bench/htmx_profile.py", "--case", str(CASE), "--runs", str(args.profile_runs)],
                    env={**os.environ, "AML_BENCH_DB": str(tmp / "profile.sqlite3"),
                         "DJANGO_STATIC_ROOT": str(tmp / "static"), "PYTHONPATH": str(ROOT)})
        if "storage" in only:
            report["storage"] = section_storage(args, tmp)
        if "growth" in only:
            report["growth"] = section_growth(args, tmp, tmp / "static")
        if "pdf" in only:
            report["pdf"] = section_pdf(args, tmp)
        if "cli" in only:
            report["cli"] = section_cli(args)
        report["load"] = section_load() if "load" in only else {"status": "not measured in this run"}
    except (RuntimeError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        failed = True
        report["error"] = str(exc)
        log(f"bench: {exc}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report["environment"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["environment"]["duration_s"] = round(time.monotonic() - _STARTED)
    report["verdicts"] = verdicts(report)
    report["notes"] += explain(report)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    args.out.write_text(markdown(report) + "\n")
    for v in report["verdicts"]:
        word = "BUSY  " if v["holds"] is None else "holds " if v["holds"] else "MISSED"
        log(f"{word}  {v['target']}: {v['value']}{v['unit']} (limit {v['limit']})")
    log(f"written {args.out} and {args.json}")
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
