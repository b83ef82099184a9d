"""The audit trail: who created, viewed, revised, printed or exported which consult, and when; who listed or
searched consults, was refused another team's consult, signed in or failed to, signed out, was paused,
passed or failed the second factor, changed a password, was issued a reset link or deactivated; who read or
exported the trail itself.

Append-only (the model and database triggers refuse changes). Events hold the user (or the username tried),
the client address, the consult id and a detail. The detail of a search or a list holds the identifier
searched for: patient data, which is why the trail is staff-only and reading or exporting it is recorded.
The services that save and print consults record their own events (``consults.consult_create``,
``consults.consult_print``); the views and the admin record 'viewed', lists, searches and denials;
aml_salvage/signals.py records sign-in, sign-out, lockout and account events. Staff read the trail in the
admin and export it as CSV (``audit_csv_lines``).
"""

from __future__ import annotations

import csv
import io
import ipaddress
from collections.abc import Iterator

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .models import AuditEvent, Consult

ACTIONS = frozenset(AuditEvent.Action.values)
MSG_UNKNOWN_ACTION = "unknown audit action {action!r}: one of " + ", ".join(sorted(ACTIONS))
CSV_HEADER = ("time", "user", "team", "consult_id", "action", "address", "detail")


def audit_record(*, action: str, user=None, consult: Consult | None = None, request: HttpRequest | None = None,
                 username: str = "", detail: str = "") -> AuditEvent:
    """Append one event. ``action`` is one of AuditEvent.Action. ``user`` is who did it (None for a failed
    sign-in with an unknown name: pass the ``username`` tried); ``request`` gives the client address.
    Call it in the same transaction as the change it records, if any."""
    if action not in ACTIONS:
        raise ValueError(MSG_UNKNOWN_ACTION.format(action=action))
    if user is not None and not username:
        username = user.get_username()
    # PostgreSQL refuses NUL in text: a name tried at sign-in is whatever the client sent.
    username, detail = username.replace("\x00", "")[:150], detail.replace("\x00", "")
    return AuditEvent.objects.create(consult=consult, user=user, action=action, username=username,
                                     ip_address=_address(request), detail=detail)


def audit_denied(*, request: HttpRequest, consult_id: int) -> AuditEvent:
    """Someone asked for a consult they may not see (another team's, or none with that id): they were
    answered 404, and the trail says which."""
    consult = Consult.objects.filter(pk=consult_id).only("pk").first()
    return audit_record(action="denied", user=request.user, consult=consult, request=request,
                        detail="" if consult is not None else f"consult {consult_id} (no such consult)")


def _address(request: HttpRequest | None) -> str | None:
    address = client_ip(request) if request is not None else None
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:  # not an address (a misconfigured proxy header): not stored rather than refused
        return None


def audit_events(*, consult: Consult | None = None):
    """Events oldest first, with the user and the consult's team (for the CSV)."""
    events = AuditEvent.objects.select_related("user", "consult__team").order_by("at", "id")
    return events.filter(consult=consult) if consult is not None else events


def audit_csv_lines(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """CSV text, one line at a time (for a streamed response): time (ISO 8601, local), user (or the
    username tried), team and consult id (blank for security events), action, address, detail. Cells
    that a spreadsheet would run as a formula are quoted with a leading '.

    Reads the seven values of each event in chunks (no model instances, and none of a consult's other
    columns), so that a decade's trail streams in bounded memory and time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(row) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_spreadsheet_safe(cell) for cell in row])
        return buffer.getvalue()

    yield line(CSV_HEADER)
    rows = events.values_list("at", "username", "user__username", "consult__team__name", "consult_id", "action",
                              "ip_address", "detail")
    for at, tried, username, team, consult_id, action, address, detail in rows.iterator(chunk_size=2000):
        yield line((timezone.localtime(at).isoformat(timespec="seconds"), tried or username or "", team or "",
                    consult_id or "", action, address or "", detail))


def _spreadsheet_safe(cell) -> str:
    text = str(cell)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def client_ip(request: HttpRequest) -> str | None:
    """The client's address for sign-in throttling. REMOTE_ADDR, unless the request comes from a trusted
    proxy (DJANGO_TRUSTED_PROXIES) and DJANGO_TRUSTED_PROXY_COUNT = N proxies are configured: then the
    address the outermost trusted proxy saw, the entry it appended (N-th from the right of X-Forwarded-For;
    those to its right were appended by the proxies behind it). Entries further left are written by the
    client and cannot be trusted; neither can the whole header when the app is reached directly."""
    proxies = getattr(settings, "AML_SALVAGE_TRUSTED_PROXY_COUNT", 0)
    remote = request.META.get("REMOTE_ADDR")
    if proxies <= 0 or not _from_trusted_proxy(remote):
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-proxies]))
    except ValueError:  # not an address: a misconfigured proxy or a forged header
        return remote


def _from_trusted_proxy(remote: str | None) -> bool:
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    return any(address in network for network in getattr(settings, "AML_SALVAGE_TRUSTED_PROXIES", ()))
