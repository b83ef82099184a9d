"""`make bench`: the consult loop measured against its limits (issue 6), in one go, on this machine.

    .venv/bin/python bench/run.py [--duration 10] [--repeats 3] [--only engine,htmx,pdf,weight,load]

Sections, each figure the median with its spread (min–max) over repeated runs:

1. Engine — results per second in-process over the worked cases and seeded random workups, and one full
   result against validating the workup alone (bench/engine_bench.py, in a fresh process).
2. HTMX update — the workspace's live update (the DT20 Patient 1 workup posted with HX-Request, signed in)
   under gunicorn (2 sync workers, production settings: bench/settings_bench.py) on loopback, driven by wrk
   at concurrency 1 and 8 (bench/wrk_post.lua); in the same run and server, the baseline view
   (bench/baseline.py: a 10-field form bound, validated and rendered). Ratio of the p95s.
3. PDF — the consult of DT20 Patient 1 (bench/pdf_bench.py) and the fixed reference document
   (bench/pdf_reference.py), each in fresh processes: cold (first render) and warm median, per page.
4. Page weight — the workspace page with every stylesheet and script it loads, and one update fragment, as
   served by that gunicorn (raw and compressed on the wire).
5. Load — bench/loadtest_results.json (`make loadtest`), summarised when it exists.
6. Command line (issue 17) — `manage.py recommend`: start-up to the first result against a bare
   django.setup() with the same settings, and the cost of each workup in a JSON Lines batch of 1,000 against
   the engine alone on the same workups; where start-up goes (bench/cli_bench.py, fresh processes).

Writes bench/results.md and bench/results.json (both git-ignored). Exit status 0 when it ran, whatever the
verdicts (the report states which targets hold); 2 when a measurement could not be made.
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
SECTIONS = ("engine", "htmx", "pdf", "weight", "load", "cli")
BEFORE = BENCH / "before_figures.json"  # the same measurements on the code before issue 6's changes

TARGETS = {
    "engine_results_per_s": 5000,  # ≥
    "htmx_p95_ratio_c8": 3.0,  # ≤ (ours / baseline, p95 at concurrency 8)
    "pdf_warm_per_page_ratio": 1.5,  # ≤ (consult / reference document, warm, per page)
    "pdf_cold_to_warm": 2.0,  # ≤ (consult cold / consult warm)
    "page_bytes": 150_000,  # ≤ (workspace page + its CSS and JS, raw)
    "fragment_bytes": 40_000,  # ≤ (one update fragment, raw HTML)
    "cli_startup_ratio": 3.0,  # ≤ (recommend, process start to first result / bare django.setup(), same settings)
    "cli_batch_ratio": 2.0,  # ≤ (per workup in a batch of 1,000 / the engine alone on the same workups)
}


# --- small helpers ------------------------------------------------------------------------------------

def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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
    "product_body": urlencode(form_data_from_workup(workup), doseq=True), "baseline_body": urlencode(BASELINE_POST),
    "case_bodies": cases,
    # A clinician typing: the same workup, the weight 0.1 kg more at each update (60.0-159.9 kg).
    "typed_bodies": [urlencode({**form_data_from_workup(workup), "weight_kg": f"{60 + i / 10:.1f}"}, doseq=True)
                     for i in range(1000)],
}))
"""


class BenchServer:
    """gunicorn with bench/settings_bench.py on a free loopback port, a throwaway database and static root."""

    def __init__(self, tmp: Path, workers: int):
        self.tmp = tmp
        self.workers = workers
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
        self.session = run_json([PY, "-c", _SESSION_SCRIPT, str(CASE)], env=self.env)
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
            signed_in: bool = True) -> dict:
        threads = 1 if connections == 1 else 2
        cookie = self.cookie if signed_in else f"csrftoken={self.session['csrftoken']}"
        env = {**os.environ, "BENCH_BODY_FILE": str(body_file), "BENCH_COOKIE": cookie,
               "BENCH_CSRF": self.session["csrftoken"], "BENCH_HTMX": "1" if htmx else "0"}
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


# name: (path, body, HX-Request, signed in)
TARGETS_HTMX = {
    "product": ("/", "product.body", True, True),
    "baseline_bare": ("/bench/baseline-bare/", "baseline.body", False, False),
    "baseline": ("/bench/baseline/", "baseline.body", False, True),
    # Not a target: the live update as a clinician types (a new workup each request), beside the measured one.
    "product_typing": ("/", "typed.bodies", True, True),
}
RATIO_TO = "baseline_bare"  # the reference: a bare 10-field form POST


def check_responses(server: BenchServer) -> dict:
    """What is measured is what is meant: the fragment (not the page, not a redirect) and a valid form."""
    status, _, body = server.request("POST", "/", body=server.session["product_body"], htmx=True)
    text = body.decode()
    options = text.count("data-option=")
    if status != 200 or 'id="result-panel"' not in text or "<html" in text or options < 20:
        raise RuntimeError(f"the live update did not return the result fragment (status {status}, {options} options)")
    for path, _, _, signed_in in (TARGETS_HTMX["baseline"], TARGETS_HTMX["baseline_bare"]):
        status, _, body = server.request("POST", path, body=server.session["baseline_body"], cookie=signed_in,
                                         csrf_cookie=True)
        if status != 200 or b"Saved" not in body:
            raise RuntimeError(f"the baseline view {path} did not validate its form (status {status})")
    status, _, body = server.request("POST", "/", body=server.session["typed_bodies"][-1], htmx=True)
    if status != 200 or b"159.9 kg" not in body:
        raise RuntimeError(f"the typed workups are not evaluated (status {status})")
    return {"fragment_options": options}


def section_htmx(args, server: BenchServer) -> dict:
    tmp = server.tmp
    log("htmx: warming both workers ...")
    for path, body, htmx, signed_in in TARGETS_HTMX.values():
        server.wrk(path, tmp / body, connections=8, duration=args.warmup, htmx=htmx, signed_in=signed_in)
    runs: dict[str, dict[int, list[dict]]] = {name: {1: [], 8: []} for name in TARGETS_HTMX}
    for rep in range(1, args.repeats + 1):
        for connections in (1, 8):
            for name, (path, body, htmx, signed_in) in TARGETS_HTMX.items():  # interleaved: drift hits all alike
                log(f"htmx: run {rep}/{args.repeats}, {name}, concurrency {connections}, {args.duration:g} s ...")
                runs[name][connections].append(server.wrk(path, tmp / body, connections=connections,
                                                          duration=args.duration, htmx=htmx, signed_in=signed_in))
    figures: dict = {"duration_s": args.duration, "repeats": args.repeats, "workers": server.workers,
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
            figures[f"{p}_ratio_{c}"] = round(figures["product"][c][f"{p}_ms"]["median"]
                                              / figures[RATIO_TO][c][f"{p}_ms"]["median"], 2)
            figures[f"{p}_ratio_signed_in_{c}"] = round(figures["product"][c][f"{p}_ms"]["median"]
                                                        / figures["baseline"][c][f"{p}_ms"]["median"], 2)
            figures[f"{p}_ratio_typing_{c}"] = round(figures["product_typing"][c][f"{p}_ms"]["median"]
                                                     / figures[RATIO_TO][c][f"{p}_ms"]["median"], 2)
    return figures


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
    end_of_options = html.find('<section class="result-section references"')
    parts: dict[str, int] = {}
    for start, end in zip(starts, [*starts[1:], end_of_options], strict=True):
        tier = _OPTION_TIER.search(html, start).group(1)
        parts[f"{tier}_cards"] = parts.get(f"{tier}_cards", 0) + len(html[start:end].encode())
        parts[f"{tier}_count"] = parts.get(f"{tier}_count", 0) + 1
    parts["everything_else"] = len(html.encode()) - sum(v for k, v in parts.items() if k.endswith("_cards"))
    return parts


# --- 3. PDF ---------------------------------------------------------------------------------------------

def section_pdf(args, tmp: Path) -> dict:
    consult, reference = [], []
    for i in range(1, args.pdf_repeats + 1):  # fresh processes each time: each gives a cold figure
        log(f"pdf: consult and reference document, process {i}/{args.pdf_repeats} ...")
        out = tmp / f"pdf_{i}.json"
        subprocess.run([PY, "bench/pdf_bench.py", "--runs", str(args.pdf_runs), "--case", str(CASE),
                        "--out", str(out)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        consult.append(json.loads(out.read_text()))
        reference.append(run_json([PY, "bench/pdf_reference.py", "--runs", str(args.pdf_runs)]))

    def summary(samples: list[dict]) -> dict:
        pages = samples[0]["pages"]
        cold = [s["cold_total_ms"] for s in samples]
        warm = [s["warm_median_total_ms"] for s in samples]
        return {"pages": pages, "cold_ms": spread(cold, 1), "warm_ms": spread(warm, 1),
                "cold_per_page_ms": spread([c / pages for c in cold], 1),
                "warm_per_page_ms": spread([w / pages for w in warm], 1),
                "warm_runs_per_process": samples[0]["warm_runs"], "bytes": samples[0]["bytes"]}

    c, r = summary(consult), summary(reference)
    return {"case": CASE.stem, "consult": c, "reference": r,
            "warm_per_page_ratio": round(c["warm_per_page_ms"]["median"] / r["warm_per_page_ms"]["median"], 2),
            "cold_per_page_ratio": round(c["cold_per_page_ms"]["median"] / r["cold_per_page_ms"]["median"], 2),
            "consult_cold_to_warm": round(c["cold_ms"]["median"] / c["warm_ms"]["median"], 2)}


# --- 5. load --------------------------------------------------------------------------------------------

def section_load() -> dict:
    path = BENCH / "loadtest_results.json"
    if not path.exists():
        return {"status": "not run (make loadtest writes bench/loadtest_results.json)"}
    data = json.loads(path.read_text())
    return {"status": "from bench/loadtest_results.json", "date": data.get("date"),
            "clients": data.get("clients"), "gunicorn_workers": data.get("gunicorn_workers"),
            "think_s": data.get("think_s"), "duration_s": data.get("duration_s"),
            "requests_per_s": data.get("requests_per_s"), "p95_ms_all": data.get("p95_ms_all"),
            "endpoints": data.get("endpoints", {}), "errors": data.get("errors"),
            "lost_consults": data.get("lost_consults"), "machine": data.get("machine")}


# --- 6. command line ------------------------------------------------------------------------------------

def section_cli(args) -> dict:
    log("cli: recommend start-up and a batch of 1,000 workups (bench/cli_bench.py) ...")
    return run_json([PY, "bench/cli_bench.py", "--repeats", str(args.cli_repeats), "--batch", "1000"])


# --- verdicts and report ---------------------------------------------------------------------------------

def verdicts(report: dict) -> list[dict]:
    rows = []

    def add(name, value, limit, holds, unit=""):
        rows.append({"target": name, "value": value, "limit": limit, "unit": unit, "holds": holds})

    if "engine" in report:
        slowest = min(report["engine"][k]["results_per_s"] for k in ("worked_cases", "random_workups"))
        add("Engine ≥ 5,000 results/s in-process (validate + evaluate, slower workload)", slowest,
            f"≥ {TARGETS['engine_results_per_s']:,}", slowest >= TARGETS["engine_results_per_s"], "/s")
    if "htmx" in report:
        limit = TARGETS["htmx_p95_ratio_c8"]
        ratio = report["htmx"]["p95_ratio_signed_in_c8"]
        add("HTMX update p95 at concurrency 8 ≤ 3× the baseline view's — signed in, same session and middleware",
            ratio, f"≤ {limit}×", ratio <= limit, "×")
        ratio = report["htmx"]["p95_ratio_c8"]
        add("HTMX update p95 at concurrency 8 ≤ 3× the baseline view's — bare (anonymous, no session)", ratio,
            f"≤ {limit}×", ratio <= limit, "×")
    if "pdf" in report:
        ratio = report["pdf"]["warm_per_page_ratio"]
        add("PDF warm render per page ≤ 1.5× the reference document's", ratio,
            f"≤ {TARGETS['pdf_warm_per_page_ratio']}×", ratio <= TARGETS["pdf_warm_per_page_ratio"], "×")
        ratio = report["pdf"]["consult_cold_to_warm"]
        add("PDF cold render ≤ 2× warm", ratio, f"≤ {TARGETS['pdf_cold_to_warm']}×",
            ratio <= TARGETS["pdf_cold_to_warm"], "×")
    if "weight" in report:
        w = report["weight"]
        add("Workspace page with its assets ≤ 150 KB (raw)", w["page_with_assets_bytes"],
            f"≤ {TARGETS['page_bytes']:,}", w["page_with_assets_bytes"] <= TARGETS["page_bytes"], " B")
        add("Update fragment ≤ 40 KB (raw HTML)", w["fragment_bytes"], f"≤ {TARGETS['fragment_bytes']:,}",
            w["fragment_bytes"] <= TARGETS["fragment_bytes"], " B")
        add("Update fragment ≤ 40 KB (on the wire, gzip)", w["fragment_wire_bytes"],
            f"≤ {TARGETS['fragment_bytes']:,}", w["fragment_wire_bytes"] <= TARGETS["fragment_bytes"], " B")
    if "cli" in report:
        c = report["cli"]
        add("recommend: process start to the first result ≤ 3× a bare django.setup() (same settings)",
            c["startup_ratio"], f"≤ {TARGETS['cli_startup_ratio']}×",
            c["startup_ratio"] <= TARGETS["cli_startup_ratio"], "×")
        add("recommend --jsonl: per workup in a batch of 1,000 ≤ 2× the engine alone (validation, JSON included)",
            c["batch_ratio"], f"≤ {TARGETS['cli_batch_ratio']}×", c["batch_ratio"] <= TARGETS["cli_batch_ratio"], "×")
    return rows


def explain(report: dict) -> list[str]:
    """What the figures of a missed target are made of, from this run's own measurements."""
    notes = []
    h, w, p = report.get("htmx"), report.get("weight"), report.get("pdf")
    if h and h["p95_ratio_c8"] > TARGETS["htmx_p95_ratio_c8"]:
        floor = h["baseline"]["c8"]["p95_ms"]["median"] / h["baseline_bare"]["c8"]["p95_ms"]["median"]
        notes.append(
            f"HTMX against the bare baseline: being signed in alone costs {floor:.1f}× at p95, concurrency 8 (the "
            "signed-in baseline against the bare one: the session and the user are read from the database on every "
            "request, and the session is renewed at most once a minute for the idle timeout). Against "
            f"the signed-in baseline the live update is {h['p95_ratio_signed_in_c8']}×.")
        prof = h.get("in_process")
        if prof:
            r, ph = prof["requests_ms"], prof["phases_ms"]
            top = max(((k, v) for k, v in ph.items() if not k.startswith("view, whole")), key=lambda kv: kv[1])
            notes.append(
                f"In-process, the live update takes {r['product']:.2f} ms, {r['product'] - r['baseline']:.2f} ms "
                f"more than the signed-in baseline ({r['baseline']:.2f} ms; bare {r['baseline_bare']:.2f} ms). The "
                f"view takes {ph.get('view, whole (all of the below but gzip)', 0.0):.2f} ms of it; its largest "
                f"measured part is the {top[0]} ({top[1]:.2f} ms: 28 options, each with its reasons, evidence "
                f"lines and, for the preferred ones, doses and warnings); the engine is "
                f"{ph['engine (consult_evaluate)']:.2f} ms. Within 3× of the bare form would leave the update "
                f"{3 * r['baseline_bare'] - r['baseline']:.2f} ms above the signed-in floor for all of its work.")
    if w:
        c = w["fragment_composition"]
        parts = ", ".join(f"{c.get(t + '_count', 0)} {t.replace('_', '-')} {c.get(t + '_cards', 0):,} B"
                          for t in ("preferred", "alternative", "consider", "not_recommended"))
        notes.append(
            f"Fragment of {w['case']} ({w['fragment_bytes']:,} B raw, {w['fragment_wire_bytes']:,} B as transferred): "
            f"options by tier — {parts} (every option with its tier, target, availability and every reason with "
            "its rule id; an evidence line per record; the preferred options' dose tables and warnings); "
            f"assessment, actions, references and the live status {c['everything_else']:,} B.")
        by_case = w.get("fragments_by_case") or {}
        if by_case:
            largest = max(by_case.items(), key=lambda kv: kv[1]["bytes"])
            notes.append(
                f"Across the {len(by_case)} worked cases the fragment is {min(v['bytes'] for v in by_case.values()):,}"
                f"–{largest[1]['bytes']:,} B raw (largest: {largest[0]}) and "
                f"{min(v['wire_bytes'] for v in by_case.values()):,}–{max(v['wire_bytes'] for v in by_case.values()):,}"
                " B as transferred.")
    if p and p["warm_per_page_ratio"] > TARGETS["pdf_warm_per_page_ratio"]:
        notes.append(
            f"PDF: the consult renders in {p['consult']['warm_per_page_ms']['median']:.0f} ms per page warm, the "
            f"reference document in {p['reference']['warm_per_page_ms']['median']:.0f} ms per page.")
    return notes


def markdown(report: dict) -> str:
    env = report["environment"]
    out = ["# `make bench` — AML Salvage consult loop against its limits", "",
           f"Run {env['date']} on commit {env['git_commit']}. Medians, with the spread (min–max) over repeated "
           "runs in brackets. Regenerate with `make bench`.", "", "## Verdicts", "",
           "| Target | Measured | Limit | Holds |", "|---|---:|---:|:---:|"]
    for v in report["verdicts"]:
        value = f"{v['value']:,}" if isinstance(v["value"], int) else f"{v['value']}"
        out.append(f"| {v['target']} | {value}{v['unit']} | {v['limit']} | {'yes' if v['holds'] else '**no**'} |")
    out += ["", "## Environment", "", "| | |", "|---|---|"]
    for key in ("cpu_model", "cpu_count", "memory_gib", "platform", "python", "django", "weasyprint", "gunicorn",
                "pydantic", "wrk", "git_commit", "date", "load_average_at_start", "load_average_at_end"):
        if key in env:
            out.append(f"| {key.replace('_', ' ')} | {env[key]} |")
    out += ["", "The machine may be shared: the load averages above say how busy it was. Ratios are measured "
            "in the same run, so both sides of a ratio saw the same conditions.", ""]

    if "engine" in report:
        e = report["engine"]
        out += ["## 1. Engine (in-process)", "",
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

    if "htmx" in report:
        h = report["htmx"]
        out += ["## 2. HTMX update under gunicorn", "",
                f"gunicorn, {h['workers']} sync workers, production settings (bench/settings_bench.py: DEBUG off, "
                "cached templates, WhiteNoise, SQLite, sessions and every middleware), loopback; wrk with "
                "bench/wrk_post.lua, signed in (session cookie + X-CSRFToken), `Accept-Encoding: gzip`. "
                f"{h['repeats']} runs of {h['duration_s']:g} s per line, product and baseline interleaved. "
                "Product: the workspace's live update, the DT20 Patient 1 workup posted with `HX-Request`; "
                "`product_typing` (not a target): the same with the weight 0.1 kg more at each request (1,000 "
                "workups in turn), as a clinician types — the assessment and dose tables are rendered afresh. "
                "Baselines: bench/baseline.py, a 10-field form bound, validated and rendered as a small page — "
                "`baseline_bare` anonymous (no session), `baseline` signed in with the product's session "
                "(read on every request, renewed at most once a minute for production's idle timeout).", "",
                "| Endpoint | Concurrency | Requests/s | p50 | p95 | p99 | Requests | Not 200 |",
                "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name in TARGETS_HTMX:
            for c in ("c1", "c8"):
                r = h[name][c]
                out.append(f"| {name} | {c[1:]} | {fmt_spread(r['requests_per_s'], '', 0)} | "
                           f"{fmt_spread(r['p50_ms'], ' ms', 1)} | {fmt_spread(r['p95_ms'], ' ms', 1)} | "
                           f"{fmt_spread(r['p99_ms'], ' ms', 1)} | {r['requests']:,} | "
                           f"{r['not_200'] + r['socket_errors']} |")
        out += ["", f"Ratio of ours to the bare baseline (anonymous: no session read or written): p95 "
                f"{h['p95_ratio_c8']}× at concurrency 8 ({h['p95_ratio_c1']}× at 1); p50 {h['p50_ratio_c8']}× at 8 "
                f"({h['p50_ratio_c1']}× at 1). To the signed-in baseline (the same session as ours): p95 "
                f"{h['p95_ratio_signed_in_c8']}× at 8 ({h['p95_ratio_signed_in_c1']}× at 1)."
                + (f" Not a target — as a clinician types (`product_typing`), to the bare baseline: p95 "
                   f"{h['p95_ratio_typing_c8']}× at 8 ({h['p95_ratio_typing_c1']}× at 1)."
                   if "p95_ratio_typing_c8" in h else ""), ""]
        prof = h.get("in_process")
        if prof:
            r = prof["requests_ms"]
            out += ["Where the time goes (bench/htmx_profile.py: in-process, through Django's handler and every "
                    f"middleware but no HTTP; medians of {prof['runs']} requests):", "",
                    "| In-process | ms |", "|---|---:|",
                    f"| Live update, whole request | {r['product']:.2f} |",
                    f"| Baseline form, signed in, whole request | {r['baseline']:.2f} |",
                    f"| Baseline form, anonymous, whole request | {r['baseline_bare']:.2f} |"]
            if "product_new_workup_each_time" in r:
                out += [f"| Live update, a new workup each time (the weight typed on: assessment and dose tables "
                        f"rendered afresh, unchanged cards kept) | {r['product_new_workup_each_time']:.2f} |",
                        f"| Live update, nothing kept (every card, dose table and part rendered afresh) | "
                        f"{r['product_nothing_kept']:.2f} |"]
            out += [f"| Live update: {name} | {ms:.2f} |" for name, ms in prof["phases_ms"].items()]
            out += ["", "Each phase is timed on its own, in a loop, so its code and data stay in the CPU's caches; "
                    "within a whole request each takes longer, so the phases do not add up to the request. The "
                    "repeated workup is what the target measures; the two lines after the baselines show a "
                    "clinician typing (a new workup each update) and the worst case (nothing kept, e.g. the first "
                    "update a worker serves).", ""]

    if "pdf" in report:
        p = report["pdf"]
        c, r = p["consult"], p["reference"]
        out += ["## 3. PDF", "",
                f"bench/pdf_bench.py (consult of {p['case']}) and bench/pdf_reference.py "
                "(bench/reference_document.html), each in fresh processes "
                f"({c['cold_ms']['runs']} each; cold = the first render in a process, warm = median of "
                f"{c['warm_runs_per_process']} more).", "",
                "| Document | Pages | Cold | Warm | Cold per page | Warm per page |", "|---|---:|---:|---:|---:|---:|"]
        for name, d in (("consult", c), ("reference", r)):
            out.append(f"| {name} | {d['pages']} | {fmt_spread(d['cold_ms'], ' ms', 0)} | "
                       f"{fmt_spread(d['warm_ms'], ' ms', 0)} | {fmt_spread(d['cold_per_page_ms'], ' ms', 0)} | "
                       f"{fmt_spread(d['warm_per_page_ms'], ' ms', 0)} |")
        out += ["", f"Consult ÷ reference per page: warm {p['warm_per_page_ratio']}×, cold "
                f"{p['cold_per_page_ratio']}×. Consult cold ÷ warm: {p['consult_cold_to_warm']}×.", ""]

    if "weight" in report:
        w = report["weight"]
        out += ["## 4. Page weight", "", "As served by the bench gunicorn (WhiteNoise serves the assets, compressed "
                "when the browser accepts it).", "", "| What | Raw bytes | On the wire |", "|---|---:|---:|",
                f"| Workspace page (HTML) | {w['page_html_bytes']:,} | {w['page_html_wire_bytes']:,} "
                f"({w['page_html_encoding']}) |"]
        for a in w["assets"]:
            out.append(f"| {a['url']} | {a['bytes']:,} | {a['wire_bytes']:,} ({a['encoding']}) |")
        out += [f"| **Page with its assets** | **{w['page_with_assets_bytes']:,}** | "
                f"**{w['page_with_assets_wire_bytes']:,}** |",
                f"| **Update fragment** ({w['case']}) | **{w['fragment_bytes']:,}** | "
                f"**{w['fragment_wire_bytes']:,}** ({w['fragment_encoding']}) |", ""]
        if w.get("fragments_by_case"):
            out += ["Update fragment of every worked case (the same live update, each case's workup):", "",
                    "| Case | Raw bytes | On the wire |", "|---|---:|---:|"]
            out += [f"| {stem} | {v['bytes']:,} | {v['wire_bytes']:,} |" for stem, v in w["fragments_by_case"].items()]
            out.append("")

    out += ["## 5. Load", ""]
    load = report.get("load", {})
    if load.get("endpoints"):
        out += [f"{load['status']} ({load.get('date')}): {load['clients']} clinicians, {load['gunicorn_workers']} "
                f"gunicorn workers, think time {load['think_s']} s, {load['duration_s']} s: {load['requests_per_s']} "
                f"req/s, p95 {load['p95_ms_all']} ms overall, {load['errors']} errors, {load['lost_consults']} lost "
                "consults.", "", "| Endpoint | Requests | p50 | p95 | p99 |", "|---|---:|---:|---:|---:|"]
        for name, row in load["endpoints"].items():
            out.append(f"| {name} | {row['requests']:,} | {row['p50_ms']} ms | {row['p95_ms']} ms "
                       f"| {row['p99_ms']} ms |")
        out.append("")
    else:
        out += [load.get("status", "not run"), ""]

    if "cli" in report:
        c, e = report["cli"], report["cli"]["engine"]
        out += ["## 6. Command line", "",
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

    before = report.get("before")
    if before:
        out += ["## Before and after", "", before.get("note", ""), "",
                "| Figure | Before | After |", "|---|---:|---:|"]
        for row in before_after(before, report):
            out.append(f"| {row[0]} | {row[1]} | {row[2]} |")
        out.append("")
    if report.get("notes"):
        out += ["## Notes", ""] + [f"- {n}" for n in report["notes"]] + [""]
    return "\n".join(out)


def before_after(before: dict, report: dict) -> list[tuple[str, str, str]]:
    rows = []
    e = report.get("engine")
    if e and "engine_ms_per_result" in before:
        after = e["random_workups"]["validate_and_evaluate"]["median_ms"]
        rows.append(("Engine, ms per result (random workups, validate + evaluate)",
                     f"{before['engine_ms_per_result']:.3f}", f"{after:.3f}"))
        rows.append(("Engine, results/s", f"{1000 / before['engine_ms_per_result']:,.0f}",
                     f"{e['random_workups']['results_per_s']:,}"))
    h = report.get("htmx")
    if h and "htmx" in before:
        b = before["htmx"]
        for c in ("c1", "c8"):
            if c in b:
                rows.append((f"HTMX update p50 / p95, concurrency {c[1:]} (ms)",
                             f"{b[c]['p50_ms']:.1f} / {b[c]['p95_ms']:.1f}",
                             f"{h['product'][c]['p50_ms']['median']:.1f} / {h['product'][c]['p95_ms']['median']:.1f}"))
                rows.append((f"HTMX update requests/s, concurrency {c[1:]}", f"{b[c]['requests_per_s']:,.0f}",
                             f"{h['product'][c]['requests_per_s']['median']:,.0f}"))
        if "p95_ratio_c8" in b:
            rows.append(("p95 ratio to the bare baseline, concurrency 8", f"{b['p95_ratio_c8']}×",
                         f"{h['p95_ratio_c8']}×"))
        if "p95_ratio_signed_in_c8" in b:
            rows.append(("p95 ratio to the signed-in baseline, concurrency 8", f"{b['p95_ratio_signed_in_c8']}×",
                         f"{h['p95_ratio_signed_in_c8']}×"))
    w = report.get("weight")
    if w and "fragment_bytes" in before:
        rows.append(("Update fragment, raw bytes", f"{before['fragment_bytes']:,}", f"{w['fragment_bytes']:,}"))
        rows.append(("Update fragment, gzip on the wire", f"{before['fragment_wire_bytes']:,}",
                     f"{w['fragment_wire_bytes']:,}"))
    if w and "page_with_assets_bytes" in before:
        rows.append(("Workspace page with assets, raw bytes", f"{before['page_with_assets_bytes']:,}",
                     f"{w['page_with_assets_bytes']:,}"))
    return rows


# --- main -------------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--repeats", type=int, default=3, help="wrk runs per endpoint and concurrency (default 3)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of wrk warm-up per endpoint (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--random", type=int, default=3000, help="random workups for the engine (default 3000)")
    parser.add_argument("--engine-repeats", type=int, default=9, help="passes over each workload (default 9)")
    parser.add_argument("--pdf-repeats", type=int, default=3, help="fresh processes per document (default 3)")
    parser.add_argument("--pdf-runs", type=int, default=5, help="warm renders per process (default 5)")
    parser.add_argument("--cli-repeats", type=int, default=3,
                        help="interleaved runs of each command-line measurement (default 3)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    parser.add_argument("--out", type=Path, default=BENCH / "results.md")
    parser.add_argument("--json", type=Path, default=BENCH / "results.json")
    parser.add_argument("--write-before", type=Path, default=None,
                        help="also write the figures the report compares against (bench/before_figures.json)")
    args = parser.parse_args()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}")
    if {"htmx", "weight"} & only and not shutil.which("wrk"):
        parser.error("wrk is not installed: `make bench-deps` (apt-get install wrk)")

    report: dict = {"environment": environment(), "targets": TARGETS, "notes": []}
    tmp = Path(tempfile.mkdtemp(prefix="aml-salvage-bench-"))
    failed = False
    try:
        if "engine" in only:
            report["engine"] = section_engine(args, tmp)
        if {"htmx", "weight"} & only:
            server = BenchServer(tmp, args.workers)
            log("htmx: database, static files, a signed-in clinician ...")
            server.prepare()
            server.start()
            try:
                report["htmx_checks"] = check_responses(server)
                if "weight" in only:
                    report["weight"] = section_weight(server)
                if "htmx" in only:
                    report["htmx"] = section_htmx(args, server)
            finally:
                server.stop()
            if "htmx" in only:  # after the server stopped: nothing else on the CPUs
                log("htmx: where the time goes, in-process (bench/htmx_profile.py) ...")
                report["htmx"]["in_process"] = run_json(
                    [PY, "bench/htmx_profile.py", "--case", str(CASE)],
                    env={**os.environ, "AML_BENCH_DB": str(tmp / "profile.sqlite3"),
                         "DJANGO_STATIC_ROOT": str(tmp / "static"), "PYTHONPATH": str(ROOT)})
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
    report["verdicts"] = verdicts(report)
    report["notes"] += explain(report)
    if BEFORE.exists():
        report["before"] = json.loads(BEFORE.read_text())
    if args.write_before:
        args.write_before.write_text(json.dumps(before_from(report), indent=2) + "\n")
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    args.out.write_text(markdown(report) + "\n")
    for v in report["verdicts"]:
        log(f"{'holds ' if v['holds'] else 'MISSED'}  {v['target']}: {v['value']}{v['unit']} (limit {v['limit']})")
    log(f"written {args.out} and {args.json}")
    return 2 if failed else 0


def before_from(report: dict) -> dict:
    """The figures of this run in the shape the report's before/after table reads."""
    out: dict = {"note": f"Before: commit {report['environment']['git_commit']}, "
                         f"{report['environment']['date']}.", "date": report["environment"]["date"]}
    if "engine" in report:
        out["engine_ms_per_result"] = report["engine"]["random_workups"]["validate_and_evaluate"]["median_ms"]
    if "htmx" in report:
        h = report["htmx"]
        out["htmx"] = {c: {"p50_ms": h["product"][c]["p50_ms"]["median"], "p95_ms": h["product"][c]["p95_ms"]["median"],
                           "requests_per_s": h["product"][c]["requests_per_s"]["median"]} for c in ("c1", "c8")}
        out["htmx"]["p95_ratio_c8"] = h["p95_ratio_c8"]
        out["htmx"]["p95_ratio_signed_in_c8"] = h["p95_ratio_signed_in_c8"]
    if "weight" in report:
        for k in ("fragment_bytes", "fragment_wire_bytes", "page_with_assets_bytes"):
            out[k] = report["weight"][k]
    return out


if __name__ == "__main__":
    sys.exit(main())
