"""The clinician's path in a real browser: sign in, fill DT20 Patient 1, watch the live result, flip
FLT3-ITD, save, find the consult; axe-core on the workspace and the library; session expiry keeps input.

Drives Debian's /usr/bin/chromium through Playwright against pytest-django's live server. A missing
browser or axe-core is a failure with instructions, never a skip: CI installs both (`make install`).
Screenshots go to test-artifacts/ (ignored by git).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls made by the test itself
# (creating the user) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from django.contrib.auth.models import Group, User  # noqa: E402

from aml_salvage.forms import FIELD_PATHS, WorkupForm, form_data_from_workup  # noqa: E402
from tests.factories import YOUNG_FIT, build  # noqa: E402

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent.parent
CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PASSWORD = "browser-test-password-5d1c"  # test database only
UPDATE_TIMEOUT_MS = 10_000

# DT20 Patient 1: 30-year-old fit woman, first relapse after 5 months of CR1, extramedullary disease.
DT20_PATIENT_1 = build(YOUNG_FIT, **{
    "disease.cr1_duration_months": 5, "disease.marrow_blasts_pct": 55, "disease.extramedullary": True,
    "genetics.other_mutations": ["DNMT3A"],
})


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make install` (or `apt-get install -y chromium`).", pytrace=False)
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make node-deps` (npm ci --prefix tests/browser).", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(UPDATE_TIMEOUT_MS)
    page = context.new_page()
    # Nothing may come from another host: fail on any request that is not to the live server.
    foreign: list[str] = []
    page.on("request", lambda req: None if req.url.startswith(live_server.url) or req.url.startswith("data:")
            else foreign.append(req.url))
    # The Content-Security-Policy allows no inline script or style: anything it blocks is a bug.
    blocked: list[str] = []
    page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
    yield page
    context.close()
    assert not foreign, f"requests to other hosts: {foreign}"
    assert not blocked, "blocked by the Content-Security-Policy:\n" + "\n".join(blocked)


@pytest.fixture
def clinician(transactional_db):
    team = Group.objects.create(name="Leukemia A")
    user = User.objects.create_user("alice", password=PASSWORD, first_name="Alice", last_name="Hem")
    user.groups.add(team)
    return user


# The workspace's own address: the path "/" alone (a bare r"/$" would also match /accounts/two-factor/verify/).
WORKSPACE_URL = re.compile(r"^https?://[^/]+/$")


def sign_in(page, username: str) -> None:
    page.goto("/")
    assert "/accounts/login/" in page.url, "the workspace must not be visible before signing in"
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(WORKSPACE_URL)


def fill_workup(page, workup: dict) -> None:
    """Fill every field through its label, as a clinician would (and proving each label is tied)."""
    form = WorkupForm()
    data = form_data_from_workup(workup)
    for name in FIELD_PATHS:
        field = form.fields[name]
        widget = field.widget.input_type if hasattr(field.widget, "input_type") else ""
        if widget == "checkbox" and getattr(field, "choices", None):  # a group: each box by its own label
            for value, label in field.choices:
                page.get_by_label(str(label), exact=True).set_checked(value in data.get(name, []))
            continue
        control = page.get_by_label(str(field.label), exact=True)
        if widget == "checkbox":
            control.set_checked(name in data)
        elif widget == "select":
            control.select_option(data[name])
        else:
            control.fill(data[name])
    quiet(page)


def quiet(page) -> None:
    """Past the debounce of the last field typed, and no update in flight or being swapped: the panel shows the
    workup as typed. (htmx clears the request class of the indicator only once the response is swapped, its
    out-of-band parts included; the response event Playwright sees comes before that.)"""
    trigger = page.get_attribute(".workup[hx-post]", "hx-trigger")  # "input changed delay:400ms, change"
    page.wait_for_timeout(int(re.search(r"delay:(\d+)ms", trigger).group(1)) + 100)
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


def axe_serious(page) -> list[str]:
    # Evaluated through the DevTools protocol: an injected <script> would be refused by the page's CSP.
    page.evaluate(AXE.read_text())
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in results["violations"] if v["impact"] in ("serious", "critical")
    ]


def screenshots(page, name: str) -> None:
    """What the clinician sees on arrival, and the whole page."""
    page.evaluate("window.scrollTo(0, 0); document.querySelector('.workspace-inputs')?.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    page.screenshot(path=str(ARTIFACTS / f"{name}-full.png"), full_page=True)


def option_in_tier(page, option_id: str, tier: str):
    return page.locator(f'#result-panel #tier-{tier} [data-option="{option_id}"]')


def test_clinician_path(page, clinician, live_server):
    ARTIFACTS.mkdir(exist_ok=True)
    sign_in(page, "alice")
    panel = page.locator("#result-panel")
    assert "Fill in the workup" in panel.inner_text()
    page.evaluate("window.__sameDocument = true")  # survives only if the page never reloads

    # A field error appears beside the field while typing, and the typed value stays.
    age = page.get_by_label("Age", exact=True)
    age.fill("15")
    page.locator("#err-age_years").get_by_text("AML Salvage is for adults").wait_for()
    assert age.input_value() == "15"

    fill_workup(page, DT20_PATIENT_1)
    page.locator("#err-age_years:empty").wait_for(state="attached")
    option_in_tier(page, "flag-ida", "preferred").wait_for()
    assert option_in_tier(page, "mec", "preferred").count() == 1
    assert option_in_tier(page, "gilteritinib", "not_recommended").count() == 1
    assert panel.locator("[data-option]").count() == 28, "every option is shown"
    assert "Poor" in panel.locator("dl.assessment").inner_text() or "poor" in panel.inner_text()

    # FLT3-ITD at relapse: gilteritinib becomes preferred, without a reload.
    page.get_by_label("FLT3-ITD", exact=True).check()
    option_in_tier(page, "gilteritinib", "preferred").wait_for()
    assert page.evaluate("window.__sameDocument") is True
    assert page.get_by_label("Age", exact=True).input_value() == "30"
    page.locator("#result-status").get_by_text("Preferred:").wait_for()

    # The preferred option's doses are in the panel; an alternative's load when the clinician opens it.
    assert "120 mg" in option_in_tier(page, "gilteritinib", "preferred").locator("table.dose-table").inner_text()
    alternative = page.locator("#result-panel #tier-alternative article.option").first
    assert alternative.locator("table.dose-table").count() == 0
    alternative.locator("details.option-detail > summary").click()
    alternative.locator(".option-detail-body table.dose-table").wait_for()
    assert "Doses for this patient — Height 165 cm, weight 60 kg" in alternative.inner_text()
    # A change to the workup keeps it open and reloads its doses for the new weight.
    option_id = alternative.get_attribute("id")
    page.get_by_label("Weight", exact=True).fill("70")
    reopened = page.locator(f"#result-panel #{option_id} details.option-detail[open] .option-detail-body")
    reopened.get_by_text("weight 70 kg").first.wait_for()
    page.get_by_label("Weight", exact=True).fill("60")
    page.locator(f"#result-panel #{option_id} .option-detail-body").get_by_text("weight 60 kg").first.wait_for()
    screenshots(page, "workspace")

    problems = axe_serious(page)
    assert not problems, "axe: serious/critical violations on the workspace:\n" + "\n".join(problems)

    # Save with the preferred option (no override reason needed).
    page.get_by_label("Patient identifier").fill("DT20-P1")
    page.get_by_label("Chosen option").select_option("gilteritinib")
    page.get_by_label("Notes").fill("FLT3-ITD at relapse; bridge to HCT.")
    page.get_by_role("button", name="Save consult").click()
    page.wait_for_url(re.compile(r"/consults/\d+/$"))
    assert "Consult" in page.locator("h1").inner_text() and "DT20-P1" in page.locator("h1").inner_text()
    assert page.locator('#option-gilteritinib.chosen').count() == 1
    screenshots(page, "consult")

    # Find it in the team's list by identifier.
    page.get_by_role("link", name="Saved consults").click()
    page.get_by_label("Patient identifier").fill("dt20")
    with page.expect_navigation():  # a POST to the same address: the list comes back filtered
        page.get_by_role("button", name="Search").click()
    row = page.locator("table.consult-list tbody tr")
    assert row.count() == 1 and "DT20-P1" in row.first.inner_text()

    page.goto("/regimens/")
    problems = axe_serious(page)
    assert not problems, "axe: serious/critical violations on the regimen library:\n" + "\n".join(problems)
    screenshots(page, "library")
    page.goto("/regimens/gilteritinib/")
    problems = axe_serious(page)
    assert not problems, "axe: serious/critical violations on a regimen page:\n" + "\n".join(problems)
    screenshots(page, "regimen-gilteritinib")


def test_session_expiry_keeps_what_is_typed(page, clinician):
    sign_in(page, "alice")
    page.get_by_label("Age", exact=True).fill("44")
    page.locator("#result-panel").get_by_text("No result yet").wait_for()
    page.context.clear_cookies(name="sessionid")  # as if 30 minutes had passed (the CSRF cookie stays)
    page.get_by_label("Weight", exact=True).fill("71")
    page.locator("#result-panel").get_by_text("You were signed out").wait_for()
    assert page.get_by_label("Age", exact=True).input_value() == "44"
    assert page.get_by_label("Weight", exact=True).input_value() == "71"
