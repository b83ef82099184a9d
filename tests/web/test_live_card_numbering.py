"""The live panel's kept option cards (templatetags/clinical.py: live_card) carry the reference numbers of the
result they are shown in: a card kept from one result and shown in another, whose numbering differs, reads
exactly as the template renders it with the second numbering."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.template.loader import render_to_string

from aml_salvage import services
from aml_salvage.presentation import consult_view, view_context
from aml_salvage.templatetags import clinical
from tests.factories import case_files, load_case


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
        plain = render_to_string("partials/option_live.html", {
            **context, "reference_numbers": renumbered, "option": option, "doses": card.doses,
            "dosed": bool(option.doses)})
        assert second == plain, option.id
        if option.sources:
            assert first != second, f"{option.id}: the numbers follow the result"
        assert "\x02" not in second and "\x03" not in second
    assert clinical._live_card.cache_info().hits == len(view.options)
