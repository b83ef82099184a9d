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


def panel_slots(view) -> dict[str, str]:
    """The keys a live panel of this consult view carries (aml_salvage/live_cards.py), by what carries each:
    "frame", "references", "group:<tier>" (a tier's cards held together) and "body:<tier>:<option>"."""
    from aml_salvage.live_cards import frame_key, references_key, tier_keys

    slots = {"frame": frame_key(view, None)}
    for group in view.tier_groups:
        cards, together = tier_keys(group, view.reference_numbers, None)
        for card, key in zip(group.options, cards, strict=True):
            slots[f"body:{group.tier}:{card.option.id}"] = key
        if together is not None:
            slots[f"group:{group.tier}"] = together
    slots["references"] = references_key(view.live_panel_references())
    return slots


def page_after(held: dict[str, str], shown: dict[str, str]) -> dict[str, str]:
    """The keys a page holds after a live update whose result carries ``shown`` (panel_slots), when it held
    ``held`` (static/js/workspace.js, its details closed). The same frame: the update sent the changed parts
    alone, and a tier one of whose card bodies it replaced no longer claims a key (nor one that had stopped
    already). Another frame: the whole panel, every key."""
    if held.get("frame") != shown["frame"]:
        return dict(shown)
    replaced = {slot.split(":")[1] for slot, key in shown.items() if slot.startswith("body:") and held.get(slot) != key}
    return {slot: key for slot, key in shown.items()
            if not slot.startswith("group:") or (slot in held and slot.split(":")[1] not in replaced)}


def with_cards_held(bodies: list[dict]) -> list[dict]:
    """Each typed body as the workspace's script sends it: with the keys its page holds after the update the
    body before it brought (page_after; static/js/workspace.js). The first body holds none."""
    from django.http import QueryDict

    from aml_salvage import services
    from aml_salvage.forms import WorkupForm
    from aml_salvage.live_cards import HELD_FIELD
    from aml_salvage.presentation import consult_view

    parameters = services.knowledge_get().parameters
    out, held = [], {}
    for data in bodies:
        out.append({**data, HELD_FIELD: " ".join(held.values())})
        query = QueryDict(mutable=True)
        for key, value in data.items():
            query.setlist(key, value if isinstance(value, list) else [value])
        workup = WorkupForm(query).parse_workup()
        result = services.consult_evaluate(workup=workup)
        held = page_after(held, panel_slots(consult_view(result=result, parameters=parameters)))
    return out
