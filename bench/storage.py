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
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

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
    from bench.workloads import case_workups, random_workups
    from tests.storage_support import consults_save, table_bytes, varied_workups

    setup_test_environment()
    services.knowledge_get()
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        team = Group.objects.create(name="Leukemia A")
        author = User.objects.create_user("storage-bench", first_name="Storage")
        author.groups.add(team)
        bases = case_workups() + random_workups(max(args.n, 1), seed=20261130)
        saved = consults_save(author=author, workups=varied_workups(args.n, bases=bases))
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
