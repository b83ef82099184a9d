import os
from pathlib import Path

import pytest

from aml_salvage.domain.consult import consult_build
from aml_salvage.domain.knowledge import knowledge_load
from aml_salvage.domain.workup import Workup

KB_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "knowledge"


@pytest.fixture(scope="session")
def kb():
    return knowledge_load(KB_DIR)


@pytest.fixture(scope="session")
def evaluate(kb):
    """Workup dict → consult result, straight through the domain (no Django, no database)."""

    def run(data: dict, **kwargs):
        return consult_build(workup=Workup.model_validate(data), kb=kb, **kwargs)

    return run


def option(result, option_id):
    return next(o for o in result.options if o.id == option_id)


def fired(result, rule_id) -> bool:
    return any(r.rule_id == rule_id for o in result.options for r in o.rules) or any(
        a.rule_id == rule_id for a in result.actions
    )


# How a test reaches the database of the run in this process: pytest-django's fixtures (item.fixturenames is
# the closure, so a persona built on `db` counts) or its `django_db` mark. pytest-django refuses any other
# database access, so a test that passes on SQLite without these never touched the database in-process.
DATABASE_FIXTURES = frozenset({
    "db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback",
    "live_server", "client", "async_client", "admin_client", "admin_user",
})
POSTGRES_TESTS = Path(__file__).resolve().parent / "postgres"


def uses_the_database(item: pytest.Item) -> bool:
    return (
        item.get_closest_marker("django_db") is not None
        or item.get_closest_marker("uses_database") is not None  # a subprocess given the run's database
        or not DATABASE_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))
        or item.path.is_relative_to(POSTGRES_TESTS)
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under aml_salvage.settings.test_postgres (`make test-postgres`), run only the tests that use the
    database, and deselect the rest (pure domain, presentation and PDF-layout tests, command-line runs that
    never open a connection).

    Why: the PostgreSQL pass exists to check what depends on the database backend (storage, audit trail,
    immutability triggers, migrations, roles, sessions, concurrency). A test that never touches the database
    gives the same answer on both backends and has already run on SQLite in `make test`; running it twice
    only doubled the suite's time. Everything else runs on SQLite unchanged."""
    if not os.environ.get("DJANGO_SETTINGS_MODULE", "").endswith(".test_postgres"):
        return
    kept, deselected = [], []
    for item in items:
        (kept if uses_the_database(item) else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
