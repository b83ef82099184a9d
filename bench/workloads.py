"""Deterministic workloads for the benchmarks: the worked cases and seeded random valid workups."""

from __future__ import annotations

import json
from pathlib import Path

from aml_salvage.workup_samples import random_workups  # noqa: F401  (re-exported: the benchmarks import it here)

ROOT = Path(__file__).resolve().parent.parent
CASES_DIRS = (ROOT / "tests" / "cases", ROOT.parent / "shared" / "cases")  # the repository's copy, then ../shared


def case_workups() -> list[dict]:
    """Every worked case once (a case in ../shared wins over the repository's copy of the same name)."""
    by_name = {p.name: p for folder in CASES_DIRS for p in sorted(folder.glob("*.json"))}
    return [json.loads(by_name[name].read_text())["workup"] for name in sorted(by_name)]
