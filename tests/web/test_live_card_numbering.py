"""The live panel's kept option cards (templatetags/clinical.py: live_card) carry the reference numbers of the
result they are shown in: the numbers are part of what a card is kept by, so a card shown in a result whose
numbering differs reads exactly as the template renders it with that numbering; and the numbering stays the
same from one keystroke to the next (domain/consult.py: the knowledge base's fixed citations first), which is
what lets cards be kept at all."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.template.loader import render_to_string

from aml_salvage import services
from aml_salvage.domain.consult import knowledge_facts
from aml_salvage.presentation import consult_view, view_context
from aml_salvage.templatetags import clinical
from tests.factories import card_body, case_files, load_case


@pytest.mark.parametrize("case", case_files()[:4], ids=lambda p: p.stem)
def test_a_kept_card_shows_the_numbering_of_the_result_it_is_shown_in(case):
    result = services.consult_evaluate(workup=services.workup_parse(data=load_case(case)["workup"]))
    view = consult_view(result=result, parameters=services.knowledge_get().parameters)
    context = view_context(view)
    numbers = context["reference_numbers"]
    # Another result's numbering of the same references: reversed, so every number moves.
    renumbered = {ref: len(numbers) + 1 - n for ref, n in numbers.items()}
    template = Template("{% load clinical %}{% live_card option %}")
    clinical._live_card.cache_clear()
    for card in view.options:
        option = card.option
        first = template.render(Context({**context, "option": option}))
        second = template.render(Context({**context, "reference_numbers": renumbered, "option": option}))
        plain = render_to_string(clinical.LIVE_CARD_TEMPLATES.get(option.tier, clinical.LIVE_CARD_TEMPLATE), {
            **context, "reference_numbers": renumbered, "option": option, "dosed": bool(option.doses)})
        assert card_body(second) == plain, option.id
        if option.sources:
            assert first != second, f"{option.id}: the numbers follow the result"
        assert template.render(Context({**context, "reference_numbers": renumbered, "option": option})) == second
    # Each card rendered once per numbering, then kept: the third rendering of each came from the cache.
    assert clinical._live_card.cache_info().hits == len(view.options)
    assert clinical._live_card.cache_info().misses == 2 * len(view.options)


def test_a_new_weight_or_creatinine_keeps_the_number_of_what_every_option_cites():
    """What the options cite whatever the workup is numbered first, in the knowledge base's order: typing a
    new weight or creatinine (which adds or removes patient-specific warnings) moves none of those numbers;
    only the workup's own additions, numbered after them, may move."""
    data = load_case(case_files()[0])["workup"]
    fixed = knowledge_facts(services.knowledge_get()).cited[data["context"]["jurisdiction"]]
    assert len(fixed) > 20
    for weight, creatinine in ((60, 70), (140, 70), (60, 250)):
        patient = {**data["patient"], "weight_kg": weight, "creatinine": {"value": creatinine, "unit": "umol/L"}}
        result = services.consult_evaluate(workup=services.workup_parse(data={**data, "patient": patient}))
        numbers = {r.id: r.number for r in result.references}
        assert [numbers[ref] for ref in fixed] == list(range(1, len(fixed) + 1)), (weight, creatinine)
