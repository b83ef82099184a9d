"""The live panel's option cards (aml_salvage/live_cards.py) carry the reference numbers of the result they
are shown in: the numbers are part of a card's key, so a card shown in a result whose numbering differs reads
exactly as the template renders it with that numbering and no page keeps the old one; and the numbering stays the
same from one keystroke to the next (domain/consult.py: the knowledge base's fixed citations first), which is
what lets cards be kept at all."""

from __future__ import annotations

import re

import pytest
from django.template import engines

from aml_salvage import jinja_env, services
from aml_salvage.domain.consult import knowledge_facts
from aml_salvage.presentation import consult_view, view_context
from tests.factories import card_body, case_files, load_case

KEY = re.compile(r'data-card-key="([0-9a-f]{16})"')


@pytest.mark.parametrize("case", case_files()[:4], ids=lambda p: p.stem)
def test_a_card_shows_the_numbering_of_the_result_it_is_shown_in_and_its_key_follows_it(case):
    result = services.consult_evaluate(workup=services.workup_parse(data=load_case(case)["workup"]))
    view = consult_view(result=result, parameters=services.knowledge_get().parameters)
    context = view_context(view)
    numbers = context["reference_numbers"]
    # Another result's numbering of the same references: reversed, so every number moves.
    renumbered = {ref: len(numbers) + 1 - n for ref, n in numbers.items()}
    env = engines["jinja2"].env
    tag = env.from_string("{{ live_card(option) }}")
    for card in view.options:
        option = card.option
        first = tag.render({**context, "option": option})
        second = tag.render({**context, "reference_numbers": renumbered, "option": option})
        template = env.get_template(jinja_env.LIVE_CARD_TEMPLATES.get(option.tier, jinja_env.LIVE_CARD_TEMPLATE))
        plain = template.render({**context, "reference_numbers": renumbered, "option": option,
                                 "dosed": bool(option.doses)})
        assert card_body(second) == plain, option.id
        if option.sources:
            assert first != second, f"{option.id}: the numbers follow the result"
            assert KEY.search(first).group(1) != KEY.search(second).group(1), f"{option.id}: so does the key"
        # A page holding the first card's key is not sent the first card in place of the second.
        held = tag.render({**context, "reference_numbers": renumbered, "option": option,
                           "cards_held": {KEY.search(first).group(1)}})
        assert ("data-held" in held) == (first == second), option.id


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
