"""Saved consults: immutable snapshots of a workup, its result and the knowledge-base version.

A consult records what the clinician saw and chose at the time. Later knowledge-base changes never alter
it: the result is stored as JSON, not recomputed. A correction is a new consult linked to the old one
(``revision_of``). Two guards: the model (``save`` on an existing row, ``delete`` and the queryset's bulk
``update``/``delete`` all refuse) and the database (triggers from migration 0003 refuse UPDATE and DELETE
from any client: raw SQL, another program, a future bug).

The audit trail (``AuditEvent``) is append-only in the same two ways: who created, viewed, revised, printed
or exported which consult, and when, plus the security events (sign-ins, failures, lists and searches,
account changes). A consult is referenced by id; the one piece of patient data the trail holds is an
identifier that someone searched for, which is why the trail is staff-only and reading or exporting it is
itself recorded.

Clinical rules never touch the ORM: the knowledge base is read through ``services.knowledge_get()``.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import RegexValidator
from django.db import models
from django.db.backends.signals import connection_created
from django.dispatch import receiver
from django.urls import reverse

PATIENT_IDENTIFIER_MAX = 32
PATIENT_IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9\-]*$"
MSG_PATIENT_IDENTIFIER = (
    "use an MRN or initials: letters, digits and '-' only, no spaces (never the patient's name)"
)
MSG_IMMUTABLE = "a saved consult is an immutable snapshot: save a revision instead (a new consult linked to it)"
MSG_NO_DELETE = "a saved consult is part of the clinical record and cannot be deleted"

patient_identifier_validator = RegexValidator(PATIENT_IDENTIFIER_PATTERN, MSG_PATIENT_IDENTIFIER)


class ConsultImmutable(Exception):
    """Raised on any attempt to change or delete a saved consult."""


class WriteOnceQuerySet(models.QuerySet):
    """Bulk operations bypass save()/delete(); refuse them too (the admin's "delete selected" uses these).
    Subclasses name the exception and the messages."""

    refusal: type[Exception] = Exception
    msg_update = msg_delete = "rows of this table are written once"

    def update(self, **kwargs):
        raise self.refusal(self.msg_update)

    def delete(self):
        raise self.refusal(self.msg_delete)

    def bulk_update(self, objs, fields, batch_size=None):
        raise self.refusal(self.msg_update)


class ConsultQuerySet(WriteOnceQuerySet):
    refusal, msg_update, msg_delete = ConsultImmutable, MSG_IMMUTABLE, MSG_NO_DELETE


class Consult(models.Model):
    team = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="consults",
                             help_text="the care team that can see this consult")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="consults")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    patient_identifier = models.CharField(
        max_length=PATIENT_IDENTIFIER_MAX, blank=True, db_index=True,
        validators=[patient_identifier_validator], help_text="MRN or initials; never a name",
    )
    workup = models.JSONField(help_text="the validated workup, as the JSON contract")
    result = models.JSONField(help_text="the full consult result shown at the time")
    kb_version = models.CharField(max_length=32, help_text="knowledge-base version the result came from")
    chosen_option_id = models.CharField(max_length=64)
    chosen_option_tier = models.CharField(max_length=32, help_text="the chosen option's tier at the time")
    override_reason = models.TextField(blank=True, help_text="why a non-preferred option was chosen")
    notes = models.TextField(blank=True)
    revision_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="revisions")

    objects = ConsultQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "-created_at"])]

    def __str__(self) -> str:
        who = self.patient_identifier or "no identifier"
        return f"Consult {self.pk} ({who}, {self.chosen_option_id})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ConsultImmutable(MSG_IMMUTABLE)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("consult_detail", args=[self.pk])

    def delete(self, *args, **kwargs):
        raise ConsultImmutable(MSG_NO_DELETE)


MSG_AUDIT_APPEND_ONLY = "the audit trail is append-only: events cannot be changed or deleted"


class AuditAppendOnly(Exception):
    """Raised on any attempt to change or delete an audit event."""


class AuditEventQuerySet(WriteOnceQuerySet):
    refusal, msg_update, msg_delete = AuditAppendOnly, MSG_AUDIT_APPEND_ONLY, MSG_AUDIT_APPEND_ONLY


class AuditEvent(models.Model):
    """One thing a user did with a consult, or one security event (a sign-in, a failed sign-in, a list or a
    search of consults, an account change). Recorded through ``audit.audit_record``, never edited.

    Events about a consult reference it by id. Security events have no consult; a failed sign-in may have no
    user either (``username`` then holds the name that was tried). ``detail`` can hold patient data (the
    identifier searched for): the trail is itself protected (append-only, staff-only, its export audited).
    """

    class Action(models.TextChoices):
        CREATED = "created", "created"
        VIEWED = "viewed", "viewed"
        REVISED = "revised", "revised"  # on the original consult, when a revision of it is saved
        PRINTED = "printed", "printed"  # its PDF was produced
        EXPORTED = "exported", "exported"  # its data left the app in another form (reserved for exports)
        DENIED = "denied", "access denied"  # another team's consult was asked for (404 answered)
        LISTED = "listed", "consult list shown"  # detail: the search in effect, the page, the admin filters
        SEARCHED = "searched", "identifier searched"  # detail: the search term
        SIGNED_IN = "signed_in", "signed in"
        SIGN_IN_FAILED = "sign_in_failed", "sign-in failed"  # username: the name tried (never the password)
        SIGNED_OUT = "signed_out", "signed out"  # detail: why, when the app ended the session
        LOCKED_OUT = "locked_out", "sign-in paused"  # too many failures (django-axes)
        MFA_ENROLLED = "mfa_enrolled", "two-factor enrolled"
        MFA_VERIFIED = "mfa_verified", "two-factor code accepted"  # detail: authenticator or recovery code
        MFA_FAILED = "mfa_failed", "two-factor code refused"
        PASSWORD_CHANGED = "password_changed", "password changed"  # detail: by the user or by a reset link
        RESET_LINK_ISSUED = "reset_link_issued", "reset link issued"  # user: the staff member; detail: for whom
        DEACTIVATED = "deactivated", "account deactivated"  # its sessions were ended
        REACTIVATED = "reactivated", "account reactivated"
        TRAIL_VIEWED = "trail_viewed", "audit trail viewed"
        TRAIL_EXPORTED = "trail_exported", "audit trail exported"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="audit_events",
                             null=True, blank=True, help_text="none for a failed sign-in with an unknown name")
    consult = models.ForeignKey(Consult, on_delete=models.PROTECT, related_name="audit_events",
                                null=True, blank=True, help_text="none for security events")
    action = models.CharField(max_length=32, choices=Action.choices)
    username = models.CharField(max_length=150, blank=True,
                                help_text="the username at the time, or the one tried at a failed sign-in")
    ip_address = models.GenericIPAddressField(null=True, blank=True, help_text="the client address, if known")
    detail = models.TextField(blank=True, help_text="what was searched or filtered, why a session ended, for whom")

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["consult", "at"])]

    def __str__(self) -> str:
        about = f" consult {self.consult_id}" if self.consult_id else ""
        return f"{self.at:%Y-%m-%d %H:%M} {self.username or self.user_id} {self.action}{about}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditAppendOnly(MSG_AUDIT_APPEND_ONLY)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditAppendOnly(MSG_AUDIT_APPEND_ONLY)


def records_deletion_allowed() -> int:
    """Called by the SQLite DELETE triggers of migration 0003: 1 only under the test settings."""
    return 1 if getattr(settings, "AML_SALVAGE_ALLOW_RECORD_DELETION", False) else 0


@receiver(connection_created, dispatch_uid="aml_salvage_record_guard")
def _record_guard_on_connect(sender, connection, **kwargs) -> None:
    # The triggers ask the connection whether deletion is allowed. Without this function (another SQLite
    # client) the trigger fails with "no such function", so a DELETE is still refused.
    if connection.vendor == "sqlite":
        connection.connection.create_function("aml_salvage_deletion_allowed", 0, records_deletion_allowed)
    elif connection.vendor == "postgresql" and records_deletion_allowed():
        with connection.connection.cursor() as cursor:
            cursor.execute("SET aml_salvage.allow_record_deletion = 'on'")


class KnowledgeBaseEntry(models.Model):
    """No table: a handle so the admin index lists the knowledge base (read from the YAML files)."""

    class Meta:
        managed = False
        verbose_name = "knowledge base"
        verbose_name_plural = "knowledge base"
        default_permissions = ("view",)

    def __str__(self) -> str:
        return "knowledge base"
