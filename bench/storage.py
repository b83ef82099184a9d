"""Storage per saved consult (issue 15, budget 3): save N varied consults through the service, then report
the database bytes they take, per consult.

    .venv/bin/python bench/storage.py [--n 1000]                                    # SQLite
    tests/postgres/with_postgres.sh .venv/bin/python bench/storage.py --postgres    # PostgreSQL

The consults: the worked cases and seeded random workups (bench/workloads.py), each with its numbers varied
(height, weight, age, creatinine, white count), saved by ``consults.consult_create`` into a fresh test
database. Bytes are what the database holds for the consult tables, indexes included, after VACUUM:
SQLite's dbstat pages, PostgreSQL's pg_total_relation_size (heap, TOAST and indexes). Beside them, the
"old representation": the full result and the workup as uncompressed JSON text, as they were stored
before (so one run states today's and the former figure side by side).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The tables a saved consult's content lives in (the audit trail is counted apart: it holds no content).
CONSULT_TABLES = ("aml_salvage_consult", "aml_salvage_knowledgecontent")


def varied_workups(n: int, seed: int = 20261130) -> list[dict]:
    """n valid workups: the worked cases and seeded random ones, each with new numbers."""
    from bench.workloads import case_workups, random_workups

    rng = random.Random(seed)
    bases = case_workups() + random_workups(max(n, 1), seed=seed)
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


def old_representation_bytes(consults) -> int:
    """What these consults took as uncompressed JSON text before: the full result and the workup, as Django's
    JSONField writes them (json.dumps with its default separators)."""
    from aml_salvage.consults import consult_result

    return sum(len(json.dumps(consult_result(consult=c).model_dump(mode="json")).encode())
               + len(json.dumps(c.workup).encode()) for c in consults)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="consults to save (default 1000)")
    parser.add_argument("--postgres", action="store_true", help="use aml_salvage.settings.test_postgres")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = (
        "aml_salvage.settings.test_postgres" if args.postgres else "aml_salvage.settings.test")
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test.utils import setup_test_environment

    from aml_salvage import services

    setup_test_environment()
    services.knowledge_get()
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        team = Group.objects.create(name="Leukemia A")
        author = User.objects.create_user("storage-bench", first_name="Storage")
        author.groups.add(team)
        saved = consults_save(author=author, workups=varied_workups(args.n))
        sizes = table_bytes(connection)
        old = old_representation_bytes(saved)
        db_total = sum(sizes.values())
        figures = {
            "database": connection.vendor, "consults": len(saved), "tables": sizes,
            "bytes_per_consult": round(db_total / len(saved)),
            "old_json_bytes_per_consult": round(old / len(saved)),
            "ratio_to_old_json": round(db_total / old, 4),
        }
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
