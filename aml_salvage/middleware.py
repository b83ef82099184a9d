"""Idle sign-out without a session write on every request.

``SESSION_SAVE_EVERY_REQUEST`` renews the idle timeout by writing the session row on every request — on
the live workspace that is a database write per keystroke pause, serialised on SQLite. This renews it
at most once per ``AML_SALVAGE_SESSION_RENEW_SECONDS`` instead: a signed-in clinician idle for
``SESSION_COOKIE_AGE`` is signed out, give or take that interval (one minute of thirty by default).
"""

from __future__ import annotations

import time

from django.conf import settings

ACTIVITY_KEY = "_aml_salvage_activity"


class SessionActivityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.renew_every = int(getattr(settings, "AML_SALVAGE_SESSION_RENEW_SECONDS", 60))

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            if now - int(request.session.get(ACTIVITY_KEY, 0)) >= self.renew_every:
                request.session[ACTIVITY_KEY] = now  # modified → saved with a fresh expiry
        return self.get_response(request)
