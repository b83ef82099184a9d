"""A live update to a page that holds the new result's frame sends only the parts that may have changed
(aml_salvage/live_cards.py frame_key, templates/jinja2/live/pieces.html).

The frame is the tiers and the knowledge base; each tier's layout, which options it holds in which order. When
the page holds the frame's key, the update sends, each out of band: the result's head (assessment, actions, the
new signed workup), the tier legend, the preferred tier (doses and warnings rendered afresh); a tier whose
layout the page does not hold, whole; in a tier whose layout it holds, the body of each card whose key the page
does not hold, in place of the body that card shows; and the references if the page does not hold theirs. The
panel itself is not swapped (HX-Reswap: none). These tests hold the server to that.
"""

from __future__ import annotations

import copy
import re

import pytest
from django.urls import reverse

from aml_salvage.live_cards import HELD_FIELD
from tests.factories import case_files, load_case
from tests.web.conftest import post_data
from tests.web.test_workspace import workup_token_of

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
CASE = next(p for p in case_files() if p.stem == "dt20-patient1-flt3-itd")
KEY = re.compile(r'data-(?:card|frame)-key="([0-9a-f]{16})"')


@pytest.fixture
def client(client_for, author):
    return client_for(author)


def live(client, workup: dict, held: list[str] | None = None):
    data = post_data(workup)
    if held is not None:
        data[HELD_FIELD] = " ".join(held)
    response = client.post(reverse("workspace"), data, **HX)
    assert response.status_code == 200
    return response


def keys_of(html: str) -> list[str]:
    """Every key the page shows (what static/js/workspace.js sends when no detail is open)."""
    return KEY.findall(html)


def frame_of(html: str) -> str:
    return re.search(r'<div class="result" data-frame-key="([0-9a-f]{16})">', html).group(1)


def changed(workup: dict, path: tuple[str, ...], value) -> dict:
    new = copy.deepcopy(workup)
    node = new
    for name in path[:-1]:
        node = node[name]
    node[path[-1]] = value
    return new


def test_a_new_weight_sends_the_head_and_the_preferred_tier_and_nothing_else(client):
    workup = load_case(CASE)["workup"]
    first = live(client, workup).content.decode()
    assert first.startswith("\n") and '<section id="result-panel"' in first  # a first update: the whole panel
    response = live(client, changed(workup, ("patient", "weight_kg"), 61), keys_of(first))
    second = response.content.decode()

    assert response.headers["HX-Reswap"] == "none"
    assert '<section id="result-panel"' not in second and 'class="result"' not in second
    # The head, with the new workup's token (an option's detail loads for 61 kg, not 60).
    assert re.search(r'<div id="result-head" class="result-head" data-workup-token="[^"]+" hx-swap-oob="true">',
                     second)
    assert workup_token_of(second) != workup_token_of(first)
    # The preferred tier, its doses for 61 kg, its card bodies held.
    assert re.search(r'<section class="tier-group tier-preferred" id="tier-preferred" [^>]*hx-swap-oob="true">',
                     second)
    assert "weight 61 kg" in second and "weight 60 kg" not in second
    preferred = re.findall(r'data-option="([a-z0-9-]+)" data-tier="preferred"', second)
    assert preferred and second.count('data-held></div>') == len(preferred)
    # Nothing of the other tiers, nor the references: the page keeps them where they are.
    for tier in ("alternative", "consider", "not_recommended"):
        assert f'id="tier-{tier}"' not in second and f'data-tier="{tier}"' not in second
    assert 'id="result-references"' not in second and "hx-preserve" not in second.split('id="tier-preferred"')[0]
    # What every update sends out of band.
    assert 'id="result-summary" class="result-summary" hx-swap-oob="true"' in second
    assert '<span id="result-status" hx-swap-oob="innerHTML">Result updated.' in second
    assert len(second) < len(first) / 3


def test_a_card_whose_reasons_changed_is_sent_alone_in_place_of_the_body_it_shows(client):
    """Severe renal impairment: a new creatinine changes the CrCl some cards quote, not which cards are in which
    tier. Those cards' bodies come out of band, each in place of the body its card shows; no other card's."""
    workup = changed(load_case(CASE)["workup"], ("patient", "creatinine", "value"), 230)
    first = live(client, workup).content.decode()
    second = live(client, changed(workup, ("patient", "creatinine", "value"), 240), keys_of(first)).content.decode()
    sent = re.findall(r'<div class="card-body" id="card-([0-9a-f]{16})" data-card-key="\1" '
                      r'hx-swap-oob="outerHTML:#option-([a-z0-9-]+) > \.card-body">', second)
    sent_options = {option for _key, option in sent}
    assert {"mec", "hidac", "clag-m", "gclac", "flag-ida", "flag-ida-ven"} <= sent_options
    assert not {key for key, _option in sent} & set(keys_of(first)), "each under its new key"
    for _key, option in sent:  # whole: the option's name and its reasons with their rule ids
        body = second.split(f"#option-{option} > .card-body")[1].split('<div class="card-body"')[0]
        assert "<code>R-" in body and ("option-header" in body or "option-name" in body)
    mec = second.split("#option-mec > .card-body")[1].split('<div class="card-body"')[0]
    assert "R-RENAL-02</code> CrCl" in mec
    assert 'data-option="aza-ven"' not in second and "#option-aza-ven" not in second  # unchanged: not sent


def test_what_the_page_does_not_hold_is_sent_again(client):
    """The references, and a card body, whose keys the page does not send (it lost them, or never had them)."""
    workup = load_case(CASE)["workup"]
    first = live(client, workup).content.decode()
    references = re.search(r'id="result-references" aria-labelledby="h-references" data-card-key="([0-9a-f]{16})"',
                           first).group(1)
    mec = re.search(r'data-option="mec" data-tier="alternative">\s*<div class="card-body" id="card-([0-9a-f]{16})"',
                    first).group(1)
    held = [key for key in keys_of(first) if key not in (references, mec)]
    second = live(client, changed(workup, ("patient", "weight_kg"), 61), held).content.decode()
    assert re.search(rf'<section class="result-section references" id="result-references" [^>]*'
                     rf'data-card-key="{references}" hx-swap-oob="true">', second)
    assert f'id="card-{mec}" data-card-key="{mec}" hx-swap-oob="outerHTML:#option-mec > .card-body">' in second


def layouts_of(html: str) -> dict[str, str]:
    """Each tier's layout key (but the preferred tier's, which is always sent)."""
    return dict(re.findall(r'<section class="tier-group tier-([a-z_]+)" id="tier-\1" '
                           r'[^>]*data-card-key="([0-9a-f]{16})"', html))


def test_a_tier_whose_options_changed_is_sent_whole_its_unchanged_cards_held(client):
    """Severe renal impairment: the regimens with fludarabine or high-dose cytarabine step down, so some tiers hold
    other options; those tiers come whole, the cards whose bodies did not change held in them; a tier that
    holds the same options is not sent."""
    workup = load_case(CASE)["workup"]
    first = live(client, workup).content.decode()
    older = changed(workup, ("patient", "creatinine", "value"), 300)
    whole = live(client, older).content.decode()  # nothing held: every tier's new layout
    regrouped = {tier for tier, key in layouts_of(whole).items() if layouts_of(first)[tier] != key}
    unchanged = set(layouts_of(first)) - regrouped
    assert regrouped and unchanged

    response = live(client, older, keys_of(first))
    html = response.content.decode()
    assert response.headers["HX-Reswap"] == "none" and frame_of(whole) == frame_of(first)
    assert re.search(r'<p class="tier-legend" id="tier-legend" hx-swap-oob="true">', html)
    assert layouts_of(html) == {tier: layouts_of(whole)[tier] for tier in regrouped}
    for tier in regrouped:
        section = html.split(f'id="tier-{tier}"')[1].split("</section>")[0]
        assert section.count('data-option="') == whole.split(f'id="tier-{tier}"')[1].split("</section>")[0].count(
            'data-option="')
    assert "data-held" in html, "the unchanged bodies of a tier sent again are held"
    for tier in unchanged:
        assert f'id="tier-{tier}"' not in html


def test_a_page_without_the_frame_gets_the_whole_panel(client):
    """A page that does not send the frame's key (a detail is open) gets the whole panel, what it holds held."""
    workup = load_case(CASE)["workup"]
    first = live(client, workup).content.decode()
    without_frame = [key for key in keys_of(first) if key != frame_of(first)]
    heavier = live(client, changed(workup, ("patient", "weight_kg"), 61), without_frame)
    assert "HX-Reswap" not in heavier.headers
    html = heavier.content.decode()
    assert '<section id="result-panel"' in html and frame_of(html) == frame_of(first)
    assert "data-held" in html


def test_a_workup_that_gives_no_result_replaces_the_panel(client):
    workup = load_case(CASE)["workup"]
    first = live(client, workup).content.decode()
    incomplete = post_data(workup)
    incomplete["weight_kg"] = ""
    incomplete[HELD_FIELD] = " ".join(keys_of(first))
    response = client.post(reverse("workspace"), incomplete, **HX)
    assert "HX-Reswap" not in response.headers
    assert "No result yet" in response.content.decode()


def test_the_keys_a_panel_carries_are_those_the_presentation_model_gives(client):
    """What the bench and the load test send as the page's keys (live_cards.panel_card_keys) is what the
    rendered panel carries: the frame, each tier's layout, each body, the tiers held together, the references."""
    from aml_salvage import services
    from aml_salvage.live_cards import panel_card_keys
    from aml_salvage.presentation import consult_view

    workup = load_case(CASE)["workup"]
    view = consult_view(result=services.consult_evaluate(workup=services.workup_parse(data=workup)),
                        parameters=services.knowledge_get().parameters)
    shown = keys_of(live(client, workup).content.decode())
    assert sorted(shown) == sorted(panel_card_keys(view)) and len(shown) == len(set(shown))
