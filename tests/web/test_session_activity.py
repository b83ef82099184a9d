"""Idle sign-out: a session ends after 30 minutes without activity, not 30 minutes after sign-in; activity
renews its expiry at most once per renewal interval (aml_salvage/middleware.py), not on every request."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    assert client.post(reverse("login"), {"username": user.username, "password": PASSWORD}).status_code == 302
    return client


def opens_the_workspace(client: Client) -> bool:
    response = client.get(reverse("workspace"))
    assert response.status_code in (200, 302)
    return response.status_code == 200


def expiry(client: Client):
    return Session.objects.get(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value).expire_date


def test_an_active_clinician_stays_signed_in_past_30_minutes(author, clock):
    client = signed_in(author)
    for _ in range(4):  # an hour and a half of work, a request every 25 minutes
        clock(minutes=25)
        assert opens_the_workspace(client)


def test_30_minutes_idle_signs_the_clinician_out(author, clock):
    client = signed_in(author)
    assert opens_the_workspace(client)
    clock(minutes=30, seconds=1)
    assert not opens_the_workspace(client)


def test_activity_renews_the_expiry_at_most_once_per_interval(author, clock):
    client = signed_in(author)
    assert opens_the_workspace(client)
    renewed = expiry(client)
    clock(seconds=settings.AML_SALVAGE_SESSION_RENEW_SECONDS - 10)  # within the interval: no session write
    assert opens_the_workspace(client)
    assert expiry(client) == renewed
    clock(seconds=10)  # the interval has passed: renewed from now
    assert opens_the_workspace(client)
    assert expiry(client) == renewed + timedelta(seconds=settings.AML_SALVAGE_SESSION_RENEW_SECONDS)


def test_the_session_cookie_is_http_only_and_ends_with_the_browser(author):
    cookie = signed_in(author).cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True  # page scripts cannot read it
    assert not cookie["expires"] and not cookie["max-age"]  # no date: the browser drops it when it closes


def test_anonymous_requests_create_no_session(client):
    client.get(reverse("login"))
    assert not Session.objects.exists()
