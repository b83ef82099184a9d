"""Idle sign-out without a session write on every request; the absolute session lifetime; the second factor.

Django's way to make SESSION_COOKIE_AGE an idle timeout is ``SESSION_SAVE_EVERY_REQUEST``: a write of the
session row on every request. On the live workspace that is a database write per pause in typing, and on
SQLite every write waits for the one write lock that saving a consult also needs. This middleware renews
the expiry at most once per ``AML_SALVAGE_SESSION_RENEW_SECONDS`` instead, by marking the session modified
so that Django's own SessionMiddleware saves it with a fresh expiry: a clinician idle for
``SESSION_COOKIE_AGE`` is signed out, give or take that interval (one minute of thirty by default).

Kept because it was measured to matter (production settings on a SQLite file, a signed-in GET of the
consult list through Django's handler, thousands of requests): with a session write on every request
each request took about a sixth longer than with this middleware, and about a third longer with four
worker processes writing at once; the middleware itself costs nothing measurable against no renewal.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from . import accounts
from .signals import SIGNOUT_REASON_ATTR

ACTIVITY_KEY = "_aml_salvage_activity"


class SessionActivityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.renew_every = int(settings.AML_SALVAGE_SESSION_RENEW_SECONDS)

    def __call__(self, request):
        if request.user.is_authenticated and accounts.session_past_lifetime(request=request):
            # However active, a session ends AML_SALVAGE_SESSION_MAX_AGE_SECONDS after sign-in: the request
            # goes on signed out, so LoginRequiredMiddleware sends it to the sign-in page.
            setattr(request, SIGNOUT_REASON_ATTR, accounts.lifetime_reason())
            logout(request)
            request.session[accounts.SESSION_ENDED_KEY] = "lifetime"
        if request.user.is_authenticated:
            # Django's clock (the one the session's expiry is checked against), in whole seconds.
            now = int(timezone.now().timestamp())
            if now - int(request.session.get(ACTIVITY_KEY, 0)) >= self.renew_every:
                request.session[ACTIVITY_KEY] = now  # modified → saved with a fresh expiry
        return self.get_response(request)


class NoStoreMiddleware:
    """``Cache-Control: no-store`` (Django's ``add_never_cache_headers``) on every response to a signed-in user.

    Pages, fragments, PDFs and exports for a signed-in user carry patient data, and ward workstations are
    shared: no copy may stay in the browser's disk cache or history snapshots. Applied to every signed-in
    response rather than view by view, so a new view cannot forget it. Static files are served before this
    (WhiteNoise) and stay cacheable; the sign-in page is no-store already (Django's LoginView).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        signed_in = request.user.is_authenticated  # before the view: a sign-out's response counts too
        response = self.get_response(request)
        if signed_in or request.user.is_authenticated:
            add_never_cache_headers(response)
        return response


def mfa_exempt(view):
    """Mark a view reachable before the second factor (the two-factor pages themselves, sign-out)."""
    view.mfa_exempt = True
    return view


class MfaRequiredMiddleware:
    """Until this session has passed the second factor, a user who needs one (accounts.mfa_required) reaches
    only the views marked ``mfa_exempt`` and those open without sign-in: everything else is redirected to
    the code page, or to enrolment if there is no authenticator yet. Default-deny, like
    LoginRequiredMiddleware before it (which must come first: it sends the anonymous to sign in)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        if getattr(view_func, "mfa_exempt", False) or not getattr(view_func, "login_required", True):
            return None
        if not accounts.mfa_required(user=user, session=request.session):
            return None
        step = "mfa_verify" if request.session.get(accounts.MFA_ENROLLED_KEY) else "mfa_setup"
        target = f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}"
        if getattr(request, "htmx", False):
            # A live update cannot show the code page in the result panel: load it as a page.
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)
