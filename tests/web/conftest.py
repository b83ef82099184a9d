"""Personas (after healthchecks' hc/test.py): two clinicians of one care team, an outsider of another
team, a clinician without a team, a staff member, and the anonymous visitor. Plus POST data builders
that go through the form's own inverse mapping, so a test speaks in workups, not in field names."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from aml_salvage import services
from aml_salvage.consults import consult_create
from aml_salvage.forms import form_data_from_workup
from tests.factories import YOUNG_FIT, build

PASSWORD = "not-a-real-password-7f3a"  # test database only; MD5 hasher in settings/test.py


def _user(username: str, *groups: Group, **extra) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, first_name=username.title(), **extra)
    for group in groups:
        user.groups.add(group)
    return user


@pytest.fixture
def team(db):
    return Group.objects.create(name="Leukemia A")


@pytest.fixture
def other_team(db):
    return Group.objects.create(name="Leukemia B")


@pytest.fixture
def author(team):
    return _user("alice", team)


@pytest.fixture
def teammate(team):
    return _user("bob", team)


@pytest.fixture
def outsider(other_team):
    return _user("olga", other_team)


@pytest.fixture
def loner(db):
    return _user("lonny")


@pytest.fixture
def staff(team):
    return _user("stan", team, is_staff=True)


def mfa_device(user) -> TOTPDevice:
    """The user's confirmed authenticator (created if missing), as after enrolment."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def otp_verified(client: Client, user) -> Client:
    """Mark the client's session as having passed the second factor with the user's authenticator: what
    django-otp's ``otp_login`` stores in the session (the device's persistent id)."""
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = mfa_device(user).persistent_id
    session.save()
    return client


def second_factor(client: Client, user) -> Client:
    """Pass the code page as a person does, with a fresh recovery code (authenticator codes cannot be reused
    within their 30 seconds, and a test may sign in several times)."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name="recovery codes")
    code = StaticToken.random_token()
    device.token_set.create(token=code)
    response = client.post(reverse("mfa_verify"), {"code": code})
    assert response.status_code == 302 and not response["Location"].startswith(reverse("mfa_verify")), response
    return client


@pytest.fixture
def client_for(client):
    """client_for(user) → the test client signed in as that user (staff also past the second factor)."""

    def sign_in(user):
        if user.is_staff:
            mfa_device(user)
        client.force_login(user)
        if user.is_staff:
            otp_verified(client, user)
        return client

    return sign_in


def post_data(workup: dict | None = None, **save) -> dict:
    """Form POST data for a workup (default DT20 Patient 1 archetype) plus save fields."""
    data = form_data_from_workup(workup if workup is not None else YOUNG_FIT)
    data.update({k: v for k, v in save.items() if v is not None})
    return data


def saved_consult(user, workup: dict | None = None, **kwargs):
    """A consult saved through the service, as the save view does."""
    parsed = services.workup_parse(data=workup if workup is not None else YOUNG_FIT)
    result = services.consult_evaluate(workup=parsed)
    preferred = next(o for o in result.options if o.tier == "preferred")
    defaults = {"chosen_option_id": preferred.id, "override_reason": "", "notes": "", "patient_identifier": "AB-1"}
    defaults.update(kwargs)
    return consult_create(author=user, workup=parsed, result=result, **defaults)


@pytest.fixture
def consult(author):
    return saved_consult(author, patient_identifier="MRN-1001")


@pytest.fixture
def clock(monkeypatch):
    """Django's clock, moved by hand: the session's expiry, its renewal, the sign-in stamp and the absolute
    lifetime all read it. clock(minutes=31) moves it on."""
    now = [timezone.now()]
    monkeypatch.setattr(timezone, "now", lambda: now[0])

    def advance(**delta):
        now[0] += timedelta(**delta)

    return advance


__all__ = ["PASSWORD", "build", "mfa_device", "otp_verified", "post_data", "saved_consult", "second_factor"]
