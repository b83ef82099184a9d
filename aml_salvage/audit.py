"""The audit trail: who created, viewed, revised, printed or exported which consult, and when.

Append-only (the model and database triggers refuse changes). Events hold the user, the consult id, the
action and the time: no patient data. The services that save and print consults record their own events
(``consults.consult_create``, ``consults.consult_print``); the views and the admin record 'viewed'. Staff
read the trail in the admin and export it as CSV (``audit_csv_lines``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .models import AuditEvent, Consult

ACTIONS = frozenset(AuditEvent.Action.values)
MSG_UNKNOWN_ACTION = "unknown audit action {action!r}: one of " + ", ".join(sorted(ACTIONS))
CSV_HEADER = ("time", "user", "team", "consult_id", "action")


def audit_record(*, consult: Consult, user, action: str) -> AuditEvent:
    """Append one event. ``action`` is one of AuditEvent.Action ("created", "viewed", "revised",
    "printed", "exported"). Call it in the same transaction as the change it records, if any."""
    if action not in ACTIONS:
        raise ValueError(MSG_UNKNOWN_ACTION.format(action=action))
    return AuditEvent.objects.create(consult=consult, user=user, action=action)


def audit_events(*, consult: Consult | None = None):
    """Events oldest first, with the user and the consult's team (for the CSV)."""
    events = AuditEvent.objects.select_related("user", "consult__team").order_by("at", "id")
    return events.filter(consult=consult) if consult is not None else events


def audit_csv_lines(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """CSV text, one line at a time (for a streamed response): time (ISO 8601, local), user, team,
    consult id, action. Cells that a spreadsheet would run as a formula are quoted with a leading '.

    Reads the five values of each event in chunks (no model instances, and none of a consult's other columns:
    in SQLite they sit after its stored workup and result), so that a decade's trail streams in bounded
    memory and time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(row) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_spreadsheet_safe(cell) for cell in row])
        return buffer.getvalue()

    yield line(CSV_HEADER)
    rows = events.values_list("at", "user__username", "consult__team__name", "consult_id", "action")
    for at, username, team, consult_id, action in rows.iterator(chunk_size=2000):
        yield line((timezone.localtime(at).isoformat(timespec="seconds"), username, team, consult_id, action))


def _spreadsheet_safe(cell) -> str:
    text = str(cell)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def client_ip(request: HttpRequest) -> str | None:
    """The client's address for sign-in throttling: REMOTE_ADDR, or, behind N trusted proxies
    (DJANGO_TRUSTED_PROXY_COUNT), the address the outermost trusted proxy saw in X-Forwarded-For.
    Entries further left are written by the client and cannot be trusted."""
    proxies = getattr(settings, "AML_SALVAGE_TRUSTED_PROXY_COUNT", 0)
    remote = request.META.get("REMOTE_ADDR")
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies]
