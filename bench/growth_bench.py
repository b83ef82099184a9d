"""Budget 4 of `make bench`: what grows with use, measured on one database seeded by `manage.py seed_growth`.

    AML_BENCH_DB=path.sqlite3 .venv/bin/python bench/growth_bench.py pages [--requests 200]
    AML_BENCH_DB=path.sqlite3 .venv/bin/python bench/growth_bench.py export

pages: as one seeded clinician (growth-1-1: their consults and their team's, about a twelfth of all), in-process
through Django's handler and every middleware (bench/settings_bench.py, production's), the consult list's
first page, and the identifier search — the POST that keeps the query in the session, then the list it
redirects to — each request for a different seeded identifier of the clinician's team (one consult found).
Median and p95 in milliseconds.

export: the audit trail's CSV export (the admin's, streamed), signed in as staff, consumed to the end; the
peak of Python's allocations during it (tracemalloc), the time and the rows. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import tracemalloc
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
    if args.what == "pages":
        user = User.objects.get(username="growth-1-1")
        client.force_login(user, backend=settings.AUTHENTICATION_BACKENDS[-1])
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
    client.force_login(staff, backend=settings.AUTHENTICATION_BACKENDS[-1])
    events = AuditEvent.objects.count()
    tracemalloc.start()
    t0 = time.perf_counter()
    response = client.get("/admin/aml_salvage/auditevent/export.csv")
    assert response.status_code == 200 and response.streaming, response.status_code
    rows = size = 0
    for chunk in response.streaming_content:
        rows += chunk.count(b"\n")
        size += len(chunk)
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert rows == events + 1, (rows, events)
    print(json.dumps({"events": events, "rows": rows - 1, "bytes": size, "seconds": round(elapsed, 2),
                      "peak_python_mib": round(peak / 2**20, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
