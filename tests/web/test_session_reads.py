"""The per-request reads of the session and the user (aml_salvage/sessions.py, aml_salvage/auth_backends.py)
and the level-1 gzip (aml_salvage/middleware.py): faster than Django's, and the same behaviour — a session
is a database row, so an expiry, a sign-out or a password change holds at once, on every app server."""

from __future__ import annotations

import gzip
from datetime import timedelta

import pytest
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.contrib.sessions.models import Session
from django.http import HttpResponse, StreamingHttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from aml_salvage.auth_backends import ModelBackend
from aml_salvage.middleware import GZipMiddleware, gzip_compress
from aml_salvage.sessions import SessionStore

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    assert client.post(reverse("login"), {"username": user.username, "password": PASSWORD}).status_code == 302
    assert client.get(reverse("workspace")).status_code == 200
    return client


def saved_session(**data) -> SessionStore:
    store = SessionStore()
    store.update(data)
    store.save()
    return store


# --- sessions ---------------------------------------------------------------------------------------------

def test_a_live_session_loads_as_djangos_store_loads_it():
    key = saved_session(clinician="alice", n=3).session_key
    assert SessionStore(key).load() == DjangoSessionStore(key).load() == {"clinician": "alice", "n": 3}
    assert SessionStore(key).session_key == key


@pytest.mark.parametrize("key", [None, "no-such-session-key-0123456789", "short"])
def test_no_session_loads_nothing(key):
    store = SessionStore(key)
    assert store.load() == {} and store.session_key is None


def test_an_expired_session_does_not_load_and_its_key_is_forgotten():
    key = saved_session(clinician="alice").session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    store = SessionStore(key)
    assert store.load() == {} and store.session_key is None
    assert DjangoSessionStore(key).load() == {}  # as Django's own store


def test_a_session_ended_elsewhere_signs_the_clinician_out_at_once(author):
    client = signed_in(author)
    Session.objects.all().delete()  # sign-out on another app server, or an administrator ending sessions
    response = client.get(reverse("workspace"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_expired_session_signs_the_clinician_out(author):
    client = signed_in(author)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get(reverse("workspace")).status_code == 302


# --- the user -----------------------------------------------------------------------------------------------

def test_the_user_is_read_with_every_field_as_djangos_backend_reads_it(author):
    ours, django = ModelBackend().get_user(author.pk), DjangoModelBackend().get_user(author.pk)
    fields = [f.attname for f in type(author)._meta.concrete_fields]
    assert [getattr(ours, f) for f in fields] == [getattr(django, f) for f in fields]
    assert ours.last_login is None or ours.last_login.tzinfo is not None
    assert ours.date_joined.tzinfo is not None and ours.is_active is True
    assert list(ours.groups.values_list("name", flat=True)) == ["Leukemia A"]


def test_an_unknown_or_inactive_user_is_not_returned(author):
    assert ModelBackend().get_user(author.pk + 1000) is None
    author.is_active = False
    author.save()
    assert ModelBackend().get_user(author.pk) is None


def test_a_deactivated_clinician_is_signed_out_at_once(author):
    client = signed_in(author)
    author.is_active = False
    author.save()
    assert client.get(reverse("workspace")).status_code == 302


def test_a_password_change_signs_out_the_other_sessions(author):
    client = signed_in(author)
    author.set_password("a-new-long-password-for-alice")
    author.save()
    assert client.get(reverse("workspace")).status_code == 302  # Django's session hash check, unchanged


def test_sign_in_still_checks_the_password(author):
    assert Client().post(reverse("login"), {"username": "alice", "password": "wrong-password-123"}).status_code == 200


# --- gzip at level 1 ----------------------------------------------------------------------------------------

PAGE = ("<li class='option'>Venetoclax 400 mg daily, days 1–28 (BSA 1.83 m²)</li>\n" * 400).encode()


def compressed(content=PAGE, accept="gzip, deflate", response=None):
    request = RequestFactory().get("/", HTTP_ACCEPT_ENCODING=accept)
    return GZipMiddleware(lambda r: response or HttpResponse(content))(request)


def test_a_page_is_gzipped_at_level_1_with_djangos_breach_padding():
    response = compressed()
    body = response.content
    assert response["Content-Encoding"] == "gzip" and "Accept-Encoding" in response["Vary"]
    assert int(response["Content-Length"]) == len(body) and gzip.decompress(body) == PAGE
    assert body[3] & gzip.FNAME  # a random-length file name in the header: "Heal The Breach"
    name_end = body.index(b"\x00", 10)
    assert body[10:name_end] == b"a" * (name_end - 10)
    assert body[name_end + 1:] == gzip.compress(PAGE, compresslevel=1, mtime=0)[10:]  # level 1, not 6
    assert len(body) < len(PAGE) / 4


def test_what_is_not_compressed_is_left_as_django_leaves_it():
    assert "Content-Encoding" not in compressed(accept="identity")
    assert compressed(accept="identity").content == PAGE
    small = compressed(content=b"<p>ok</p>")
    assert small.content == b"<p>ok</p>" and "Content-Encoding" not in small


def test_a_strong_etag_becomes_weak_and_streams_are_djangos():
    response = HttpResponse(PAGE)
    response["ETag"] = '"abc"'
    assert compressed(response=response)["ETag"] == 'W/"abc"'
    stream = compressed(response=StreamingHttpResponse(iter([PAGE, PAGE])))
    assert stream["Content-Encoding"] == "gzip" and gzip.decompress(b"".join(stream.streaming_content)) == PAGE * 2


def test_gzip_compress_without_padding_is_plain_gzip():
    assert gzip_compress(PAGE, level=1, max_random_bytes=0) == gzip.compress(PAGE, compresslevel=1, mtime=0)
