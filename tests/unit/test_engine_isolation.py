"""Each result stands alone: evaluating one workup leaves nothing behind that changes another's result."""

import json

from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel

from tests.factories import OLDER_UNFIT, YOUNG_FIT
from tests.strategies import workups


def _json(result) -> str:
    return json.dumps(result.model_dump(mode="json"), sort_keys=True)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workups(), workups())
def test_a_workup_gives_the_same_result_whatever_was_evaluated_before(evaluate, first, second):
    alone = _json(evaluate(first))
    evaluate(second)
    assert _json(evaluate(first)) == alone


def _scribble(value) -> None:
    """Append to every list and add a key to every dict inside a result (the models are frozen, their lists
    and dicts are not)."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _scribble(getattr(value, name))
    elif isinstance(value, list):
        for item in list(value):
            _scribble(item)
        value.append("scribbled")
    elif isinstance(value, dict):
        for item in list(value.values()):
            _scribble(item)
        value["scribbled"] = 0


def test_changing_a_result_changes_neither_the_knowledge_base_nor_the_next_result(evaluate, kb):
    knowledge = kb.model_dump_json()
    expected = {name: _json(evaluate(data)) for name, data in (("young fit", YOUNG_FIT), ("older unfit", OLDER_UNFIT))}
    for data in (YOUNG_FIT, OLDER_UNFIT):
        _scribble(evaluate(data))
    assert {name: _json(evaluate(data)) for name, data in (("young fit", YOUNG_FIT), ("older unfit", OLDER_UNFIT))} \
        == expected
    assert kb.model_dump_json() == knowledge
