"""Budget 4 of `make bench`: what grows with use, measured on one database seeded by `manage.py seed_growth`.

    AML_BENCH_DB=path.sqlite3 .venv/bin/python bench/growth_bench.py pages [--requests 200]
    AML_BENCH_DB=path.sqlite3 .venv/bin/python bench/growth_bench.py export

pages: as one seeded clinician (growth-1-1: their consults and their team's, about a twelfth of all), in-process
through Django's handler and every middleware (bench/settings_bench.py, production's), the consult list's
first page, and the identifier search — the POST that keeps the query in the session, then the list it
redirects to — each request for a different seeded identifier of the clinician's team (one consult found).
Median and p95 in milliseconds.

export: the audit trail's CSV export (the admin's, streamed), signed in as staff, consumed to the end; the
process's peak resident memory during it (Linux: the high-water mark VmHWM, reset just before the export
through /proc/self/clear_refs), the resident memory before it, the time and the rows. Prints one JSON object.
(tracemalloc, used before, multiplies the export's time by about 8: 1,000,000 events would take a quarter
of an hour.)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_bench")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def figures(samples: list[float]) -> dict:
    ms = [s * 1000 for s in samples]
    return {"median_ms": round(statistics.median(ms), 2), "p95_ms": round(pct(ms, 95), 2), "n": len(ms)}


def _status_mib(field: str) -> float:
    """A memory figure of this process from /proc/self/status (Linux), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["pages", "export"])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    import django

    django.setup()
    import warnings

    warnings.simplefilter("ignore")  # collectstatic's missing directory: no static file is served here
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client

    from aml_salvage.models import AuditEvent, Consult

    client = Client(HTTP_HOST="127.0.0.1")

    def sign_in(user) -> None:
        """Signed in with the password backend, and past the second factor production asks for (the session
        holds django-otp's key of a confirmed device), as bench/htmx_profile.py does."""
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        client.force_login(user, backend=settings.AUTHENTICATION_BACKENDS[-1])
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
            user=user, name="authenticator", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()

    if args.what == "pages":
        user = User.objects.get(username="growth-1-1")
        sign_in(user)
        team = user.groups.get()
        identifiers = list(Consult.objects.filter(team=team).values_list("patient_identifier", flat=True))
        rng = random.Random(4)

        def timed(fn) -> list[float]:
            for _ in range(10):
                fn()
            out = []
            for _ in range(args.requests):
                t0 = time.perf_counter()
                fn()
                out.append(time.perf_counter() - t0)
            return out

        def listing():
            response = client.get("/consults/")
            assert response.status_code == 200 and b"consult-list" in response.content, response.status_code

        def search():
            query = rng.choice(identifiers)
            posted = client.post("/consults/", {"q": query})
            response = client.get(posted["Location"])
            assert response.status_code == 200 and query.encode() in response.content
            assert b"(1)" in response.content, "one consult found"

        clear = {"clear": "1"}
        client.post("/consults/", clear)
        list_times = timed(listing)
        search_times = timed(search)
        client.post("/consults/", clear)
        print(json.dumps({"consults": Consult.objects.count(), "visible_to_clinician": len(identifiers),
                          "list": figures(list_times), "search": figures(search_times)}))
        return 0

    staff, _ = User.objects.get_or_create(username="growth-auditor", defaults={"is_staff": True})
    sign_in(staff)
    events = AuditEvent.objects.count()
    rss_before = _status_mib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current resident size
    t0 = time.perf_counter()
    response = client.get("/admin/aml_salvage/auditevent/export.csv")
    assert response.status_code == 200 and response.streaming, response.status_code
    rows = size = 0
    for chunk in response.streaming_content:
        rows += chunk.count(b"\n")
        size += len(chunk)
    elapsed = time.perf_counter() - t0
    peak = _status_mib("VmHWM")
    # The export may record itself (and signing in records a security event) while it streams.
    assert events <= rows - 1 <= AuditEvent.objects.count(), (rows, events)
    print(json.dumps({"events": events, "rows": rows - 1, "bytes": size, "seconds": round(elapsed, 2),
                      "peak_rss_mib": round(peak, 1), "rss_before_mib": round(rss_before, 1),
                      "peak_above_start_mib": round(peak - rss_before, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
