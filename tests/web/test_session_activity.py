"""Idle sign-out: the session's expiry is renewed by activity, at most once per renewal interval."""

import time

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from aml_salvage.middleware import ACTIVITY_KEY


def _expiry(client):
    return Session.objects.get(session_key=client.session.session_key).expire_date


@pytest.mark.django_db
def test_activity_renews_the_expiry_at_most_once_per_interval(client_for, author, settings, monkeypatch):
    client = client_for(author)
    clock = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    client.get(reverse("consult_list"))
    first = _expiry(client)
    stamp = client.session[ACTIVITY_KEY]
    clock[0] += 10  # within the interval: no write
    client.get(reverse("consult_list"))
    assert client.session[ACTIVITY_KEY] == stamp and _expiry(client) == first
    clock[0] += settings.AML_SALVAGE_SESSION_RENEW_SECONDS  # past it: renewed
    client.get(reverse("consult_list"))
    assert client.session[ACTIVITY_KEY] == int(clock[0])


@pytest.mark.django_db
def test_an_idle_session_expires(client_for, author):
    client = client_for(author)
    assert client.get(reverse("consult_list")).status_code == 200
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date="2000-01-01T00:00:00Z")
    response = client.get(reverse("consult_list"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_anonymous_requests_create_no_session(client, db):
    client.get(reverse("login"))
    assert Session.objects.count() == 0
