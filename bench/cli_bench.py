"""Command-line cost (issue 17): start-up to the first result, and the cost of each workup in a batch.

    python bench/cli_bench.py [--repeats 3] [--batch 1000]

Each figure comes from fresh processes, interleaved so that both sides of a ratio see the same machine:

- start-up: `manage.py recommend --compact <DT20 Patient 1>` from process start to exit (the first and only
  result), against `python -c "import django; django.setup()"` with the same settings;
- batch: `manage.py recommend --jsonl` over N seeded random workups (bench/workloads.py) minus the same over
  their first line, divided by N - 1: parsing, validation, the engine and the JSON line of each workup;
  against the engine alone (consult_evaluate on the same, already validated workups) in one process.
- where start-up goes, in one fresh process: Python itself, django.setup(), importing the command and the
  services, the knowledge base (from the validated cache, as every run after the first), the first result;
  and knowledge_load from the YAML with libyaml and with the pure-Python parser, for comparison.

Prints one JSON object (bench/run.py reads it). `--engine FILE` and `--phases` are the in-process parts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
CASE = ROOT / "tests" / "cases" / "dt20-patient1-flt3-itd.json"
SETTINGS = "aml_salvage.settings.dev"  # what `manage.py` uses unless told otherwise
ENV = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS, "PYTHONPATH": str(ROOT)}


def _wall(cmd: list[str], *, stdout=subprocess.DEVNULL) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=ENV, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=900)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return elapsed


def _spread_ms(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"median": round(statistics.median(ms), 3), "min": round(min(ms), 3), "max": round(max(ms), 3),
            "runs": len(ms)}


def _django():
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    import django

    django.setup()


def engine_only(path: Path, repeats: int) -> dict:
    """Per workup: consult_evaluate alone on already validated workups (the knowledge base loaded)."""
    _django()
    import yaml
    from django.conf import settings

    from aml_salvage import services
    from aml_salvage.domain import knowledge

    workups = [services.workup_parse(data=line) for line in path.read_bytes().splitlines()]
    services.knowledge_get()
    services.consult_evaluate(workup=workups[0])
    per_workup = []
    for _ in range(repeats):
        start = time.perf_counter()
        for workup in workups:
            services.consult_evaluate(workup=workup)
        per_workup.append((time.perf_counter() - start) / len(workups))

    kb_dir = Path(settings.AML_SALVAGE_KNOWLEDGE_DIR)
    yaml_c, yaml_py = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        knowledge.knowledge_load(kb_dir)
        yaml_c.append(time.perf_counter() - start)
    knowledge._YAML_LOADER = yaml.SafeLoader  # the loader before issue 17, for comparison only
    for _ in range(repeats):
        start = time.perf_counter()
        knowledge.knowledge_load(kb_dir)
        yaml_py.append(time.perf_counter() - start)
    return {"n": len(workups), "engine_ms_per_workup": _spread_ms(per_workup),
            "knowledge_load_libyaml_ms": _spread_ms(yaml_c), "knowledge_load_pure_python_yaml_ms": _spread_ms(yaml_py)}


def phases() -> dict:
    """Where one `recommend` start-up goes, in this fresh process (the cache already written)."""
    stamps = [("start", time.perf_counter())]
    _django()
    stamps.append(("django.setup()", time.perf_counter()))
    from aml_salvage import services
    from aml_salvage.management.commands import recommend  # noqa: F401 — its imports are part of start-up

    stamps.append(("import the command and services (pydantic schemas)", time.perf_counter()))
    services.knowledge_get()
    stamps.append(("knowledge base from the validated cache", time.perf_counter()))
    workup = services.workup_parse(data=json.loads(CASE.read_text())["workup"])
    services.consult_to_json(result=services.consult_evaluate(workup=workup), indent=None)
    stamps.append(("first result (validate, evaluate, JSON)", time.perf_counter()))
    return {name: round((t - stamps[i][1]) * 1000, 1) for i, (name, t) in enumerate(stamps[1:])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--engine", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--phases", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        print(json.dumps(engine_only(args.engine, args.repeats)))
        return 0
    if args.phases:
        print(json.dumps(phases()))
        return 0

    from bench.workloads import random_workups

    with tempfile.TemporaryDirectory(prefix="aml-salvage-cli-bench-") as tmp:
        batch, first = Path(tmp) / "batch.jsonl", Path(tmp) / "first.jsonl"
        lines = [json.dumps(w) for w in random_workups(args.batch)]
        batch.write_text("\n".join(lines) + "\n")
        first.write_text(lines[0] + "\n")
        recommend = [PY, "manage.py", "recommend"]
        _wall(recommend + ["--compact", str(CASE)])  # writes the knowledge-base cache, as any first run does
        with open(Path(tmp) / "out.jsonl", "w") as out:
            _wall(recommend + ["--jsonl", str(batch)], stdout=out)
        produced = (Path(tmp) / "out.jsonl").read_text().splitlines()
        if len(produced) != args.batch or any('"errors"' in line[:40] for line in produced):
            raise RuntimeError(f"the batch gave {len(produced)} lines for {args.batch} valid workups")

        python_alone, setup, startup, per_workup = [], [], [], []
        for _ in range(args.repeats):
            python_alone.append(_wall([PY, "-c", "pass"]))
            setup.append(_wall([PY, "-c", "import django; django.setup()"]))
            startup.append(_wall(recommend + ["--compact", str(CASE)]))
            one = _wall(recommend + ["--jsonl", str(first)])
            many = _wall(recommend + ["--jsonl", str(batch)])
            per_workup.append((many - one) / (args.batch - 1))
        engine = json.loads(subprocess.run([PY, __file__, "--engine", str(batch), "--repeats", str(args.repeats)],
                                           cwd=ROOT, env=ENV, capture_output=True, text=True, check=True).stdout)
        phase_runs = [json.loads(subprocess.run([PY, __file__, "--phases"], cwd=ROOT, env=ENV, capture_output=True,
                                                text=True, check=True).stdout) for _ in range(args.repeats)]

    report = {
        "settings": SETTINGS, "case": CASE.stem, "batch_n": args.batch, "repeats": args.repeats,
        "python_alone_ms": _spread_ms(python_alone),
        "django_setup_ms": _spread_ms(setup),
        "startup_to_first_result_ms": _spread_ms(startup),
        "batch_ms_per_workup": _spread_ms(per_workup),
        "engine": engine,
        "startup_phases_ms": {name: statistics.median(run[name] for run in phase_runs) for name in phase_runs[0]},
    }
    report["startup_ratio"] = round(statistics.median(startup) / statistics.median(setup), 2)
    report["batch_ratio"] = round(report["batch_ms_per_workup"]["median"]
                                  / engine["engine_ms_per_workup"]["median"], 2)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
