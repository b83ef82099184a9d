"""Saved consults: immutable snapshots of a workup, its result and the knowledge-base version.

A consult records what the clinician saw and chose at the time. Later knowledge-base changes never alter
it: the result is stored, not recomputed — compressed against the knowledge base it was saved under, which
is stored once per version in ``KnowledgeContent`` (storage.py says how; ``Consult.result`` reads it back).
A correction is a new consult linked to the old one (``revision_of``). Two guards: the model (``save`` on an
existing row, ``delete`` and the queryset's bulk ``update``/``delete`` all refuse) and the database (triggers
from migrations 0003 and 0004 refuse UPDATE, DELETE and TRUNCATE from any client, unconditionally: raw SQL,
another program, a future bug).

The audit trail (``AuditEvent``) is append-only in the same two ways: who created, viewed, revised, printed
or exported which consult, and when, plus the security events (sign-ins, failures, lists and searches,
account changes). A consult is referenced by id; the one piece of patient data the trail holds is an
identifier that someone searched for, which is why the trail is staff-only and reading or exporting it is
itself recorded.

Clinical rules never touch the ORM: the knowledge base is read through ``services.knowledge_get()``.
"""

from __future__ import annotations

from functools import cached_property, lru_cache

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F
from django.db.models.functions import Upper
from django.urls import reverse

from . import storage

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


MSG_CONTENT_WRITE_ONCE = "knowledge-base content is written once: saved consults are read with it"


class KnowledgeContentWriteOnce(Exception):
    """Raised on any attempt to change or delete stored knowledge-base content."""


class KnowledgeContentQuerySet(WriteOnceQuerySet):
    refusal, msg_update, msg_delete = KnowledgeContentWriteOnce, MSG_CONTENT_WRITE_ONCE, MSG_CONTENT_WRITE_ONCE


class KnowledgeContent(models.Model):
    """The knowledge base of one version, as JSON, stored once and named by its SHA-256: the dictionary the
    results of the consults saved under it are compressed with (storage.py). Write-once like a consult
    (model guard and the triggers of migration 0004): changing it would make those results unreadable."""

    sha256 = models.CharField(primary_key=True, max_length=64, help_text="SHA-256 of content (UTF-8)")
    kb_version = models.CharField(max_length=32, db_index=True)
    content = models.TextField(help_text="the knowledge base as JSON (readable; the zstd dictionary)")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = KnowledgeContentQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "knowledge contents"

    def __str__(self) -> str:
        return f"Knowledge base {self.kb_version} ({self.sha256[:12]})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise KnowledgeContentWriteOnce(MSG_CONTENT_WRITE_ONCE)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise KnowledgeContentWriteOnce(MSG_CONTENT_WRITE_ONCE)


@lru_cache(maxsize=8)
def knowledge_content_bytes(sha256: str) -> bytes:
    """The stored knowledge content with this hash, checked against it (keyed by the hash: never stale)."""
    content = KnowledgeContent.objects.values_list("content", flat=True).get(pk=sha256).encode()
    if storage.content_sha256(content) != sha256:
        raise ValueError(f"stored knowledge content {sha256} does not match its SHA-256")
    return content


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
    # The full result shown at the time, compressed against the knowledge content (read it as ``result``).
    result_zstd = models.BinaryField(help_text="the full consult result shown at the time: zstd-compressed JSON "
                                               "with kb_content as dictionary (see README, Stored data)")
    kb_content = models.ForeignKey(KnowledgeContent, on_delete=models.PROTECT, related_name="consults",
                                   help_text="the knowledge base the result is compressed against")
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
        indexes = [
            models.Index(fields=["team", "-created_at"]),
            # The consult list reads each source of visible consults (own, each team) newest first, by index;
            # the identifier search reads them by the identifier's start, case-insensitively (consults.py).
            models.Index(fields=["author", "-created_at"], name="consult_author_recent"),
            models.Index(F("team"), Upper("patient_identifier"), F("created_at"), name="consult_team_identifier"),
            models.Index(F("author"), Upper("patient_identifier"), F("created_at"), name="consult_author_identifier"),
        ]

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

    @cached_property
    def result(self) -> dict:
        """The full consult result shown at the time, as the JSON object it was saved as."""
        return storage.result_decompress(self.result_zstd, content=knowledge_content_bytes(self.kb_content_id))


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
        DRAFT_PRINTED = "draft_printed", "draft printed"  # no consult: detail, the identifier on it (or none)
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


class KnowledgeBaseEntry(models.Model):
    """No table: a handle so the admin index lists the knowledge base (read from the YAML files)."""

    class Meta:
        managed = False
        verbose_name = "knowledge base"
        verbose_name_plural = "knowledge base"
        default_permissions = ("view",)

    def __str__(self) -> str:
        return "knowledge base"
