"""The live panel, the saved consult page and the PDF are built from one presentation model: for every
worked case they show the same tier for each option, the same option names, the same patient dose on each
dose line and the same workup rows."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from aml_salvage import pdf, services
from aml_salvage.consults import consult_create
from aml_salvage.presentation import ConsultMeta, consult_view
from tests.factories import case_files, load_case
from tests.web.conftest import post_data

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).replace("\u00a0", " ").strip()


@pytest.mark.parametrize("case", case_files(), ids=lambda p: p.stem)
def test_live_panel_saved_page_and_pdf_show_the_same_labels_and_numbers(case, client_for, author):
    data = load_case(case)["workup"]
    workup = services.workup_parse(data=data)
    result = services.consult_evaluate(workup=workup)
    view = consult_view(result=result, parameters=services.knowledge_get().parameters, workup=workup)
    chosen = view.tier_groups[0].options[0].option if view.tier_groups[0].options else result.options[0]
    client = client_for(author)

    live = client.post(reverse("workspace"), post_data(data), **HX).content.decode()
    consult = consult_create(author=author, workup=workup, result=result, chosen_option_id=chosen.id,
                             override_reason="" if chosen.tier == "preferred" else "agreement test",
                             notes="", patient_identifier="T1", revision_of=None)
    page = client.get(reverse("consult_detail", args=[consult.pk])).content.decode()
    meta = ConsultMeta(institution="Test", generated_at="2026-01-01T10:00:00+00:00", chosen_option_id=chosen.id,
                       chosen_option_name=chosen.name, chosen_option_tier=chosen.tier)
    printed = pdf.render_consult_html(result=result, workup=workup, meta=meta)

    for card in view.options:
        o = card.option
        for body in (live, page):  # the tier of each option, named as the model names it
            assert re.search(rf'data-option="{re.escape(o.id)}" data-tier="{o.tier}"', body), (o.id, o.tier)
            assert o.name in unescape(body)
        assert f'data-option="{o.id}"' in printed and o.name in unescape(printed)
        if card.doses is None:
            continue
        for row in card.doses.lines:  # each dose line's patient dose, in the same words everywhere it is shown
            if o.tier == "preferred":
                assert row.patient_dose in text(live)
            assert row.patient_dose in text(page)
            # On paper, only the chosen option's doses (the decision sheet): the document filed in the chart and
            # checked by the pharmacist carries no dose of a regimen that was not chosen.
            if o.id == chosen.id:
                assert row.patient_dose in text(printed)
    for section in view.workup:  # the workup rows: one description on the page and on paper
        for label, value in section.rows:
            assert f"{label} {value}" in text(page), (label, value)
            assert f"{label} {value}" in text(printed), (label, value)
