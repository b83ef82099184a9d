"""Signing in as a hospital expects: a second factor (TOTP, recovery codes) always for staff and by setting
for clinicians; clinicians change their own password; staff hand over one-time reset links; a session ends
12 hours after sign-in however active; deactivating an account ends its sessions for good."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from aml_salvage import accounts
from aml_salvage.models import AuditEvent

from .conftest import PASSWORD, mfa_device

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-new-long-password-for-the-ward"


def code_for(device: TOTPDevice) -> str:
    """What the authenticator app shows now."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def password_step(user, password: str = PASSWORD) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": password})
    assert response.status_code == 302, "the password was accepted"
    return client


def lands_on(client: Client, url: str) -> str:
    response = client.get(url)
    return response["Location"] if response.status_code == 302 else str(response.status_code)


def user_sessions(user) -> int:
    return sum(1 for s in Session.objects.all() if s.get_decoded().get(SESSION_KEY) == str(user.pk))


def actions(user=None, **filters) -> list[str]:
    events = AuditEvent.objects.filter(**filters).order_by("id")
    if user is not None:
        events = events.filter(user=user)
    return list(events.values_list("action", flat=True))


# --- the second factor ------------------------------------------------------------------------------------

def test_staff_without_an_authenticator_are_sent_to_enrol_before_anything_else(staff):
    client = password_step(staff)
    for url in (reverse("workspace"), reverse("consult_list"), reverse("admin:index"), reverse("account")):
        assert lands_on(client, url).startswith(reverse("mfa_setup")), url


def test_staff_enrol_with_the_qr_code_and_get_recovery_codes_shown_once(staff):
    client = password_step(staff)
    page = client.get(reverse("mfa_setup"))
    body = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"].startswith("max-age=0")
    assert 'src="data:image/svg+xml;base64,' in body, "the QR code is an image made here, no network"
    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    assert accounts.mfa_secret_text(device=device) in body, "the key can be typed instead"

    wrong = client.post(reverse("mfa_setup"), {"code": "000000" if code_for(device) != "000000" else "111111"})
    assert accounts.MSG_CODE_WRONG in wrong.content.decode()
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed
    device.throttle_reset()  # the wrong code paused the device for a second

    shown = client.post(reverse("mfa_setup"), {"code": code_for(device), "next": reverse("consult_list")})
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", shown.content.decode())
    assert shown.status_code == 200 and len(codes) == settings.AML_SALVAGE_RECOVERY_CODES
    assert sorted(codes) == sorted(StaticToken.objects.filter(device__user=staff).values_list("token", flat=True))
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.get(reverse("workspace")).status_code == 200, "this session passed the second factor"
    assert actions(staff) == ["signed_in", "mfa_failed", "mfa_enrolled"]


def test_staff_with_an_authenticator_give_its_code_at_each_sign_in(staff):
    device = mfa_device(staff)
    client = password_step(staff)
    assert lands_on(client, reverse("consult_list")) == f"{reverse('mfa_verify')}?next=%2Fconsults%2F"
    assert lands_on(client, reverse("mfa_setup")).startswith(reverse("mfa_verify")), \
        "no new authenticator without the current one"
    response = client.post(reverse("mfa_verify"), {"code": code_for(device), "next": reverse("consult_list")})
    assert response.status_code == 302 and response["Location"] == reverse("consult_list")
    assert client.get(reverse("consult_list")).status_code == 200
    assert actions(staff) == ["signed_in", "mfa_verified", "listed"]


def test_a_live_update_before_the_second_factor_loads_the_code_page(staff):
    mfa_device(staff)
    response = password_step(staff).post(reverse("workspace"), {}, HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Redirect"].startswith(reverse("mfa_verify"))


def test_a_wrong_code_is_refused_and_recorded(staff):
    device = mfa_device(staff)
    client = password_step(staff)
    wrong = "123456" if code_for(device) != "123456" else "654321"
    response = client.post(reverse("mfa_verify"), {"code": wrong})
    assert response.status_code == 200 and accounts.MSG_CODE_WRONG in response.content.decode()
    assert lands_on(client, reverse("workspace")).startswith(reverse("mfa_verify"))
    assert AuditEvent.objects.filter(user=staff, action="mfa_failed", detail="authenticator").exists()


def test_repeated_wrong_codes_pause_the_authenticator_even_for_the_right_code(staff):
    device = mfa_device(staff)
    device.throttling_failure_count, device.throttling_failure_timestamp = 10, timezone.now()
    device.save()
    response = password_step(staff).post(reverse("mfa_verify"), {"code": code_for(device)})
    assert "Too many wrong codes: wait" in response.content.decode()


def test_a_recovery_code_works_once(staff):
    mfa_device(staff)
    [code, *_] = accounts.recovery_codes_issue(user=staff)
    first = password_step(staff).post(reverse("mfa_verify"), {"code": code.upper()})
    assert first.status_code == 302, "recovery codes are not case-sensitive"
    again = password_step(staff).post(reverse("mfa_verify"), {"code": code})
    assert again.status_code == 200 and accounts.MSG_CODE_WRONG_RECOVERY in again.content.decode()
    assert AuditEvent.objects.filter(user=staff, action="mfa_verified", detail="recovery codes").count() == 1


def test_clinicians_sign_in_with_a_password_only_unless_the_setting_asks_for_more(author, settings):
    assert password_step(author).get(reverse("workspace")).status_code == 200
    settings.AML_SALVAGE_MFA_REQUIRED_FOR_CLINICIANS = True
    assert lands_on(password_step(author), reverse("workspace")).startswith(reverse("mfa_setup"))


def test_a_clinician_who_chose_a_second_factor_is_asked_for_it(author):
    mfa_device(author)
    assert lands_on(password_step(author), reverse("workspace")).startswith(reverse("mfa_verify"))


def test_the_production_settings_ask_clinicians_for_a_second_factor_by_default():
    source = (settings.BASE_DIR / "aml_salvage" / "settings" / "production.py").read_text()
    assert 'env_bool("AML_SALVAGE_MFA_REQUIRED_FOR_CLINICIANS", True)' in source


# --- passwords ----------------------------------------------------------------------------------------------

def test_a_clinician_changes_their_own_password_and_other_sessions_end(author):
    changing, elsewhere = password_step(author), password_step(author)
    refused = changing.post(reverse("password_change"), {
        "old_password": "not-my-password", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert refused.status_code == 200 and 'id="err-old_password"' in refused.content.decode()
    assert "Your old password was entered incorrectly" in refused.content.decode()
    response = changing.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("password_change_done")
    assert changing.get(reverse("workspace")).status_code == 200
    assert lands_on(elsewhere, reverse("workspace")).startswith(reverse("login"))
    password_step(author, NEW_PASSWORD)
    assert AuditEvent.objects.filter(user=author, action="password_changed", detail="by the user").count() == 1


@pytest.fixture
def staff_client(client_for, staff):
    return client_for(staff)


def issue_link(staff_client: Client, username: str):
    return staff_client.post(reverse("reset_link_issue"), {"username": username})


def test_staff_issue_a_one_time_reset_link_that_a_clinician_uses_once(staff_client, staff, author):
    page = issue_link(staff_client, "alice")
    link = re.search(r'<code id="reset-link">([^<]+)</code>', page.content.decode()).group(1)
    assert page.status_code == 200 and link.startswith("http://testserver/accounts/reset/")
    path = urlparse(link).path

    clinician = Client()
    form_page = clinician.get(path, follow=True)  # Django moves the token out of the URL into the session
    assert form_page.status_code == 200 and 'name="new_password1"' in form_page.content.decode()
    done = clinician.post(form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD,
                                                          "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == reverse("password_reset_complete")
    password_step(author, NEW_PASSWORD)

    used = Client().get(path, follow=True)
    assert "This link does not work" in used.content.decode()
    assert [(e.action, e.user.username, e.detail) for e in AuditEvent.objects.filter(
        action__in=["reset_link_issued", "password_changed"]).order_by("id")] == [
        ("reset_link_issued", "stan", "for alice"), ("password_changed", "alice", "by a reset link")]


@pytest.mark.parametrize(("username", "message"), [
    ("nobody", accounts.MSG_RESET_UNKNOWN), ("stan", accounts.MSG_RESET_SELF), ("ada", accounts.MSG_RESET_STAFF),
])
def test_a_reset_link_is_refused_naming_why(staff_client, username, message, team):
    from django.contrib.auth.models import User

    User.objects.create_user("ada", password=PASSWORD, is_staff=True)
    page = issue_link(staff_client, username)
    assert page.status_code == 200 and 'id="reset-link"' not in page.content.decode()
    assert message in page.content.decode() and 'id="err-username"' in page.content.decode()
    assert not AuditEvent.objects.filter(action="reset_link_issued").exists()


def test_clinicians_cannot_issue_reset_links(client_for, author, teammate):
    assert client_for(author).post(reverse("reset_link_issue"), {"username": "bob"}).status_code == 403


# --- session lifetime ----------------------------------------------------------------------------------------

def test_a_session_active_throughout_ends_12_hours_after_sign_in(author, clock):
    client = password_step(author)
    for _ in range(28):  # 11 h 40 min of work, a request every 25 minutes: never idle long enough
        clock(minutes=25)
        assert client.get(reverse("workspace")).status_code == 200
    clock(minutes=20)  # 12 hours after signing in
    ended = client.get(reverse("workspace"))
    assert ended.status_code == 302 and ended["Location"].startswith(reverse("login"))
    login_page = client.get(ended["Location"]).content.decode()
    assert "a session lasts at most 12 hours after signing in" in login_page
    assert user_sessions(author) == 0
    event = AuditEvent.objects.get(action="signed_out")
    assert event.user == author and event.detail == "session lifetime reached (12 hours after sign-in)"


def test_a_live_update_after_the_lifetime_says_why_in_the_result_panel(author, clock):
    client = password_step(author)
    for _ in range(28):  # 11 h 40 min, active throughout
        clock(minutes=25)
        assert client.get(reverse("workspace")).status_code == 200
    clock(minutes=25)
    response = client.post(reverse("workspace"), {}, HTTP_HX_REQUEST="true")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    panel = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert 'id="result-panel"' in panel and "<html" not in panel
    assert "12 hours after signing in (the longest a session lasts)" in panel


def test_the_lifetime_is_a_setting(author, clock, settings):
    settings.AML_SALVAGE_SESSION_MAX_AGE_SECONDS = 3600
    client = password_step(author)
    for minutes in (20, 20, 19):  # active, never idle for 30 minutes
        clock(minutes=minutes)
        assert client.get(reverse("workspace")).status_code == 200
    clock(minutes=1)
    assert client.get(reverse("workspace")).status_code == 302


# --- deactivation ---------------------------------------------------------------------------------------------

def test_deactivating_an_account_ends_its_sessions_and_reactivating_does_not_revive_them(author, teammate):
    first, second, colleague = password_step(author), password_step(author), password_step(teammate)
    assert user_sessions(author) == 2
    author.is_active = False
    author.save()
    assert user_sessions(author) == 0 and user_sessions(teammate) == 1, "only that account's sessions"
    author.is_active = True
    author.save()
    for client in (first, second):
        assert lands_on(client, reverse("workspace")).startswith(reverse("login"))
    assert colleague.get(reverse("workspace")).status_code == 200
    assert [(e.action, e.detail) for e in AuditEvent.objects.filter(
        action__in=["deactivated", "reactivated"]).order_by("id")] == [
        ("deactivated", "2 session(s) ended"), ("reactivated", "")]


def test_deactivating_in_the_admin_ends_the_sessions(client_for, author):
    from django.contrib.auth.models import User

    clinician = password_step(author)
    superuser = User.objects.create_superuser("root", password=PASSWORD)
    admin = client_for(superuser)
    page = admin.get(reverse("admin:auth_user_change", args=[author.pk]))
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update({"is_active": "", "groups": [g.pk for g in author.groups.all()], "user_permissions": [],
                 "last_login_0": "", "last_login_1": "", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"})
    data.pop("is_active")
    response = admin.post(reverse("admin:auth_user_change", args=[author.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert lands_on(clinician, reverse("workspace")).startswith(reverse("login"))
    assert AuditEvent.objects.filter(action="deactivated", user=author).exists()
