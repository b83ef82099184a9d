"""The saved consult page opens with the chosen option and its doses, and says at the top when a revision
superseded it; the saved page and the live result carry every option at a glance (table and chart)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from aml_salvage import services
from aml_salvage.presentation import dose_table
from aml_salvage.views.option_detail import workup_token
from tests.factories import YOUNG_FIT
from tests.web.conftest import post_data, saved_consult
from tests.web.test_workspace import TOKEN_META, workup_token_of

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def test_the_saved_page_shows_the_chosen_alternative_and_its_doses_before_the_result(client_for, author):
    consult = saved_consult(author, chosen_option_id="aza-ven", override_reason="Declines intensive therapy.")
    page = client_for(author).get(reverse("consult_detail", args=[consult.pk])).content.decode()
    first = page.index('class="chosen-first"')
    assert first < page.index('id="result-panel"')
    chosen = page[first:page.index('id="result-panel"')]
    assert "Azacitidine + venetoclax" in chosen and "override reason: Declines intensive therapy." in chosen
    result = services.consult_evaluate(workup=services.workup_parse(data=YOUNG_FIT))
    aza_ven = next(o for o in result.options if o.id == "aza-ven")
    for row in dose_table(aza_ven).lines:
        assert row.patient_dose in chosen, row.patient_dose
    assert "superseded-banner" not in page


def test_the_saved_page_and_the_live_result_carry_every_option_at_a_glance(client_for, author):
    client = client_for(author)
    consult = saved_consult(author)
    saved = client.get(reverse("consult_detail", args=[consult.pk])).content.decode()
    assert saved.count("data-glance-option=") == 28
    assert '<svg class="glance-chart"' in saved and "Metrics as reported:" in saved
    assert f'data-glance-option="{consult.chosen_option_id}"' in saved
    assert 'glance-row tier-preferred chosen"' in saved  # the chosen option is marked in the comparison
    # The live panel loads it when the clinician opens it, for the workup the panel shows (its signed token).
    panel = client.post(reverse("workspace"), post_data(), **HX).content.decode()
    assert "data-glance-option=" not in panel
    assert f'hx-get="{reverse("result_glance")}" hx-trigger="toggle once"' in panel
    token = workup_token_of(panel)
    live = client.get(reverse("result_glance"), **HX, **{TOKEN_META: token}).content.decode()
    assert live.count("data-glance-option=") == 28
    assert '<svg class="glance-chart"' in live and "Metrics as reported:" in live
    result = services.consult_evaluate(workup=services.workup_parse(data=YOUNG_FIT))
    for option in result.options:  # the same tiers as the panel it completes
        row_start = live.split(f'data-glance-option="{option.id}"')[0].rsplit("<tr", 1)[1]
        assert f"glance-row tier-{option.tier}" in row_start, option.id


def test_the_live_comparison_refuses_a_forged_or_foreign_token(client_for, author, teammate):
    client = client_for(author)
    foreign = workup_token(workup=services.workup_parse(data=YOUNG_FIT), user=teammate)
    for token in ("", "not-a-token", foreign):
        response = client.get(reverse("result_glance"), **HX, **{TOKEN_META: token})
        assert response.status_code == 200 and "update the result" in response.content.decode()
        assert "data-glance-option" not in response.content.decode()
    assert client.get(reverse("result_glance"), **{TOKEN_META: "x"}).status_code == 400


def test_the_live_result_prints_with_a_draft_header_naming_the_clinician(client_for, author):
    body = client_for(author).post(reverse("workspace"), post_data(patient_identifier="MRN-9"), **HX).content.decode()
    header = body[body.index('class="print-header"'):body.index('aria-labelledby="h-assessment"')]
    assert "DRAFT — not saved, not for the chart" in header and "MRN-9" in header
    assert author.get_full_name() in header or author.get_username() in header
