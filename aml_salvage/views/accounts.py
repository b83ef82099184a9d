"""Sign-in, the second factor (enrolment with a QR code and recovery codes, then a code at each sign-in), the
account page, changing one's password, and reset links issued by staff. Every other page needs a signed-in
user (LoginRequiredMiddleware) who has passed the second factor when one is required (MfaRequiredMiddleware).
"""

from __future__ import annotations

from urllib.parse import urlencode

import django_otp
from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from .. import accounts
from ..audit import audit_record
from ..middleware import mfa_exempt


class SignInView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get(self, request, *args, **kwargs):
        ended = request.session.pop(accounts.SESSION_ENDED_KEY, None)
        if request.htmx:
            # A live update after the session expired was redirected here. Swapping the sign-in page
            # into the result panel would be confusing, and a full redirect would lose what is typed:
            # say so in the panel and keep the inputs as they are.
            return render(request, "registration/login.html#session-expired",
                          {"login_url": request.path, "session_ended": ended, "max_age_hours": _max_age_hours()})
        self.extra_context = {"session_ended": ended}
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "max_age_hours": _max_age_hours()}


def _max_age_hours() -> float:
    return settings.AML_SALVAGE_SESSION_MAX_AGE_SECONDS / 3600


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code", max_length=32, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "off",
                                      "spellcheck": "false", "autofocus": True}),
    )


class ResetLinkForm(forms.Form):
    username = forms.CharField(label="Username of the account", max_length=150, strip=True)


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return candidate
    return reverse("workspace")


@mfa_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator: scan the QR code (or type the secret), confirm with a code; the recovery
    codes are then shown once. Re-enrolling (a new phone) needs a session that passed the second factor."""
    if django_otp.user_has_device(request.user) and not request.user.is_verified():
        return redirect(f"{reverse('mfa_verify')}?{urlencode({'next': reverse('mfa_setup')})}")
    device = accounts.mfa_enrolment_start(user=request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = accounts.mfa_enrolment_confirm(request=request, device=device, code=form.cleaned_data["code"])
        if isinstance(outcome, list):
            return render(request, "registration/mfa_recovery_codes.html",
                          {"codes": outcome, "next": _next_url(request)})
        form.add_error("code", outcome.error)
    return render(request, "registration/mfa_setup.html", {
        "form": form, "qr": accounts.mfa_qr_data_uri(device=device),
        "secret": accounts.mfa_secret_text(device=device), "next": _next_url(request),
        "required": accounts.mfa_required(user=request.user, session=request.session),
    })


@mfa_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def mfa_verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the authenticator app, or a recovery code."""
    if request.user.is_verified():
        return redirect(_next_url(request))
    if not django_otp.user_has_device(request.user):
        return redirect(f"{reverse('mfa_setup')}?{urlencode({'next': _next_url(request)})}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        checked = accounts.mfa_verify(request=request, code=form.cleaned_data["code"])
        if checked.device is not None:
            return redirect(_next_url(request))
        form.add_error("code", checked.error)
    return render(request, "registration/mfa_verify.html", {"form": form, "next": _next_url(request)})


@never_cache
def account(request: HttpRequest) -> HttpResponse:
    return render(request, "registration/account.html", {
        "mfa_enrolled": accounts.mfa_enrolled(user=request.user),
        "mfa_required": accounts.mfa_required(user=request.user, session=request.session),
        "max_age_hours": _max_age_hours(),
    })


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's own (old password, new password twice, the password validators); other sessions of the user
    end, since the password is part of each session's authentication hash."""

    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form):
        response = super().form_valid(form)
        audit_record(action="password_changed", user=self.request.user, request=self.request, detail="by the user")
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's own: the link works once (the token is bound to the password and the last sign-in)."""

    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        audit_record(action="password_changed", user=form.user, request=self.request, detail="by a reset link")
        return response


@never_cache
@require_http_methods(["GET", "POST"])
def reset_link_issue(request: HttpRequest) -> HttpResponse:
    """Staff issue a one-time link to set a new password, and hand it over (no email is sent)."""
    if not (request.user.is_active and request.user.is_staff):
        raise PermissionDenied
    form = ResetLinkForm(request.POST or None)
    link = None
    if request.method == "POST" and form.is_valid():
        user, refusal = accounts.reset_link_refusal(issuer=request.user, username=form.cleaned_data["username"])
        if user is None:
            form.add_error("username", refusal)
        else:
            link = accounts.reset_link_issue(request=request, user=user)
            form = ResetLinkForm(initial={"username": user.get_username()})
    return render(request, "registration/reset_link.html",
                  {"form": form, "link": link, "timeout_hours": settings.PASSWORD_RESET_TIMEOUT / 3600})
