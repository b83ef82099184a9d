"""The engine's speed-ups (issue 6) change no result: shared, cached parts give what a fresh computation gives."""

import random

import pytest

from aml_salvage.domain.assessment import assessment_compute
from aml_salvage.domain.consult import consult_build
from aml_salvage.domain.dosing import DoseCalculator, DosingConfig, round_dose
from aml_salvage.domain.knowledge import RoundingBand
from aml_salvage.domain.result import ConsultResult
from aml_salvage.domain.workup import Workup
from bench.workloads import random_workups
from tests.factories import YOUNG_FIT


@pytest.mark.parametrize("bands", [
    None,  # the knowledge base's
    (RoundingBand(below_mg=1, step_mg=0.05), RoundingBand(below_mg=50, step_mg=2.5),
     RoundingBand(below_mg=None, step_mg=10)),
], ids=["knowledge-base", "institutional"])
def test_the_calculators_rounding_is_round_dose(kb, bands):
    workup = Workup.model_validate(YOUNG_FIT)
    calculator = DoseCalculator(kb=kb, workup=workup, assessment=assessment_compute(workup=workup, kb=kb),
                                config=DosingConfig(rounding=bands))
    rng = random.Random(6)
    for value in [0.04, 0.05, 0.075, 2.5, 9.95, 12.5, 99.5, 100, 1234.5] + [rng.uniform(0, 5000) for _ in range(2000)]:
        assert calculator._round(value) == round_dose(value, calculator.bands), value


def test_results_built_twice_are_identical_and_revalidate(kb):
    """The second build of each workup comes from warm caches (entries, reasons, flat dose lines, references)."""
    for data in random_workups(150, seed=11):
        workup = Workup.model_validate(data)
        first = consult_build(workup=workup, kb=kb).model_dump(mode="json")
        second = consult_build(workup=workup, kb=kb).model_dump(mode="json")
        assert first == second
        assert ConsultResult.model_validate(second).model_dump(mode="json") == second
