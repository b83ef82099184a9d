"""Two-factor sign-in in a real browser: a staff member signs in, enrols an authenticator from the QR code
page (the code computed from the device's key, as the phone app would), is shown the recovery codes once,
reaches the app; signs out and back in with a code; then with a recovery code. No CSP violation, no request
to another host (the page fixture), no serious accessibility violation on the two-factor pages."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.browser.test_workspace_browser import (  # noqa: F401
    PASSWORD,
    WORKSPACE_URL,
    axe_serious,
    browser,
    page,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def staff_member(transactional_db):
    team = Group.objects.create(name="Leukemia A")
    user = User.objects.create_user("stan", password=PASSWORD, first_name="Stan", last_name="Staff", is_staff=True)
    user.groups.add(team)
    return user


def authenticator_code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code the phone shows (``steps_ahead`` 1: the next one, accepted within the device's tolerance;
    a code cannot be used twice)."""
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=steps_ahead):06d}"


def password_step(tab, username: str) -> None:
    tab.goto("/")
    tab.get_by_label("Username").fill(username)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()


def test_staff_enrol_an_authenticator_and_sign_in_with_it(page, staff_member):  # noqa: F811
    password_step(page, "stan")
    page.wait_for_url(re.compile(r"/accounts/two-factor/\?next="))
    assert page.get_by_role("heading", name="Set up two-factor sign-in").is_visible()
    qr = page.get_by_role("img", name=re.compile("QR code"))
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0"), "the QR code renders (data: SVG)"
    assert axe_serious(page) == []

    device = TOTPDevice.objects.get(user=staff_member, confirmed=False)
    shown_key = page.locator("#otp-secret").inner_text().replace(" ", "")
    assert len(shown_key) == 32, "the key to type, for an app that cannot scan"
    page.get_by_label("Code").fill(authenticator_code(device))
    page.get_by_role("button", name="Confirm").click()

    page.get_by_role("heading", name="Two-factor sign-in is set up").wait_for()
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-7]{8}", code) for code in codes)
    assert "shown only now" in page.content()
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url(WORKSPACE_URL)
    assert page.locator("#result-panel").is_visible(), "the workspace, past the second factor"

    # Signing in again asks for a code: the authenticator's next one.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))
    password_step(page, "stan")
    page.wait_for_url(re.compile(r"/accounts/two-factor/verify/"))
    assert axe_serious(page) == []
    page.get_by_label("Code").fill("000000" if authenticator_code(device, steps_ahead=1) != "000000" else "111111")
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("That code is not right").wait_for()
    device.refresh_from_db()
    device.throttle_reset()  # the wrong code paused the device for a second; no sleeping in tests
    page.get_by_label("Code").fill(authenticator_code(device, steps_ahead=1))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(WORKSPACE_URL)

    # And once with a recovery code, as after losing the phone.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))
    password_step(page, "stan")
    page.wait_for_url(re.compile(r"/accounts/two-factor/verify/"))
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(WORKSPACE_URL)
    assert page.get_by_role("link", name="Admin").is_visible()
