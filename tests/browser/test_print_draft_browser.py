"""Print draft in a real browser: fill a workup in the workspace, click "Print draft", and the new tab gets the
decision sheet as a PDF watermarked on every page; the browser's own print of the workspace shows the draft
header; the at-a-glance comparison loads in the live result when opened. Debian's chromium through Playwright."""

from __future__ import annotations

import os
from io import BytesIO

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pdfplumber  # noqa: E402

# browser, page and clinician are fixtures: imported so pytest finds them here.
from tests.browser.test_workspace_browser import (  # noqa: E402, F401
    ARTIFACTS,
    DT20_PATIENT_1,
    axe_serious,
    browser,
    clinician,
    fill_workup,
    option_in_tier,
    page,
    sign_in,
)

pytestmark = pytest.mark.browser

DRAFT = "DRAFT — not saved, not for the chart"


def test_print_draft_opens_the_watermarked_decision_sheet(page, clinician, live_server):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    sign_in(page, "alice")
    fill_workup(page, DT20_PATIENT_1)
    option_in_tier(page, "flag-ida", "preferred").wait_for()
    page.get_by_label("Patient identifier").fill("DT20-P1")
    page.get_by_label("Chosen option").select_option("mec")

    # The comparison of every option is in the live result, collapsed.
    glance = page.locator("#result-panel details.glance-details")
    glance.locator("summary").click()  # loads it (views/option_detail.py result_glance)
    glance.locator("tr[data-glance-option]").nth(27).wait_for()
    assert glance.locator("tr[data-glance-option]").count() == 28
    assert glance.locator("svg.glance-chart rect").count() > 10

    # The browser's own print of the workspace heads with the draft, the identifier and the clinician.
    page.emulate_media(media="print")
    header = page.locator("#result-panel .print-header")
    assert header.is_visible() and DRAFT in header.inner_text() and "Alice Hem" in header.inner_text()
    page.emulate_media(media="screen")
    assert not header.is_visible()

    with page.expect_popup() as popup_info:
        with page.context.expect_event("response", predicate=lambda r: "/workspace/print-draft/" in r.url) as seen:
            page.get_by_role("button", name="Print draft").click()
    popup = popup_info.value
    response = seen.value
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.request.method == "POST" and popup.url.endswith("/workspace/print-draft/")
    # Chromium shows the PDF in its viewer, which replaces the response body it reports: ask for the same
    # document again with the same form and session (Playwright's request context shares the cookies).
    form = dict(page.evaluate("() => Array.from(new FormData(document.getElementById('workspace-form')).entries())"))
    again = page.request.post("/workspace/print-draft/", form=form,
                              headers={"Referer": live_server.url + "/", "X-CSRFToken": form["csrfmiddlewaretoken"]})
    assert again.status == 200 and again.headers["content-type"] == "application/pdf"
    document = again.body()
    assert document.startswith(b"%PDF-")
    (ARTIFACTS / "print-draft.pdf").write_bytes(document)
    pages = pdfplumber.open(BytesIO(document)).pages
    for number, pdf_page in enumerate(pages, start=1):
        text = " ".join((pdf_page.extract_text() or "").split())
        assert DRAFT in text and "Patient DT20-P1" in text, f"page {number}"
    first = " ".join(pages[0].extract_text().split())
    assert "Clinician Alice Hem" in first and "Chosen option PREFERRED MEC" in first
    popup.close()

    page.bring_to_front()
    assert page.get_by_label("Patient identifier").input_value() == "DT20-P1", "nothing typed is lost"
    page.screenshot(path=str(ARTIFACTS / "print-draft-workspace.png"), full_page=True)
    problems = axe_serious(page)
    assert not problems, "axe: serious/critical violations with the comparison open:\n" + "\n".join(problems)
