"""Accounts: the second factor at sign-in, the session's absolute lifetime, reset links issued by staff
(no email), and ending a user's sessions when the account is deactivated.

The cryptography is django-otp's (TOTP devices, one-time recovery codes in its static plugin) and Django's
(password hashing, ``default_token_generator`` for reset links); this module only decides who needs what
and records each step in the audit trail.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import django_otp
import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.models import VerifyNotAllowed
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .audit import audit_record

# Session keys. The sign-in time, for the absolute lifetime (SessionActivityMiddleware); whether the user had
# a second factor enrolled when signing in (so a clinician who chose one is asked for it, without a query on
# every request).
SIGNED_IN_AT_KEY = "_aml_salvage_signed_in_at"
MFA_ENROLLED_KEY = "_aml_salvage_mfa_enrolled"
# Set on the fresh anonymous session after the app ended one, so the sign-in page can say why.
SESSION_ENDED_KEY = "_aml_salvage_session_ended"

AUTHENTICATOR = "authenticator"
RECOVERY = "recovery codes"

MSG_CODE_WRONG = "That code is not right. Check the time on your phone, then enter the code now shown."
MSG_CODE_WRONG_RECOVERY = "That recovery code is not right, or has been used already (each works once)."
MSG_CODE_PAUSED = "Too many wrong codes: wait {seconds} seconds, then try again."
MSG_CODE_SHAPE = "Enter the 6 digits from your authenticator app, or one of your recovery codes."
MSG_RESET_UNKNOWN = "No account has this username."
MSG_RESET_INACTIVE = "This account is deactivated: reactivate it in the admin first."
MSG_RESET_SELF = "For your own account, use “Change password”."
MSG_RESET_STAFF = "Only a superuser can issue a reset link for a staff account."
REASON_LIFETIME = "session lifetime reached ({hours:g} hours after sign-in)"


def session_signed_in_stamp(*, request: HttpRequest, user) -> None:
    """At sign-in: the time (for the absolute lifetime) and whether a second factor is enrolled."""
    request.session[SIGNED_IN_AT_KEY] = int(timezone.now().timestamp())
    request.session[MFA_ENROLLED_KEY] = django_otp.user_has_device(user)


def session_past_lifetime(*, request: HttpRequest) -> bool:
    """True once the session is older than AML_SALVAGE_SESSION_MAX_AGE_SECONDS, however active it was.
    A signed-in session without a stamp predates the rule: it is past it too."""
    started = request.session.get(SIGNED_IN_AT_KEY)
    now = int(timezone.now().timestamp())
    return started is None or now - int(started) >= settings.AML_SALVAGE_SESSION_MAX_AGE_SECONDS


def lifetime_reason() -> str:
    return REASON_LIFETIME.format(hours=settings.AML_SALVAGE_SESSION_MAX_AGE_SECONDS / 3600)


# --- The second factor -------------------------------------------------------------------------------------

def mfa_required(*, user, session) -> bool:
    """Staff always; clinicians when AML_SALVAGE_MFA_REQUIRED_FOR_CLINICIANS is on; anyone who enrolled."""
    return bool(user.is_staff or user.is_superuser or settings.AML_SALVAGE_MFA_REQUIRED_FOR_CLINICIANS
                or session.get(MFA_ENROLLED_KEY))


def mfa_enrolled(*, user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def mfa_enrolment_start(*, user) -> TOTPDevice:
    """The authenticator being set up: a new secret until it is confirmed with a code from it."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    return device or TOTPDevice.objects.create(user=user, name=AUTHENTICATOR, confirmed=False)


def mfa_qr_data_uri(*, device: TOTPDevice) -> str:
    """The device's otpauth:// URL as a QR code: an SVG image in a data: URI (rendered here, no network;
    the page's CSP allows data: images and no inline script)."""
    buffer = io.BytesIO()
    qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, border=2).save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def mfa_secret_text(*, device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, for typing into an app that cannot scan."""
    secret = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


@dataclass(frozen=True)
class MfaCheck:
    device: object | None  # the device that accepted the code, or None
    error: str = ""


def _normalised(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def mfa_enrolment_confirm(*, request: HttpRequest, device: TOTPDevice, code: str) -> list[str] | MfaCheck:
    """Confirm the authenticator with a code from it. On success: it replaces any earlier authenticator, a
    new set of recovery codes replaces any earlier set, the session counts as verified, and the recovery
    codes are returned (to be shown once). Otherwise the refusal."""
    user = request.user
    checked = _check(device=device, code=_normalised(code), recovery=False)
    if checked.device is None:
        audit_record(action="mfa_failed", user=user, request=request, detail=f"{AUTHENTICATOR} (enrolment)")
        return checked
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = recovery_codes_issue(user=user)
        audit_record(action="mfa_enrolled", user=user, request=request,
                     detail=f"{AUTHENTICATOR} and {len(codes)} recovery codes")
    django_otp.login(request, device)
    request.session[MFA_ENROLLED_KEY] = True
    return codes


def recovery_codes_issue(*, user) -> list[str]:
    """A new set of one-time recovery codes (django-otp's static tokens); earlier codes stop working."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(settings.AML_SALVAGE_RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def mfa_verify(*, request: HttpRequest, code: str) -> MfaCheck:
    """The second step of sign-in: a code from the authenticator (6 digits) or a recovery code. Wrong codes
    are throttled per device by django-otp (a growing pause). Success marks the session verified."""
    user = request.user
    code = _normalised(code)
    recovery = not (code.isdigit() and len(code) == 6)
    model = StaticDevice if recovery else TOTPDevice
    device = model.objects.filter(user=user, confirmed=True).first()
    kind = RECOVERY if recovery else AUTHENTICATOR
    if device is None or not code:
        checked = MfaCheck(None, MSG_CODE_SHAPE)
    else:
        checked = _check(device=device, code=code, recovery=recovery)
    if checked.device is None:
        audit_record(action="mfa_failed", user=user, request=request, detail=kind)
        return checked
    django_otp.login(request, checked.device)
    audit_record(action="mfa_verified", user=user, request=request, detail=kind)
    return checked


def _check(*, device, code: str, recovery: bool) -> MfaCheck:
    allowed, extra = device.verify_is_allowed()
    if not allowed:
        if extra and extra.get("reason") == VerifyNotAllowed.N_FAILED_ATTEMPTS and extra.get("locked_until"):
            seconds = max(1, int((extra["locked_until"] - timezone.now()).total_seconds()) + 1)
            return MfaCheck(None, MSG_CODE_PAUSED.format(seconds=seconds))
        return MfaCheck(None, MSG_CODE_PAUSED.format(seconds="a few"))
    with transaction.atomic():
        if django_otp.verify_token(device.user, device.persistent_id, code) is not None:
            return MfaCheck(device)
    return MfaCheck(None, MSG_CODE_WRONG_RECOVERY if recovery else MSG_CODE_WRONG)


# --- Reset links and deactivation ---------------------------------------------------------------------------

def reset_link_refusal(*, issuer, username: str) -> tuple[object | None, str]:
    """The account a staff member may issue a reset link for, or why not."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        return None, MSG_RESET_UNKNOWN
    if not user.is_active:
        return None, MSG_RESET_INACTIVE
    if user.pk == issuer.pk:
        return None, MSG_RESET_SELF
    if (user.is_staff or user.is_superuser) and not issuer.is_superuser:
        return None, MSG_RESET_STAFF
    return user, ""


def reset_link_issue(*, request: HttpRequest, user) -> str:
    """A one-time link to set a new password (Django's default_token_generator: it stops working once the
    password changes or the user signs in, and after PASSWORD_RESET_TIMEOUT). Handed over by the staff
    member, not emailed; recorded with who issued it, for whom."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = request.build_absolute_uri(reverse("password_reset_confirm", args=[uid, token]))
    audit_record(action="reset_link_issued", user=request.user, request=request,
                 detail=f"for {user.get_username()}")
    return link


def user_sessions_end(*, user) -> int:
    """Delete every session of this user (database sessions: on every app server at once). Returns how
    many. Sessions are signed blobs, so each unexpired one is decoded: deactivation is rare."""
    mine = [session.pk for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
            if str(session.get_decoded().get(SESSION_KEY)) == str(user.pk)]
    Session.objects.filter(pk__in=mine).delete()
    return len(mine)
