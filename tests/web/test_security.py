"""Security of the web app: browser headers (CSP with no other host, no framing), CSRF on every POST,
sign-in throttling, password rules, no patient data in logs or URLs."""

from __future__ import annotations

import gzip
import logging
import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from aml_salvage.models import Consult
from tests.web.conftest import PASSWORD, post_data, saved_consult

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")


# --- headers -------------------------------------------------------------------------------------------------

def csp_directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in (p.strip() for p in header.split(";")) if part}


@pytest.mark.parametrize("url", ["/", "/consults/", "/regimens/"])
def test_pages_carry_a_csp_that_allows_nothing_from_other_hosts(client_for, author, url):
    response = client_for(author).get(url)
    directives = csp_directives(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["frame-ancestors"] == ["'none'"] and directives["object-src"] == ["'none'"]
    assert directives["form-action"] == ["'self'"] and directives["base-uri"] == ["'self'"]
    sources = [source for values in directives.values() for source in values]
    assert not [s for s in sources if "://" in s or "*" in s or s in ("http:", "https:", "'unsafe-inline'",
                                                                       "'unsafe-eval'")]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_the_htmx_fragment_and_the_sign_in_page_carry_the_csp_too(client_for, client, author):
    assert "Content-Security-Policy" in client.get(LOGIN)
    fragment = client_for(author).post("/", post_data(), HTTP_HX_REQUEST="true")
    assert "default-src 'self'" in fragment["Content-Security-Policy"]


def test_pages_have_no_inline_script_or_style(client_for, author, consult):
    client = client_for(author)
    for url in ("/", reverse("consult_detail", args=[consult.pk]), "/consults/", "/regimens/", LOGIN):
        body = client.get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), url
        assert "<style" not in body and " style=" not in body, url
        assert "hx-on" not in body, url  # htmx would need 'unsafe-eval' for inline handlers


# --- compression (BREACH) ---------------------------------------------------------------------------------------

def gzip_filename_length(body: bytes) -> int:
    """The length of the gzip header's file name: Django's random padding ("Heal The Breach")."""
    assert body[:2] == b"\x1f\x8b" and body[3] & gzip.FNAME
    return body.index(b"\x00", 10) - 10


def test_pages_are_compressed_with_a_random_length_padding_against_breach(client_for, author):
    # A page holds secrets (the CSRF token, patient identifiers) beside text an attacker can make it echo;
    # BREACH guesses such secrets from compressed sizes. Each response's size varies at random.
    client = client_for(author)
    responses = [client.get("/consults/", HTTP_ACCEPT_ENCODING="gzip, deflate, br") for _ in range(8)]
    for response in responses:
        assert response["Content-Encoding"] == "gzip" and "Accept-Encoding" in response["Vary"]
        assert "<html" in gzip.decompress(response.content).decode()
    assert len({gzip_filename_length(r.content) for r in responses}) > 1


def test_a_browser_that_does_not_accept_gzip_gets_the_page_uncompressed(client_for, author):
    response = client_for(author).get("/consults/", HTTP_ACCEPT_ENCODING="identity")
    assert "Content-Encoding" not in response and "<html" in response.content.decode()


# --- CSRF ----------------------------------------------------------------------------------------------------

@pytest.fixture
def strict_client():
    return Client(enforce_csrf_checks=True)


def test_sign_in_without_the_csrf_token_is_refused(strict_client, author):
    response = strict_client.post(LOGIN, {"username": "alice", "password": PASSWORD})
    assert response.status_code == 403


@pytest.mark.parametrize("url", ["/", reverse("consult_create"), reverse("logout"), reverse("consult_list")])
def test_every_post_without_the_csrf_token_is_refused(strict_client, author, url):
    strict_client.force_login(author)
    before = Consult.objects.count()
    assert strict_client.post(url, post_data(chosen_option_id="flag-ida")).status_code == 403
    assert strict_client.post(url, post_data(), HTTP_HX_REQUEST="true").status_code == 403
    assert Consult.objects.count() == before
    assert strict_client.get("/").status_code == 200, "still signed in: the logout was refused too"


def test_revise_post_without_the_csrf_token_is_refused(strict_client, author, consult):
    strict_client.force_login(author)
    assert strict_client.post(reverse("consult_revise", args=[consult.pk]), post_data()).status_code == 403


def test_htmx_posts_with_the_token_from_the_page_are_accepted(strict_client, author):
    strict_client.force_login(author)
    page = strict_client.get("/").content.decode()
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    response = strict_client.post("/", post_data(), HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200 and 'id="result-panel"' in response.content.decode()


# --- sign-in throttling (django-axes) ------------------------------------------------------------------------

def fail(client, username="alice", **extra):
    return client.post(LOGIN, {"username": username, "password": "wrong-password-123"}, **extra)


def paused_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return f"Sign-in paused for {minutes} minutes after {settings.AXES_FAILURE_LIMIT} failed attempts"


def sign_in(username="alice", address="127.0.0.1", **extra):
    return Client(REMOTE_ADDR=address).post(LOGIN, {"username": username, "password": PASSWORD}, **extra)


def test_five_failed_sign_ins_pause_that_username(client, author, teammate):
    assert settings.AXES_FAILURE_LIMIT == 5 and settings.AXES_COOLOFF_TIME == timedelta(minutes=15)
    for _ in range(4):
        assert fail(client).status_code == 200  # the form again, with its error
    locked = fail(client)
    assert locked.status_code == 429
    text = " ".join(locked.content.decode().split())
    assert paused_message() == "Sign-in paused for 15 minutes after 5 failed attempts"
    assert paused_message() in text and "ask a colleague with staff rights" in text
    assert client.post(LOGIN, {"username": "alice", "password": PASSWORD}).status_code == 429, \
        "even the right password is refused while paused"
    assert client.get("/").status_code == 302
    assert sign_in("alice", "10.1.2.3").status_code == 429, "the username is paused wherever it signs in from"
    assert sign_in("bob", "10.1.2.3").status_code == 302, "a colleague elsewhere is not affected"


def test_password_spraying_across_usernames_from_one_address_is_paused(author, teammate):
    sprayer = Client(REMOTE_ADDR="198.51.100.9")
    for number in range(4):
        assert fail(sprayer, f"guess{number}").status_code == 200
    assert fail(sprayer, "guess4").status_code == 429
    assert sign_in("alice", "198.51.100.9").status_code == 429, "that address is paused for every username"
    assert sign_in("alice", "198.51.100.10").status_code == 302, "the usernames themselves are not"


def test_guessing_one_username_from_many_addresses_is_paused(author):
    for number in range(4):
        assert fail(Client(REMOTE_ADDR=f"203.0.113.{number}")).status_code == 200
    assert fail(Client(REMOTE_ADDR="203.0.113.4")).status_code == 429
    assert sign_in("alice", "203.0.113.99").status_code == 429


def test_a_successful_sign_in_does_not_erase_the_failures_before_it(client, author):
    for _ in range(4):
        fail(client)
    assert client.post(LOGIN, {"username": "alice", "password": PASSWORD}).status_code == 302
    assert AccessAttempt.objects.get(username="alice").failures_since_start == 4, "kept after the success"
    client.post(reverse("logout"))
    assert fail(client).status_code == 429, "the fifth failure within the cool-off pauses"


def test_the_pause_ends_after_the_cool_off(client, author):
    for _ in range(5):
        fail(client)
    assert client.post(LOGIN, {"username": "alice", "password": PASSWORD}).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert client.post(LOGIN, {"username": "alice", "password": PASSWORD}).status_code == 302


def test_the_admin_sign_in_is_throttled_too(client, staff):
    url = reverse("admin:login")
    for _ in range(5):
        response = client.post(url, {"username": "stan", "password": "wrong-password-123"})
    assert response.status_code == 429


def test_a_spoofed_forwarded_for_changes_nothing_without_a_trusted_proxy(author):
    assert settings.AML_SALVAGE_TRUSTED_PROXY_COUNT == 0  # the default
    sprayer = Client(REMOTE_ADDR="198.51.100.9")
    for number in range(4):
        assert fail(sprayer, f"guess{number}", HTTP_X_FORWARDED_FOR=f"192.0.2.{number}").status_code == 200
    assert fail(sprayer, "guess4", HTTP_X_FORWARDED_FOR="192.0.2.200").status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.9"}


def test_behind_one_trusted_proxy_the_address_it_saw_is_throttled(settings, author, teammate):
    settings.AML_SALVAGE_TRUSTED_PROXY_COUNT = 1
    nginx = {"REMOTE_ADDR": "127.0.0.1"}  # the proxy, on the same machine (DJANGO_TRUSTED_PROXIES' default)
    for number in range(5):  # the client prepends forged entries; nginx appends what it saw, right-most
        response = fail(Client(**nginx), f"guess{number}", HTTP_X_FORWARDED_FOR=f"6.6.6.{number}, 192.0.2.7")
    assert response.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"192.0.2.7"}
    via_proxy = {**nginx, "HTTP_X_FORWARDED_FOR": "192.0.2.8"}
    assert sign_in("alice", **via_proxy).status_code == 302, "another client behind the same proxy signs in"
    assert sign_in("bob", **{**nginx, "HTTP_X_FORWARDED_FOR": "192.0.2.7"}).status_code == 429


def test_reached_directly_the_app_ignores_forwarded_for_even_with_a_proxy_count(settings, author):
    # gunicorn reachable without going through the proxy: the request does not come from a trusted address.
    settings.AML_SALVAGE_TRUSTED_PROXY_COUNT = 1
    direct = Client(REMOTE_ADDR="198.51.100.77")
    for number in range(5):
        response = fail(direct, f"guess{number}", HTTP_X_FORWARDED_FOR=f"192.0.2.{number}")
    assert response.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.77"}


@pytest.mark.parametrize(("count", "trusted", "forwarded", "expected"), [
    (0, ["127.0.0.1/32"], "6.6.6.6, 192.0.2.7", "127.0.0.1"),  # no proxy: the header is the client's words
    (1, ["127.0.0.1/32"], "6.6.6.6, 192.0.2.7", "192.0.2.7"),  # what nginx saw; the left part is ignored
    (2, ["127.0.0.1/32"], "6.6.6.6, 192.0.2.7", "6.6.6.6"),  # load balancer, then nginx
    (3, ["127.0.0.1/32"], "6.6.6.6, 192.0.2.7", "127.0.0.1"),  # fewer entries than proxies: a bypassed proxy
    (1, ["10.0.0.0/8"], "192.0.2.7", "127.0.0.1"),  # not from a trusted proxy address
    (1, ["127.0.0.1/32"], "192.0.2.7, not-an-address", "127.0.0.1"),
])
def test_client_address(settings, count, trusted, forwarded, expected):
    import ipaddress

    from aml_salvage.audit import client_ip

    class Request:
        META = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": forwarded}

    settings.AML_SALVAGE_TRUSTED_PROXY_COUNT = count
    settings.AML_SALVAGE_TRUSTED_PROXIES = [ipaddress.ip_network(n) for n in trusted]
    assert client_ip(Request) == expected


# --- passwords ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("password", ["short-pw-1", "123456789012345", "password1234"])
def test_weak_passwords_are_refused(author, password):
    with pytest.raises(ValidationError):
        validate_password(password, author)


def test_a_long_uncommon_password_is_accepted(author):
    validate_password("marrow-aspirate-Tuesday-48", author)


# --- no patient data in logs or URLs ----------------------------------------------------------------------------

def test_no_patient_identifier_or_workup_reaches_the_logs(client_for, author, outsider, consult, caplog):
    caplog.set_level(logging.DEBUG)
    connection.force_debug_cursor = True  # as with DEBUG on: SQL would be logged with its parameters
    try:
        client = client_for(author)
        client.post(reverse("consult_create"), post_data(chosen_option_id="flag-ida", patient_identifier="MRN-TEST-999",
                                                         notes="MRN-TEST-999 discussed"))
        client.post(reverse("consult_list"), {"q": "MRN-TEST-999"})
        client.get(reverse("consult_list"))
        # 4xx responses are logged by django.request: with the path only.
        client.post(reverse("consult_create"), post_data(patient_identifier="MRN-TEST-999", revision_of="x1"))
        client_for(outsider).get(reverse("consult_detail", args=[consult.pk]))
        Client(enforce_csrf_checks=True).post(LOGIN, {"username": "MRN-TEST-999", "password": "x"})
    finally:
        connection.force_debug_cursor = False
    assert Consult.objects.filter(patient_identifier="MRN-TEST-999").exists()
    logged = caplog.text
    assert "Bad Request" in logged and "Not Found" in logged and "Forbidden" in logged, "the 4xx were logged"
    assert "MRN-TEST-999" not in logged
    assert "age_years" not in logged and "workup" not in logged


def test_no_consult_data_in_urls(client_for, author):
    consult = saved_consult(author, patient_identifier="MRN-777")
    client = client_for(author)
    pages = [client.get(u).content.decode() for u in ("/consults/", reverse("consult_detail", args=[consult.pk]))]
    client.post(reverse("consult_list"), {"q": "MRN-777"})
    pages.append(client.get("/consults/").content.decode())
    for body in pages:
        for url in re.findall(r'(?:href|action|hx-post|hx-get)="([^"]*)"', body):
            assert "MRN" not in url and "?q=" not in url, url
