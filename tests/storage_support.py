"""Saving many varied consults and measuring the database bytes they take: shared by the storage test
(tests/web/test_consult_storage.py) and ``bench/storage.py`` (issue 15, budget 3)."""

from __future__ import annotations

import json
import random

from tests.factories import case_files, load_case

# The tables a saved consult's content lives in (the audit trail is counted apart: it holds no content).
CONSULT_TABLES = ("aml_salvage_consult", "aml_salvage_knowledgecontent")


def varied_workups(n: int, *, bases: list[dict] | None = None, seed: int = 20261130) -> list[dict]:
    """n valid workups: the bases in turn (default: the worked cases), each with new numbers."""
    rng = random.Random(seed)
    bases = bases or [load_case(path)["workup"] for path in case_files()]
    out = []
    for i in range(n):
        workup = json.loads(json.dumps(bases[i % len(bases)]))
        patient = workup["patient"]
        patient["height_cm"] = round(rng.uniform(150, 195), 1)
        patient["weight_kg"] = round(rng.uniform(45, 120), 1)
        patient["age_years"] = rng.randint(max(18, patient["age_years"] - 5), min(95, patient["age_years"] + 5))
        if patient.get("creatinine"):
            patient["creatinine"] = {"value": round(rng.uniform(45, 250)), "unit": "umol/L"}
        workup["disease"]["wbc_10e9_per_l"] = round(rng.uniform(0.5, 60), 1)
        out.append(workup)
    return out


def consults_save(*, author, workups: list[dict]) -> list:
    """Save one consult per workup as a clinician would: the first option, with a reason when it is not
    preferred."""
    from aml_salvage import consults, services

    saved = []
    for i, data in enumerate(workups):
        workup = services.workup_parse(data=data)
        result = services.consult_evaluate(workup=workup)
        chosen = result.options[0]
        saved.append(consults.consult_create(
            author=author, workup=workup, result=result, chosen_option_id=chosen.id,
            override_reason="" if chosen.tier == "preferred" else "patient preference after discussion",
            patient_identifier=f"MRN-{i:06d}",
        ))
    return saved


def table_bytes(connection, tables=CONSULT_TABLES) -> dict[str, int]:
    """Bytes each table takes with its indexes (and TOAST on PostgreSQL), after VACUUM."""
    existing = set(connection.introspection.table_names())
    tables = [t for t in tables if t in existing]
    out = {}
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM")
            for table in tables:
                cursor.execute("SELECT name FROM sqlite_master WHERE tbl_name = %s AND name NOT LIKE 'sqlite_%%'"
                               " AND type IN ('table', 'index')", [table])
                names = [row[0] for row in cursor.fetchall()]
                # Indexes Django created are listed by name; SQLite's automatic ones start with sqlite_.
                cursor.execute("SELECT name FROM sqlite_master WHERE tbl_name = %s AND name LIKE 'sqlite_autoindex%%'",
                               [table])
                names += [row[0] for row in cursor.fetchall()]
                marks = ", ".join(["%s"] * len(names))
                cursor.execute(f"SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name IN ({marks})", names)
                out[table] = cursor.fetchone()[0]
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"VACUUM FULL ANALYZE {connection.ops.quote_name(table)}")
                cursor.execute("SELECT pg_total_relation_size(%s)", [table])
                out[table] = cursor.fetchone()[0]
    else:
        raise NotImplementedError(connection.vendor)
    return out
