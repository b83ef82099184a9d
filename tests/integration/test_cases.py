"""Every worked case in ../shared/cases (and tests/cases) holds — through the domain and the CLI.

New case files dropped into either folder are picked up without code changes.
"""

import io
import json

import pytest
from django.core.management import call_command

from tests.case_check import case_problems
from tests.factories import case_files, load_case

CASES = case_files()


def test_the_shared_cases_folder_is_found():
    assert len(CASES) >= 7, "the worked cases in ../shared/cases must be read"


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case_holds_in_the_domain(path, evaluate):
    case = load_case(path)
    result = evaluate(case["workup"]).model_dump(mode="json")
    assert case_problems(case["expect"], result) == []


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case_holds_through_the_command_line(path):
    out = io.StringIO()
    call_command("recommend", str(path), stdout=out)
    result = json.loads(out.getvalue())
    assert case_problems(load_case(path)["expect"], result) == []


def test_case_check_can_fail(evaluate):
    """The checker itself must be able to fail, or the case tests prove nothing."""
    case = load_case(next(p for p in CASES if "flt3" in p.stem))
    result = evaluate(case["workup"]).model_dump(mode="json")
    wrong = {"tier_any_of": {"gilteritinib": ["not_recommended"]}, "dose": [
        {"option": "gilteritinib", "drug": "gilteritinib", "rounded": 200}], "epi": None}
    assert len(case_problems(wrong, result)) == 3
