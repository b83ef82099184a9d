"""A live update sends again only the option cards that changed (aml_salvage/live_cards.py).

Each card body on the live panel carries the key of its content; with an update the browser sends the keys
it holds (panel_cards), and in a panel (or a tier) sent whole, a body whose key it holds comes back as an empty
element marked hx-preserve, for htmx to keep the browser's own. These tests hold the server to that: a held
body is never sent again, a body the browser does not hold (or that changed) is always sent whole, and what
is not a key is ignored.
"""

from __future__ import annotations

import copy
import re

import pytest
from django.urls import reverse

from aml_salvage.live_cards import HELD_FIELD
from tests.factories import case_files, load_case
from tests.web.conftest import post_data

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
BODY = re.compile(r'<div class="card-body" id="card-([0-9a-f]{16})" data-card-key="\1"'
                  r'( hx-preserve="true" data-held)?>')
CASE = next(p for p in case_files() if p.stem == "dt20-patient1-flt3-itd")


@pytest.fixture
def client(client_for, author):
    return client_for(author)


def live(client, workup: dict, held: list[str] | str | None = None):
    data = post_data(workup)
    if held is not None:
        data[HELD_FIELD] = held if isinstance(held, str) else " ".join(held)
    response = client.post(reverse("workspace"), data, **HX)
    assert response.status_code == 200
    return response.content.decode()


def bodies(html: str) -> dict[str, bool]:
    """Each card body's key → whether it was sent held (empty, to be kept by the browser)."""
    return {m.group(1): bool(m.group(2)) for m in BODY.finditer(html)}


def with_weight(workup: dict, weight: float) -> dict:
    changed = copy.deepcopy(workup)
    changed["patient"]["weight_kg"] = weight
    return changed


def test_a_new_weight_sends_the_doses_afresh_and_every_card_body_held(client):
    """A page that holds the card bodies but not the frame (tests/web/test_live_pieces.py: a page that holds it
    gets the changed parts alone): the whole panel comes, each body empty for the page to keep its own, and the
    preferred options' doses rendered afresh under theirs."""
    workup = load_case(CASE)["workup"]
    first = live(client, workup)
    shown = bodies(first)
    assert len(shown) == first.count('data-option="') == 28 and not any(shown.values())  # every card, whole
    heavier = with_weight(workup, workup["patient"]["weight_kg"] + 1)
    second = live(client, heavier, list(shown))
    # A weight changes no card body (doses and warnings are rendered under the body, afresh).
    again = bodies(second)
    assert again.keys() == shown.keys() and all(again.values())
    for key in again:  # sent empty
        assert re.search(rf'<div class="card-body" id="card-{key}"[^>]*data-held></div>', second)
    # The preferred options' dose tables are still sent, with the new weight in their basis.
    assert second.count('class="dose-table"') == first.count('class="dose-table"') > 0
    assert f'{heavier["patient"]["weight_kg"]:g} kg' in second
    assert len(second) < len(first) / 2


def test_a_body_the_browser_does_not_hold_is_sent_whole(client):
    workup = load_case(CASE)["workup"]
    keys = list(bodies(live(client, workup)))
    kept, dropped = keys[1:], keys[0]
    html = live(client, with_weight(workup, 61), kept)
    again = bodies(html)
    assert again[dropped] is False
    start = html.index(f'<div class="card-body" id="card-{dropped}" data-card-key="{dropped}">')
    body = html[start:html.index("</article>", start)]
    assert "<code>" in body and "option-header" in body, "the body the browser does not hold comes whole"
    assert all(again[key] for key in kept)


def test_a_card_whose_content_changed_is_sent_whole_under_a_new_key(client):
    """Unfit for intensive chemotherapy: the intensive regimens' tiers and reasons change, so do their keys;
    the browser's old keys match nothing and the changed cards come whole."""
    workup = load_case(CASE)["workup"]
    before = bodies(live(client, workup))
    unfit = copy.deepcopy(workup)
    unfit["fit_for_intensive_chemo"] = False
    after_html = live(client, unfit, list(before))
    after = bodies(after_html)
    new_keys = set(after) - set(before)
    assert new_keys, "some cards changed"
    assert not any(after[key] for key in new_keys)
    assert all(after[key] for key in set(after) & set(before))
    assert re.search(r'id="option-flag-ida" data-option="flag-ida" data-tier="(not_recommended|consider)"', after_html)


@pytest.mark.parametrize("value", ["nonsense", "<script>", "0123456789ABCDEF", "0123456789abcdef0", "; DROP",
                                   "a " * 500])
def test_what_is_not_a_key_is_ignored(client, value):
    html = live(client, load_case(CASE)["workup"], value)
    shown = bodies(html)
    assert shown and not any(shown.values())


def test_the_whole_page_ignores_held_keys(client):
    workup = load_case(CASE)["workup"]
    keys = list(bodies(live(client, workup)))
    data = {**post_data(workup), HELD_FIELD: " ".join(keys)}
    page = client.post(reverse("workspace"), data).content.decode()  # no JavaScript: the page comes back whole
    assert "data-held" not in page and "hx-preserve" not in page
    assert page.count('class="reasons"') >= 10


def test_a_card_that_only_moved_keeps_its_key(client):
    """Over 75 (fit): the intensive regimens step down to alternatives and the others' ranks shift. A card whose
    tier and reasons are unchanged shows the same body: the browser keeps it, whatever its new rank."""
    workup = load_case(CASE)["workup"]
    before_html = live(client, workup)
    before = bodies(before_html)
    older = copy.deepcopy(workup)
    older["patient"]["age_years"] = 80
    after_html = live(client, older, list(before))
    after = bodies(after_html)
    kept = [key for key in after if after[key]]
    assert kept, "unchanged cards are held"
    ranks = {m.group(1): m.start() for m in re.finditer(r'data-option="([a-z0-9-]+)"', after_html)}
    ranks_before = {m.group(1): m.start() for m in re.finditer(r'data-option="([a-z0-9-]+)"', before_html)}
    order = sorted(ranks, key=ranks.get)
    order_before = sorted(ranks_before, key=ranks_before.get)
    moved = [oid for i, oid in enumerate(order) if oid in order_before and order_before.index(oid) != i]
    assert moved, "some options changed place"
    # Every body not held is one whose content changed: its key is new.
    assert all(key not in before for key in after if not after[key])
    assert len(kept) >= len(after) // 2
