"""Sessions end when they should, on every app server: signing out, an administrator ending sessions, a
deactivated account, a password change and an expired session all take effect on the very next request.
Sessions are Django's database store and users are read by Django's ModelBackend (settings/base.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from .conftest import PASSWORD, mfa_device, second_factor

pytestmark = pytest.mark.django_db


def signed_in(user, password: str = PASSWORD) -> Client:
    """A browser signed in through the sign-in form, as a clinician does (staff then give a code too)."""
    client = Client()
    if user.is_staff:
        mfa_device(user)
    assert client.post(reverse("login"), {"username": user.username, "password": password}).status_code == 302
    if user.is_staff:
        second_factor(client, user)
    assert client.get(reverse("workspace")).status_code == 200
    return client


def same_session_elsewhere(client: Client) -> Client:
    """Another app server (or tab) presenting the same session cookie."""
    other = Client()
    other.cookies[settings.SESSION_COOKIE_NAME] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return other


def is_signed_out(client: Client) -> bool:
    response = client.get(reverse("workspace"))
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_signing_out_ends_the_session_everywhere(author):
    here = signed_in(author)
    elsewhere = same_session_elsewhere(here)
    assert elsewhere.get(reverse("workspace")).status_code == 200
    here.post(reverse("logout"))
    assert is_signed_out(elsewhere) and is_signed_out(here)
    assert not Session.objects.exists()


def test_a_session_ended_by_an_administrator_signs_the_clinician_out_at_once(author):
    client = signed_in(author)
    Session.objects.all().delete()  # e.g. `manage.py shell` after a lost badge
    assert is_signed_out(client)


def test_a_deactivated_clinician_is_signed_out_on_the_next_request(author):
    client = signed_in(author)
    author.is_active = False
    author.save()
    assert is_signed_out(client)
    assert Client().post(reverse("login"), {"username": "alice", "password": PASSWORD}).status_code == 200


def test_a_password_change_ends_the_other_sessions_but_not_the_one_that_made_it(staff):
    # The admin's password change form (staff accounts): Django keeps the changing session signed in.
    changing, other = signed_in(staff), signed_in(staff)
    new_password = "a-new-long-password-for-stan"
    response = changing.post(reverse("admin:password_change"), {
        "old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password})
    assert response.status_code == 302
    assert is_signed_out(other)
    assert changing.get(reverse("workspace")).status_code == 200
    signed_in(staff, new_password)


def test_a_password_changed_outside_the_app_ends_every_session(author):
    client = signed_in(author)
    author.set_password("a-new-long-password-for-alice")
    author.save()
    assert is_signed_out(client)


def test_an_expired_session_is_refused(author):
    client = signed_in(author)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert is_signed_out(client)


def test_a_wrong_password_does_not_sign_in(author):
    response = Client().post(reverse("login"), {"username": "alice", "password": "wrong-password-123"})
    assert response.status_code == 200 and not Session.objects.exists()


def test_a_session_signed_in_by_the_removed_custom_backend_asks_for_sign_in_again(author):
    # Sessions written before the upgrade name the removed aml_salvage.auth_backends.ModelBackend. Django
    # honours only backends still configured, so such a session is anonymous: the clinician signs in again.
    old = SessionStore()
    old.update({SESSION_KEY: str(author.pk), BACKEND_SESSION_KEY: "aml_salvage.auth_backends.ModelBackend",
                HASH_SESSION_KEY: author.get_session_auth_hash()})
    old.create()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = old.session_key
    assert is_signed_out(client)
    assert client.post(reverse("login"), {"username": "alice", "password": PASSWORD}).status_code == 302
    assert client.get(reverse("workspace")).status_code == 200
