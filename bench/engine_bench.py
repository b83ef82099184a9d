"""Engine benchmark (not a test): in-process results per second, and the cost of validation alone.

    python bench/engine_bench.py [--random N] [--repeats R]

Prints a table and writes bench/engine_results.json (git-ignored). Each figure is the median over
R repeated runs with its spread (min–max). A reported figure, not a target (issue 15 retired the
results-per-second target: what a clinician feels is budgets 1 and 2).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aml_salvage.settings.test")

import django  # noqa: E402

django.setup()

from aml_salvage import services  # noqa: E402
from aml_salvage.domain.workup import Workup  # noqa: E402
from bench.workloads import case_workups, random_workups  # noqa: E402


def _timed(fn, items) -> float:
    start = time.perf_counter()
    for item in items:
        fn(item)
    return time.perf_counter() - start


def _cpu_timed(fn, items) -> float:
    start = time.process_time()
    for item in items:
        fn(item)
    return time.process_time() - start


def measure(items: list[dict], repeats: int) -> dict:
    workups = [Workup.model_validate(w) for w in items]
    kb = services.worker_start()  # as a server process starts (wsgi.py): knowledge base loaded, then gc.freeze
    config = services.dosing_config()
    from aml_salvage.domain.consult import consult_build

    consult_build(workup=workups[0], kb=kb, config=config)  # warm caches
    validate, evaluate, full, full_cpu = [], [], [], []

    def build_validated(d):
        return consult_build(workup=Workup.model_validate(d), kb=kb, config=config)

    for _ in range(repeats):
        validate.append(_timed(Workup.model_validate, items) / len(items))
        evaluate.append(_timed(lambda w: consult_build(workup=w, kb=kb, config=config), workups) / len(items))
        full.append(_timed(build_validated, items) / len(items))
        full_cpu.append(_cpu_timed(build_validated, items) / len(items))  # CPU time: less sensitive to a busy host

    def stats(samples):
        ms = [s * 1000 for s in samples]
        return {"median_ms": statistics.median(ms), "min_ms": min(ms), "max_ms": max(ms),
                "per_second": 1000 / statistics.median(ms)}

    return {"n": len(items), "validation_only": stats(validate), "engine_only": stats(evaluate),
            "validate_and_evaluate": stats(full), "validate_and_evaluate_cpu": stats(full_cpu),
            "ratio_full_to_validation": statistics.median(full) / statistics.median(validate)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--random", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "bench" / "engine_results.json"))
    args = parser.parse_args()
    report = {
        "environment": {"python": platform.python_version(), "machine": platform.machine(),
                        "cpus": os.cpu_count(), "platform": platform.platform(),
                        "kb_version": services.knowledge_get().version},
        "worked_cases": measure(case_workups(), args.repeats),
        "random_workups": measure(random_workups(args.random), args.repeats),
    }
    for name in ("worked_cases", "random_workups"):
        r = report[name]
        print(f"{name} (n={r['n']}, {args.repeats} repeats):")
        for key in ("validation_only", "engine_only", "validate_and_evaluate"):
            s = r[key]
            print(f"  {key:22} median {s['median_ms']:.4f} ms  (spread {s['min_ms']:.4f}–{s['max_ms']:.4f})"
                  f"  → {s['per_second']:,.0f}/s")
        print(f"  one full result costs {r['ratio_full_to_validation']:.1f}× validating the workup alone")
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
