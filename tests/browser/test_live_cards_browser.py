"""In chromium: a live update keeps the option cards that did not change (aml_salvage/live_cards.py,
static/js/workspace.js). The page sends the keys of what it holds; the server sends the parts that changed
(when the page holds the result's frame) or the whole panel with what is held sent back empty, and htmx keeps
the page's own elements. Either way the panel ends as a whole update would leave it. A card whose detail was
opened comes back new, reopened with the new workup's doses; and a held card the page no longer has is asked
for again, never left blank.
"""

from __future__ import annotations

import re

import pytest

# browser, page and clinician are fixtures: imported so pytest finds them here.
from tests.browser.test_workspace_browser import (  # noqa: F401
    DT20_PATIENT_1,
    browser,
    clinician,
    fill_workup,
    option_in_tier,
    page,
    quiet,
    sign_in,
)

pytestmark = pytest.mark.browser

MARK = "el => { el.__kept = true; }"
WAS_KEPT = "el => el.__kept === true"


def updated(page, action) -> str:  # noqa: F811
    """Do action (a change to the workup) and return the form body of the live update it sent, once swapped."""
    with page.expect_request(lambda r: r.method == "POST" and r.headers.get("hx-request") == "true") as sent:
        with page.expect_response(lambda r: r.request.method == "POST" and r.status == 200):
            action()
    quiet(page)
    return sent.value.post_data or ""


def flt3_at_relapse(page) -> None:  # noqa: F811
    """DT20 Patient 1 typed in, then FLT3-ITD ticked: the result after a first live update of every card."""
    sign_in(page, "alice")
    fill_workup(page, DT20_PATIENT_1)
    option_in_tier(page, "flag-ida", "preferred").wait_for()
    page.get_by_label("FLT3-ITD", exact=True).check()
    option_in_tier(page, "gilteritinib", "preferred").wait_for()


def test_an_update_keeps_the_cards_that_did_not_change(page, clinician):  # noqa: F811
    flt3_at_relapse(page)
    panel = page.locator("#result-panel")
    assert panel.locator(".card-body[data-card-key]").count() == 28
    assert panel.locator("section.tier-group[data-card-key]").count() == 3  # each tier's layout but the preferred

    mec = panel.locator('[data-option="mec"] .card-body')
    gilteritinib = panel.locator('[data-option="gilteritinib"]')
    mec.evaluate(MARK)
    sent = updated(page, lambda: page.get_by_label("Weight", exact=True).fill("72"))
    assert "panel_cards=" in sent and len(sent.split("panel_cards=")[1].split("&")[0]) > 28 * 16
    gilteritinib.locator("table.dose-table").get_by_text("weight 72 kg").wait_for()
    # The same element, untouched, and whole: its reasons and its disclosure are still there.
    assert mec.evaluate(WAS_KEPT)
    assert panel.locator('[data-option="mec"] code').count() >= 1
    assert panel.locator('[data-option="mec"] details.option-detail').count() == 1
    assert panel.locator("[data-held]").count() == 0, "nothing is left empty"
    assert panel.locator("[data-option]").count() == 28


# The panel as this page shows it, and as a whole live update of the same form (no keys held) would: the text
# (without the print header, which carries the minute) and every key, in order, with what carries it.
AS_WHOLE = """async () => {
  const data = new URLSearchParams(new FormData(document.getElementById("workspace-form")));
  data.delete("panel_cards");
  const csrf = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  const response = await fetch("/", {method: "POST", body: data, headers: {"HX-Request": "true", "X-CSRFToken": csrf}});
  const whole = new DOMParser().parseFromString(await response.text(), "text/html").getElementById("result-panel");
  const text = (root) => {
    const copy = root.cloneNode(true);
    copy.querySelectorAll(".print-header").forEach((e) => e.remove());
    return copy.textContent.replace(/\\s+/g, " ").trim();
  };
  const keys = (root) => [...root.querySelectorAll("[data-card-key], [data-frame-key]")]
    .map((e) => [e.className, e.dataset.cardKey || e.dataset.frameKey]);
  const here = document.getElementById("result-panel");
  return {here: text(here), whole: text(whole), hereKeys: keys(here), wholeKeys: keys(whole)};
}"""


def assert_as_whole(page) -> None:  # noqa: F811
    shown = page.evaluate(AS_WHOLE)
    assert shown["here"] == shown["whole"]
    assert shown["hereKeys"] == shown["wholeKeys"]
    assert page.locator("#result-panel [data-held]").count() == 0


def test_an_update_of_parts_leaves_the_panel_as_a_whole_update_would(page, clinician):  # noqa: F811
    flt3_at_relapse(page)
    panel = page.locator("#result-panel")
    alternatives = panel.locator("#tier-alternative")
    alternatives.evaluate(MARK)
    with page.expect_response(lambda r: r.request.method == "POST" and r.status == 200) as answer:
        updated(page, lambda: page.get_by_label("Weight", exact=True).fill("72"))
    assert answer.value.headers.get("hx-reswap") == "none", "the page held the frame: parts only"
    panel.locator("#tier-preferred table.dose-table").get_by_text("weight 72 kg").first.wait_for()
    assert alternatives.evaluate(WAS_KEPT), "a tier that did not change is not touched"
    assert_as_whole(page)
    # The signed workup of the new result goes with a detail opened now: a card kept whole loads 72 kg doses.
    mec = panel.locator('[data-option="mec"]')
    mec.locator("details.option-detail > summary").click()
    mec.locator(".option-detail-body table.dose-table").get_by_text("weight 72 kg").first.wait_for()
    mec.locator("details.option-detail > summary").click()

    # Severe renal impairment: some options change tier. Those tiers come whole, the others stay as they are.
    consider = panel.locator("#tier-consider")
    consider.evaluate(MARK)
    with page.expect_response(lambda r: r.request.method == "POST" and r.status == 200) as answer:
        updated(page, lambda: page.get_by_label("Serum creatinine", exact=True).fill("300"))
    assert answer.value.headers.get("hx-reswap") == "none"
    assert consider.evaluate(WAS_KEPT) and not panel.locator("#tier-alternative").evaluate(WAS_KEPT)
    assert_as_whole(page)

    # Then a new creatinine: the CrCl some cards quote changes, not the tiers. Those cards' bodies are replaced
    # where they are.
    kept = panel.locator('[data-option="aza-ven"] .card-body')
    kept.evaluate(MARK)
    hidac = panel.locator('[data-option="hidac"] .card-body')
    hidac.evaluate(MARK)
    with page.expect_response(lambda r: r.request.method == "POST" and r.status == 200) as answer:
        updated(page, lambda: page.get_by_label("Serum creatinine", exact=True).fill("320"))
    assert answer.value.headers.get("hx-reswap") == "none"
    assert kept.evaluate(WAS_KEPT) and not hidac.evaluate(WAS_KEPT)
    assert "R-RENAL-02" in hidac.inner_text()
    assert_as_whole(page)

    # Over 75: the tiers regroup again, and the panel still shows what a whole update would.
    updated(page, lambda: page.get_by_label("Age", exact=True).fill("80"))
    assert_as_whole(page)
    assert panel.locator("[data-option]").count() == 28


def test_a_card_whose_detail_was_opened_comes_back_with_the_new_doses(page, clinician):  # noqa: F811
    flt3_at_relapse(page)
    card = page.locator('#result-panel [data-option="mec"]')
    card.locator("details.option-detail > summary").click()
    card.locator(".option-detail-body table.dose-table").get_by_text("weight 60 kg").first.wait_for()
    card.locator(".card-body").evaluate(MARK)
    updated(page, lambda: page.get_by_label("Weight", exact=True).fill("75"))
    # Not kept (its detail showed the last weight's doses): sent again, reopened, its doses for 75 kg.
    card.locator("details.option-detail[open] .option-detail-body").get_by_text("weight 75 kg").first.wait_for()
    assert not card.locator(".card-body").evaluate(WAS_KEPT)
    assert "weight 60 kg" not in card.inner_text()


def test_a_held_card_the_page_no_longer_has_is_asked_for_again(page, clinician):  # noqa: F811
    """The page claims a card it does not have (a preferred card's body removed, its key still sent): the
    server sends it empty, htmx has nothing to keep, and the script asks for the update again without keys."""
    sign_in(page, "alice")
    fill_workup(page, DT20_PATIENT_1)
    option_in_tier(page, "flag-ida", "preferred").wait_for()
    body = page.locator('#result-panel [data-option="flag-ida"] .card-body')
    key = body.get_attribute("data-card-key")
    body.evaluate("el => el.remove()")

    claimed = []

    def claim(route):  # the first update only: the key the page no longer has, added to what it sends
        if route.request.method == "POST" and not claimed:
            claimed.append(route.request.post_data)
            route.continue_(post_data=(route.request.post_data or "") + f"+{key}")
        else:
            route.continue_()

    page.route("**/", claim)
    with page.expect_request(lambda r: r.method == "POST" and bool(claimed)
                             and re.search(r"panel_cards=(&|$)", r.post_data or "") is not None):
        page.get_by_label("Weight", exact=True).fill("64")
    page.unroute("**/")
    whole = page.locator(f'#result-panel [data-option="flag-ida"] #card-{key}')
    whole.locator("code").first.wait_for()
    assert page.locator("#result-panel .card-body[data-held]").count() == 0


def test_leaving_a_field_whose_value_was_sent_sends_it_no_more(page, clinician):  # noqa: F811
    flt3_at_relapse(page)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.post_data or "")
            if r.method == "POST" and r.headers.get("hx-request") == "true" else None)
    updated(page, lambda: page.get_by_label("Weight", exact=True).fill("72"))  # sent by the debounced "input"
    page.locator("#result-panel").get_by_text("weight 72 kg").first.wait_for()
    posts.clear()
    page.get_by_label("Height", exact=True).click()  # leaving Weight fires its "change": the panel has 72 kg
    page.wait_for_timeout(1000)  # past the debounce
    assert posts == []

    # Typed and left before the debounce: the "change" sends it at once, and only once.
    page.get_by_label("Height", exact=True).fill("171")
    with page.expect_response(lambda r: r.request.method == "POST" and r.status == 200):
        page.get_by_label("Weight", exact=True).click()
    page.locator("#result-panel").get_by_text("171 cm").first.wait_for()
    page.wait_for_timeout(1000)
    assert len(posts) == 1 and "height_cm=171" in posts[0]

    # A ticked box changes the workup: sent.
    with page.expect_response(lambda r: r.request.method == "POST" and r.status == 200):
        page.get_by_label("NPM1", exact=True).check()
    assert len(posts) == 2
