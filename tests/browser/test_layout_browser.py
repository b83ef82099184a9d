"""The workspace at any width, in a real browser (Debian's chromium through Playwright).

At 1440, 1024, 820 and 390 px the workspace, the consult list and a saved consult do not overflow
horizontally and axe-core finds nothing serious or critical; at 820 px the result summary stays in view
while the clinician types low in the form; "Choose this option" fills the save form; a failed save names
every problem in a banner that takes the focus and keeps what was typed; switching to primary refractory
empties and disables relapse number and CR1 duration, and a gene awaited its result input.
Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import re

import pytest

from aml_salvage.forms import MSG_CHOSEN_OPTION_REQUIRED, MSG_TRANSPLANT_UNANSWERED
from tests.browser import test_workspace_browser as base
from tests.browser.test_workspace_browser import (
    ARTIFACTS,
    DT20_PATIENT_1,
    axe_serious,
    fill_workup,
    option_in_tier,
    quiet,
    sign_in,
)
from tests.web.conftest import saved_consult

pytestmark = pytest.mark.browser
# The fixtures of the workspace's browser test: one chromium for the module, a fresh page, a signed-up clinician.
browser, page, clinician = base.browser, base.page, base.clinician

WIDTHS = (1440, 1024, 820, 390)
HEIGHT = 900
SHOTS = ARTIFACTS / "browser"


def overflow(page) -> int:
    """How many CSS pixels the document is wider than the viewport (0: no horizontal scrolling)."""
    return page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")


def overflowing(page) -> list[str]:
    """The innermost elements reaching past the right edge of the viewport: where to look when it overflows."""
    return page.evaluate("""() => [...document.querySelectorAll('body *')].filter((el) =>
        el.getBoundingClientRect().right > window.innerWidth + 1
        && ![...el.children].some((c) => c.getBoundingClientRect().right > window.innerWidth + 1)
      ).slice(0, 8).map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className} right=${
        Math.round(el.getBoundingClientRect().right)}`)""")


def scrolling_panes(page) -> list[str]:
    """Elements other than the page that scroll vertically on their own (the page is the one scroll container)."""
    return page.evaluate("""() => [...document.querySelectorAll('body *')].filter((el) => {
        const style = getComputedStyle(el);
        return /(auto|scroll)/.test(style.overflowY) && el.scrollHeight > el.clientHeight + 1;
      }).map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + el.className)""")


def cut_off_selects(page, *, width: int) -> list[str]:
    """Selects too narrow for one of their options' words (measured in the select's own font, plus its arrow).
    On a phone the chosen-option select is exempt: its two longest regimen names (425 px) cannot fit 390 px at a
    legible size; the phone's own picker shows them whole, and the save panel's status line names the choice."""
    skip = ["id_chosen_option_id"] if width < 600 else []
    return page.evaluate("""(skip) => {
      const ctx = document.createElement('canvas').getContext('2d');
      const shown = [...document.querySelectorAll('select')].filter((s) => s.offsetParent !== null);
      return shown.filter((s) => !skip.includes(s.id)).flatMap((s) => {
        const style = getComputedStyle(s);
        ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
        const room = s.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 20;
        return [...s.options].filter((o) => ctx.measureText(o.text).width > room)
          .map((o) => `${s.id}: “${o.text}” needs ${Math.ceil(ctx.measureText(o.text).width)} px, has ${room}`);
      });
    }""", skip)


def in_viewport(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"] and box["height"] > 0


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    page.screenshot(path=str(SHOTS / f"{name}-full.png"), full_page=True)


def check_page(page, name: str, width: int) -> None:
    assert overflow(page) <= 0, f"{name} at {width} px overflows by {overflow(page)} px: {overflowing(page)}"
    assert not scrolling_panes(page), f"{name} at {width} px has nested scrolling panes: {scrolling_panes(page)}"
    cut = cut_off_selects(page, width=width)
    assert not cut, f"{name} at {width} px cuts off select labels: {cut}"
    problems = axe_serious(page)
    assert not problems, f"axe on {name} at {width} px:\n" + "\n".join(problems)
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, f"{name}-{width}")


def test_every_page_fits_and_passes_axe_at_every_width(page, clinician):
    consult = saved_consult(clinician, DT20_PATIENT_1, patient_identifier="DT20-P1", notes="Bridge to HCT.")
    sign_in(page, "alice")
    fill_workup(page, DT20_PATIENT_1)
    option_in_tier(page, "flag-ida", "preferred").wait_for()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        check_page(page, "workspace", width)
    page.goto("/consults/")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        check_page(page, "consult-list", width)
    page.goto(f"/consults/{consult.pk}/")
    assert page.locator("[data-choose]").count() == 0, "the saved page offers no choice: it is a snapshot"
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        check_page(page, "consult", width)


def test_the_workspace_keeps_up_with_the_clinician(page, clinician):
    page.set_viewport_size({"width": 820, "height": HEIGHT})
    sign_in(page, "alice")
    summary = page.locator("#result-summary")
    fill_workup(page, DT20_PATIENT_1)
    summary.locator(".summary-preferred").wait_for()

    # At 820 px, typing low in the form: the summary of the result is in view and follows the change.
    other = page.get_by_label("Other mutations", exact=True)
    other.scroll_into_view_if_needed()
    other.fill("DNMT3A, WT1")
    page.get_by_label("FLT3-ITD", exact=True).check()
    summary.get_by_role("link", name="Gilteritinib").wait_for()
    quiet(page)  # the update the "Other mutations" typed still had to send
    assert page.evaluate("window.scrollY") > HEIGHT, "the form was scrolled well below the top"
    assert in_viewport(page, "#result-summary"), "the result summary left the viewport while typing"
    summary_text = summary.inner_text()
    for tier in ("Preferred", "Alternative", "Consider", "Not recommended"):
        assert re.search(rf"{tier}: \d+", summary_text), f"{tier} count missing from: {summary_text}"
    shoot(page, "workspace-820-typing")

    # "Choose this option" on a card that is not preferred: the select is filled, the choice is announced,
    # and the focus is on the override reason that saving it needs.
    card = page.locator("#result-panel #tier-alternative article.option").first
    option_id = card.get_attribute("data-option")
    card.locator("[data-choose]").click()
    assert page.get_by_label("Chosen option").input_value() == option_id
    status = page.locator("#choose-status")
    assert "chosen" in status.inner_text() and "reason" in status.inner_text()
    assert status.get_attribute("role") == "status"
    assert page.evaluate("document.activeElement.id") == "id_override_reason"
    assert in_viewport(page, "#id_override_reason")
    assert card.evaluate("el => el.classList.contains('chosen')")
    # A preferred one: the select is filled and focused.
    page.locator('#result-panel #tier-preferred [data-choose="gilteritinib"]').click()
    assert page.get_by_label("Chosen option").input_value() == "gilteritinib"
    assert page.evaluate("document.activeElement.id") == "id_chosen_option_id"
    # The choice survives a live update (the cards are swapped in again).
    page.get_by_label("Weight", exact=True).fill("61")
    page.locator("#result-status").get_by_text("Preferred:").wait_for()
    page.locator("#result-panel #option-gilteritinib.chosen").wait_for()

    # Primary refractory: relapse number and CR1 duration are emptied and disabled; switching back restores them.
    page.get_by_label("Disease status").select_option("primary_refractory")
    relapse, cr1 = page.get_by_label("Relapse number"), page.get_by_label("First remission (CR1) duration")
    assert relapse.is_disabled() and cr1.is_disabled()
    assert relapse.input_value() == "" and cr1.input_value() == ""
    page.get_by_label("Disease status").select_option("relapse")
    assert relapse.input_value() == "1" and cr1.input_value() == "5"
    assert not relapse.is_disabled()

    # A gene awaited has no result yet: ticking it pending unticks and disables its result; unticking restores it.
    page.get_by_label("FLT3-ITD awaited", exact=True).check()
    flt3 = page.get_by_label("FLT3-ITD", exact=True)
    assert flt3.is_disabled() and not flt3.is_checked()
    page.get_by_label("FLT3-ITD awaited", exact=True).uncheck()
    assert flt3.is_enabled() and flt3.is_checked()
    # Choosing with the keyboard, in the select: the status line names the option in full.
    page.get_by_label("Chosen option").select_option("hma")
    assert page.locator("#choose-status").inner_text().startswith("Hypomethylating agent alone")

    # A failed save: no age, no transplant answer, no option chosen. The banner names all three with a link
    # each, takes the focus, and every value typed is still there.
    page.get_by_label("Age", exact=True).fill("")
    page.get_by_label("Transplant candidate").select_option("")
    page.get_by_label("Chosen option").select_option("")
    page.get_by_label("Notes").fill("Kept after a failed save.")
    page.get_by_role("button", name="Save consult").click()
    banner = page.locator("#save-errors")
    banner.wait_for()
    assert page.evaluate("document.activeElement.id") == "save-errors"
    assert in_viewport(page, "#save-errors")
    text = banner.inner_text()
    assert "Not saved: 3 problems" in text
    assert MSG_TRANSPLANT_UNANSWERED in text and MSG_CHOSEN_OPTION_REQUIRED in text and "Age" in text
    shoot(page, "workspace-820-failed-save")
    assert page.get_by_label("Notes").input_value() == "Kept after a failed save."
    assert page.get_by_label("Weight", exact=True).input_value() == "61"
    assert page.get_by_label("Other mutations", exact=True).input_value() == "DNMT3A, WT1"
    # Each link takes the clinician to the input.
    banner.get_by_role("link", name="Transplant candidate").click()
    assert page.evaluate("document.activeElement.id") == "id_transplant_candidate"
    problems = axe_serious(page)
    assert not problems, "axe on the failed save:\n" + "\n".join(problems)
