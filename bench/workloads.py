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


# A clinician typing into the workspace: one field changed at each update, to a new value, over the numeric
# fields a workup is corrected in most (weight and height change every dose; creatinine the clearance and the
# renal bands; WBC, blasts, CR1 duration and age can change tiers and warnings). Values stay in range.
TYPED_FIELDS = {
    "weight_kg": (45.0, 130.0, 1), "height_cm": (150.0, 195.0, 0), "creatinine_value": (50.0, 250.0, 0),
    "wbc_10e9_per_l": (0.5, 60.0, 1), "marrow_blasts_pct": (6.0, 90.0, 0), "cr1_duration_months": (1.0, 40.0, 1),
    "age_years": (19.0, 85.0, 0), "lvef_pct": (35.0, 70.0, 0), "qtcf_ms": (390.0, 520.0, 0),
}


def typing_edits(n: int, *, seed: int = 20261130) -> list[dict]:
    """n form bodies (the workspace form's data), each one field away from the one before, never seen before
    and valid (each gives a result): the worked cases in turn, 25 edits each. Fields that a case's status
    leaves blank stay blank, except LVEF and QTcF, which a clinician adds."""
    import random

    from django.http import QueryDict

    from aml_salvage.forms import WorkupForm, form_data_from_workup  # needs django.setup()

    def valid(data: dict) -> bool:
        query = QueryDict(mutable=True)
        for key, value in data.items():
            query.setlist(key, value if isinstance(value, list) else [value])
        return WorkupForm(query).parse_workup() is not None

    rng = random.Random(seed)
    cases = [dict(form_data_from_workup(w)) for w in case_workups()]
    seen: set[tuple] = set()
    out: list[dict] = []
    while len(out) < n:
        data = dict(cases[(len(out) // 25) % len(cases)])
        for _ in range(25):
            name = rng.choice([f for f in TYPED_FIELDS if data.get(f) not in (None, "")]
                              + ["weight_kg", "lvef_pct", "qtcf_ms"])
            low, high, digits = TYPED_FIELDS[name]
            value = round(rng.uniform(low, high), digits)
            data[name] = f"{value:.{digits}f}" if digits else str(int(value))
            if name == "creatinine_value" and data.get("creatinine_unit") == "mg/dL":
                data[name] = f"{value / 88.4:.2f}"
            key = tuple(sorted((k, str(v)) for k, v in data.items()))
            if key not in seen and valid(data):
                seen.add(key)
                out.append(dict(data))
            if len(out) == n:
                break
    return out


def with_cards_held(bodies: list[dict]) -> list[dict]:
    """Each typed body as the workspace's script sends it: with the keys its page holds after the update the
    body before it brought (static/js/workspace.js, its details closed), which are those of that body's panel
    (live_cards.panel_card_keys) whether the update sent it whole or its changed parts alone. The first body
    holds none."""
    from django.http import QueryDict

    from aml_salvage import services
    from aml_salvage.forms import WorkupForm
    from aml_salvage.live_cards import HELD_FIELD, panel_card_keys
    from aml_salvage.presentation import consult_view

    parameters = services.knowledge_get().parameters
    out, held = [], []
    for data in bodies:
        out.append({**data, HELD_FIELD: " ".join(held)})
        query = QueryDict(mutable=True)
        for key, value in data.items():
            query.setlist(key, value if isinstance(value, list) else [value])
        workup = WorkupForm(query).parse_workup()
        result = services.consult_evaluate(workup=workup)
        held = panel_card_keys(consult_view(result=result, parameters=parameters))
    return out
