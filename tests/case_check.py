"""Check a consult result (its JSON form) against a worked case's `expect` block (cases/README.md)."""

from __future__ import annotations

KNOWN_KEYS = {
    "tier_any_of", "any_of_tiers", "any_preferred_of", "actions_include", "actions_exclude", "epi", "bsa_m2",
    "availability", "dose", "dose_absent", "dose_range", "warning_mentions",
}


def _doses(options, option_id, drug):
    return [d for d in options[option_id]["doses"] if d["drug"] == drug]


def case_problems(expect: dict, result: dict) -> list[str]:
    """Every way the result fails the expectation; empty when it holds."""
    problems: list[str] = []
    unknown = set(expect) - KNOWN_KEYS
    if unknown:
        problems.append(f"unknown expect keys {sorted(unknown)}: teach tests/case_check.py")
    options = {o["id"]: o for o in result["options"]}
    actions = {a["id"] for a in result["actions"]}
    for oid, tiers in expect.get("tier_any_of", {}).items():
        if options[oid]["tier"] not in tiers:
            problems.append(f"{oid}: tier {options[oid]['tier']!r}, expected one of {tiers}; reasons: "
                            f"{options[oid]['reasons']}")
    if "any_of_tiers" in expect:
        spec = expect["any_of_tiers"]
        if not any(options[i]["tier"] in spec["tiers"] for i in spec["ids"]):
            problems.append(f"none of {spec['ids']} has a tier in {spec['tiers']}")
    if "any_preferred_of" in expect:
        if not any(options[i]["tier"] == "preferred" for i in expect["any_preferred_of"]):
            problems.append(f"none of {expect['any_preferred_of']} is preferred")
    for aid in expect.get("actions_include", []):
        if aid not in actions:
            problems.append(f"action {aid} missing (have {sorted(actions)})")
    for aid in expect.get("actions_exclude", []):
        if aid in actions:
            problems.append(f"action {aid} present but must not be")
    if "epi" in expect:
        epi, want = result["assessment"]["epi"], expect["epi"]
        if want is None:
            if epi is not None:
                problems.append(f"EPI should be null, got {epi}")
        elif epi is None or epi["score"] != want["score"] or epi["group"] != want["group"]:
            problems.append(f"EPI {epi and (epi['score'], epi['group'])}, expected {want}")
    if "bsa_m2" in expect:
        low, high = expect["bsa_m2"]
        if not low <= result["assessment"]["bsa_m2"] <= high:
            problems.append(f"BSA {result['assessment']['bsa_m2']} not in [{low}, {high}]")
    for oid, status in expect.get("availability", {}).items():
        if options[oid]["availability"] != status:
            problems.append(f"{oid}: availability {options[oid]['availability']}, expected {status}")
    for spec in expect.get("dose", []):
        rounded = [d["rounded"] for d in _doses(options, spec["option"], spec["drug"])]
        if spec["rounded"] not in rounded:
            problems.append(f"{spec['option']}/{spec['drug']}: no dose line rounded to {spec['rounded']} ({rounded})")
    for spec in expect.get("dose_absent", []):
        rounded = [d["rounded"] for d in _doses(options, spec["option"], spec["drug"])]
        if spec["rounded"] in rounded:
            problems.append(f"{spec['option']}/{spec['drug']}: a dose line is {spec['rounded']} but must not be")
    for spec in expect.get("dose_range", []):
        lines = _doses(options, spec["option"], spec["drug"])
        if not lines:
            problems.append(f"{spec['option']}/{spec['drug']}: no dose lines")
        for d in lines:
            if d["rounded"] is None or not spec["min"] <= d["rounded"] <= spec["max"]:
                problems.append(f"{spec['option']}/{spec['drug']} {d['days']}: {d['rounded']} outside "
                                f"[{spec['min']}, {spec['max']}]")
    for oid, words in expect.get("warning_mentions", {}).items():
        text = " ".join(options[oid]["warnings"]).lower()
        if not any(w.lower() in text for w in words):
            problems.append(f"{oid}: warnings mention none of {words}")
    return problems
