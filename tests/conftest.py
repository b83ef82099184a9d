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
