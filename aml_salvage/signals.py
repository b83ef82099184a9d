"""Security events into the audit trail, from Django's and django-axes' signals (sign-in, failure, sign-out,
lockout), and account deactivation ending the account's sessions. Receivers only pass what they are told
to the services in audit.py and accounts.py. Connected in AmlSalvageConfig.ready().

A failed sign-in records the username tried and the address, never the password (Django hands the
receiver the credentials with the password already masked; it is not read here anyway). Deactivation is
seen through the model's save (the admin, the shell, a command); a bulk ``update()`` bypasses it.
"""

from __future__ import annotations

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from . import accounts
from .audit import audit_record

# Why the app ended a session (set on the request before logout(), read by the sign-out receiver).
SIGNOUT_REASON_ATTR = "aml_salvage_signout_reason"


@receiver(user_logged_in, dispatch_uid="aml_salvage_signed_in")
def _signed_in(sender, request, user, **kwargs) -> None:
    if request is None:
        return
    if hasattr(request, "session"):
        accounts.session_signed_in_stamp(request=request, user=user)
    audit_record(action="signed_in", user=user, request=request)


@receiver(user_logged_out, dispatch_uid="aml_salvage_signed_out")
def _signed_out(sender, request, user, **kwargs) -> None:
    if user is None:  # signing out without being signed in
        return
    audit_record(action="signed_out", user=user, request=request,
                 detail=getattr(request, SIGNOUT_REASON_ATTR, ""))


@receiver(user_login_failed, dispatch_uid="aml_salvage_sign_in_failed")
def _sign_in_failed(sender, credentials, request=None, **kwargs) -> None:
    username = str(credentials.get("username") or "")
    user = get_user_model().objects.filter(username=username).first() if username else None
    paused = bool(getattr(request, "axes_locked_out", False))
    audit_record(action="sign_in_failed", user=user, username=username, request=request,
                 detail="refused: sign-in paused" if paused else "")


@receiver(user_locked_out, dispatch_uid="aml_salvage_locked_out")
def _locked_out(sender, request, username, ip_address, **kwargs) -> None:
    username = str(username or "")
    user = get_user_model().objects.filter(username=username).first() if username else None
    audit_record(action="locked_out", user=user, username=username, request=request)


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="aml_salvage_user_active_before")
def _remember_active(sender, instance, update_fields=None, **kwargs) -> None:
    if instance.pk is None or (update_fields is not None and "is_active" not in update_fields):
        instance._aml_salvage_was_active = None  # new, or a save that cannot change it (sign-in's last_login)
        return
    instance._aml_salvage_was_active = (sender.objects.filter(pk=instance.pk)
                                        .values_list("is_active", flat=True).first())


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="aml_salvage_user_active_after")
def _active_changed(sender, instance, created, **kwargs) -> None:
    was_active = getattr(instance, "_aml_salvage_was_active", None)
    if was_active is None or was_active == instance.is_active:
        return
    if instance.is_active:
        audit_record(action="reactivated", user=instance)
    else:
        ended = accounts.user_sessions_end(user=instance)
        audit_record(action="deactivated", user=instance, detail=f"{ended} session(s) ended")
