"""Saved consults: immutable snapshots of a workup, its result and the knowledge-base version.

A consult records what the clinician saw and chose at the time. Later knowledge-base changes never alter
it: the result is stored as JSON, not recomputed. A correction is a new consult linked to the old one
(``revision_of``). Two guards: the model (``save`` on an existing row, ``delete`` and the queryset's bulk
``update``/``delete`` all refuse) and the database (triggers from migrations 0003 and 0004 refuse UPDATE,
DELETE and TRUNCATE from any client, unconditionally: raw SQL, another program, a future bug).

The audit trail (``AuditEvent``) is append-only in the same two ways: who created, viewed, revised, printed
or exported which consult, and when. It holds no patient data: the consult is referenced by id.

Clinical rules never touch the ORM: the knowledge base is read through ``services.knowledge_get()``.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import RegexValidator
from django.db import models
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
    """One thing a user did with a consult. Recorded through ``audit.audit_record``, never edited."""

    class Action(models.TextChoices):
        CREATED = "created", "created"
        VIEWED = "viewed", "viewed"
        REVISED = "revised", "revised"  # on the original consult, when a revision of it is saved
        PRINTED = "printed", "printed"  # its PDF was produced
        EXPORTED = "exported", "exported"  # its data left the app in another form (reserved for exports)

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="audit_events")
    consult = models.ForeignKey(Consult, on_delete=models.PROTECT, related_name="audit_events")
    action = models.CharField(max_length=16, choices=Action.choices)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["consult", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user_id} {self.action} consult {self.consult_id}"

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
