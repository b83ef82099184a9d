"""Saving, printing and finding consults: the services views call (keyword-only, <noun>_<verb>).

Who sees what: a consult is visible to its author and to the members of its care team (a Django group),
and to no one else. A clinician without a team cannot save. Error messages are module constants that
the tests reuse.

The services own their side effects: ``consult_create`` stores the consult and its audit events in one
transaction, ``consult_print`` records each print. Display code (presentation, templates) is not imported
here; only ``consult_print`` reaches the PDF renderer, because printing is its job.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Upper
from django.http import HttpRequest
from django.utils import timezone
from pydantic import ValidationError as SchemaError

from . import services, storage
from .audit import audit_record
from .domain.knowledge import KnowledgeBase, Parameters
from .domain.result import ConsultResult
from .domain.workup import Workup
from .models import (
    PATIENT_IDENTIFIER_MAX,
    Consult,
    KnowledgeContent,
    knowledge_content_bytes,
    patient_identifier_validator,
)

MSG_NO_TEAM = (
    "your account belongs to no care team, so the consult cannot be saved: ask an administrator to add you "
    "to your team"
)
MSG_NOT_YOUR_TEAM = "you are not a member of this care team"
MSG_CHOOSE_OPTION = "choose the option you intend to use"
MSG_UNKNOWN_OPTION = "not an option of this result"
MSG_OVERRIDE_REASON = (
    "required: {name} is {tier} for this workup, not preferred — record why you chose it (override reason)"
)
MSG_IDENTIFIER_TOO_LONG = f"at most {PATIENT_IDENTIFIER_MAX} characters"
MSG_REVISION_NOT_VISIBLE = "the consult being revised is not visible to you"
MSG_KB_CHANGED = (
    "the knowledge base was updated after the result you chose from was computed: review the updated result, "
    "then save again"
)

# Draft prints belong to no saved consult, so they cannot be audit events (each event names its consult):
# they are logged here instead — who printed, when, and whether an identifier was on it; never the identifier.
# The trail's detail of a draft print: the identifier printed on it (a paper about that patient left the app;
# the trail is protected and already keeps the identifiers searched for), or that it carried none.
DRAFT_DETAIL_IDENTIFIED = "patient identifier {identifier}"
DRAFT_DETAIL_ANONYMOUS = "no patient identifier"


class ConsultInvalid(Exception):
    """The consult cannot be saved; ``errors`` maps a field name ('' for the whole consult) to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k or 'consult'}: {', '.join(v)}" for k, v in errors.items()))


def teams_of(*, user) -> QuerySet[Group]:
    """The care teams a user belongs to (their Django groups), by name."""
    if not user.is_authenticated:
        return Group.objects.none()
    return user.groups.order_by("name")


def team_for(*, user) -> Group | None:
    """The team a consult is saved under: the user's first team by name, or None without one."""
    return teams_of(user=user).first()


def consult_visible_to(*, user) -> QuerySet[Consult]:
    """Consults the user may see: their own and their teams'. Anonymous users see none."""
    if not user.is_authenticated or not user.is_active:
        return Consult.objects.none()
    # The team condition is a subquery, not a join, so no row repeats (no DISTINCT over large JSON columns).
    teams = Group.objects.filter(user=user).values("pk")
    return Consult.objects.filter(Q(author=user) | Q(team__in=teams)).select_related("author", "team")


def consult_search(*, user, query: str = "") -> QuerySet[Consult]:
    """The user's visible consults, newest first; with a query, those whose patient identifier starts with it
    (case-insensitively: identifiers are short codes, found by their start). The definition the consult list
    pages through (ConsultListing reads the same rows by index)."""
    consults = consult_visible_to(user=user)
    query = (query or "").strip()
    if query:
        consults = _identifier_starts(consults, query)
    return consults.order_by("-created_at", "-id")


def _identifier_starts(consults: QuerySet[Consult], query: str) -> QuerySet[Consult]:
    """Identifiers starting with ``query``, any case. On SQLite, whose text order is byte order, as the range
    [QUERY, QUERY + DEL) of the upper-cased identifier, which the indexes on (team or author, UPPER(identifier),
    created_at) answer alone: identifiers are ASCII letters, digits and hyphens (PATIENT_IDENTIFIER_PATTERN),
    all below DEL, and SQLite's UPPER, like the key here, changes ASCII letters only, so the range holds
    exactly the identifiers that start with the query. PostgreSQL's collation need not be byte order: there
    a case-insensitive LIKE decides (on the team's or the author's consults, read by index)."""
    if connection.vendor != "sqlite":
        return consults.filter(patient_identifier__istartswith=query)
    key = "".join(ch.upper() if ch.isascii() else ch for ch in query)
    return consults.annotate(identifier_key=Upper("patient_identifier")).filter(
        identifier_key__gte=key, identifier_key__lt=key + "\x7f")


class ConsultListing:
    """The consults ``consult_search`` gives, for Django's Paginator, read so that a page costs what it shows
    rather than what the clinician may see (issue 15: the list and the search hold their time as consults
    pile up). The visible consults come from a few sources: the user's own, and each of their teams'. Each
    source is read newest first by its index, as far as the page needs ((author or team, created_at)), or
    with a search by the identifier's start ((author or team, UPPER(identifier), created_at)); the pages merge
    them and then read only the rows shown. Without a search the count is the database's (from the author and
    team indexes alone); with one it is the number of matches. Deep pages
    read every newer index entry of each source (page 100: 2,500 each)."""

    def __init__(self, *, user, query: str = ""):
        self.user = user
        self.query = (query or "").strip()
        self._matches: list[tuple] | None = None

    def _sources(self) -> list[QuerySet[Consult]]:
        if not self.user.is_authenticated or not self.user.is_active:
            return []
        teams = Group.objects.filter(user=self.user).values_list("pk", flat=True)
        sources = [Consult.objects.filter(author=self.user)]
        sources += [Consult.objects.filter(team_id=team) for team in teams]
        if self.query:
            sources = [_identifier_starts(s, self.query) for s in sources]
        return [s.order_by("-created_at", "-id").values_list("created_at", "id") for s in sources]

    def _newest(self, stop: int | None) -> list[tuple]:
        """(created_at, id) of the visible consults, newest first, the first ``stop`` (all with None)."""
        if stop is None and self._matches is not None:
            return self._matches
        keys = set()
        for source in self._sources():
            keys.update(source if stop is None else source[:stop])
        newest = sorted(keys, reverse=True)
        if stop is None:
            self._matches = newest
        return newest[:stop]

    def count(self) -> int:
        if self.query:
            return len(self._newest(None))  # the matches are few; the page reads them again from this list
        return consult_search(user=self.user).count()

    def __getitem__(self, index: slice) -> list[Consult]:
        if not isinstance(index, slice) or index.step is not None:
            raise TypeError("ConsultListing takes a slice")
        start, stop = index.start or 0, index.stop
        keys = self._newest(None if self.query else stop)[start:stop]
        rows = Consult.objects.filter(pk__in=[pk for _, pk in keys]).select_related("author", "team").defer(
            "workup", "result_zstd")
        by_id = {c.pk: c for c in rows}
        return [by_id[pk] for _, pk in keys if pk in by_id]


@transaction.atomic
def consult_create(
    *,
    author,
    workup: Workup,
    result: ConsultResult,
    chosen_option_id: str,
    override_reason: str = "",
    notes: str = "",
    patient_identifier: str = "",
    revision_of: Consult | None = None,
    team: Group | None = None,
    kb_stamp_seen: str | None = None,
) -> Consult:
    """Store an immutable snapshot of the workup, the full result and the knowledge-base version, and
    record it in the audit trail: 'created' on the new consult and, for a revision, 'revised' on the
    original. One transaction: the consult and its events are stored together or not at all (the
    checks read the author's teams in it too, so they hold when the rows are written).

    Raises ConsultInvalid naming each field at fault: no team, no or unknown chosen option, a
    non-preferred choice without an override reason, a malformed identifier; and, when ``kb_stamp_seen``
    (the knowledge base of the result the clinician chose from, services.knowledge_stamp) is given and is
    not the one ``result`` was just computed with, the whole consult: it would store a choice made on
    other advice (another server during an upgrade, or a reload in between).
    """
    errors: dict[str, list[str]] = {}
    teams = teams_of(user=author)
    if team is None:
        team = teams.first()
        if team is None:
            errors.setdefault("", []).append(MSG_NO_TEAM)
    elif not teams.filter(pk=team.pk).exists():
        errors.setdefault("team", []).append(MSG_NOT_YOUR_TEAM)

    patient_identifier = (patient_identifier or "").strip()
    if len(patient_identifier) > PATIENT_IDENTIFIER_MAX:
        errors.setdefault("patient_identifier", []).append(MSG_IDENTIFIER_TOO_LONG)
    elif patient_identifier:
        try:
            patient_identifier_validator(patient_identifier)
        except ValidationError as exc:
            errors.setdefault("patient_identifier", []).extend(exc.messages)

    override_reason = (override_reason or "").strip()
    chosen = next((o for o in result.options if o.id == chosen_option_id), None)
    if not chosen_option_id:
        errors.setdefault("chosen_option_id", []).append(MSG_CHOOSE_OPTION)
    elif chosen is None:
        errors.setdefault("chosen_option_id", []).append(MSG_UNKNOWN_OPTION)
    elif chosen.tier != "preferred" and not override_reason:
        errors.setdefault("override_reason", []).append(
            MSG_OVERRIDE_REASON.format(name=chosen.name, tier=chosen.tier.replace("_", " "))
        )

    if revision_of is not None and not consult_visible_to(user=author).filter(pk=revision_of.pk).exists():
        errors.setdefault("", []).append(MSG_REVISION_NOT_VISIBLE)
    if kb_stamp_seen is not None and kb_stamp_seen != services.knowledge_stamp():
        errors.setdefault("", []).append(MSG_KB_CHANGED)

    if errors:
        raise ConsultInvalid(errors)

    consult = Consult(
        team=team,
        author=author,
        patient_identifier=patient_identifier,
        workup=workup.model_dump(mode="json"),
        **result_stored(result=result.model_dump(mode="json")),
        kb_version=result.kb_version,
        chosen_option_id=chosen.id,
        chosen_option_tier=chosen.tier,
        override_reason=override_reason,
        notes=(notes or "").strip(),
        revision_of=revision_of,
    )
    consult.save()
    audit_record(consult=consult, user=author, action="created")
    if revision_of is not None:
        audit_record(consult=revision_of, user=author, action="revised")
    return consult


def knowledge_content_store(*, kb: KnowledgeBase) -> tuple[KnowledgeContent, bytes]:
    """The stored content of this knowledge base (the row, and the bytes it was stored from): written the
    first time a consult is saved under it, found by its SHA-256 afterwards."""
    content = kb.model_dump_json().encode()
    sha256 = storage.content_sha256(content)
    row, _ = KnowledgeContent.objects.only("sha256", "kb_version").get_or_create(
        sha256=sha256, defaults={"kb_version": kb.version, "content": content.decode()})
    return row, content


def result_stored(*, result: dict) -> dict:
    """The consult fields that store a result (as JSON): compressed against the knowledge base loaded now."""
    row, content = knowledge_content_store(kb=services.knowledge_get())
    return {"kb_content": row, "result_zstd": storage.result_compress(result, content=content)}


def consult_result(*, consult: Consult) -> ConsultResult:
    """The stored result as the object the templates render (read back, never recomputed)."""
    return ConsultResult.model_validate(consult.result)


def consult_knowledge(*, consult: Consult) -> KnowledgeBase | None:
    """The knowledge base the consult's result was computed with: the loaded one when it is the consult's
    version, else the stored knowledge content of that version (validated), so that what a saved consult's
    page and printout take from the knowledge base — the cut-offs named beside the assessment, the monitoring
    plan of the decision sheet — reads the same after the knowledge base changes. None when neither is of the
    consult's version (a consult converted by migration 0004 under a later one, or stored by an earlier
    schema): the page then names no cut-offs and the sheet says which knowledge base its plan comes from."""
    kb = services.knowledge_get()
    if kb.version == consult.kb_version:
        return kb
    return _stored_knowledge(consult.kb_content_id, consult.kb_version)


def consult_parameters(*, consult: Consult) -> Parameters | None:
    """The knowledge-base parameters the consult's result was computed with (see consult_knowledge)."""
    kb = consult_knowledge(consult=consult)
    return kb.parameters if kb is not None else None


@lru_cache(maxsize=8)
def _stored_knowledge(sha256: str, kb_version: str) -> KnowledgeBase | None:
    """Keyed by the content's own SHA-256 (stored content never changes)."""
    content = json.loads(knowledge_content_bytes(sha256))
    if content.get("meta", {}).get("version") != kb_version:
        return None  # a consult converted by migration 0004 under a later knowledge base
    try:
        return KnowledgeBase.model_validate(content)
    except SchemaError:  # stored by an earlier schema
        return None


@dataclass(frozen=True)
class ConsultFacts:
    """Who saved a consult, for which patient, and what was chosen and why: what its page and its
    printout head with. The display layer adds the rest (institution, times, age and sex)."""

    consult_id: int
    revision_of: int | None
    patient_identifier: str | None  # MRN or initials; never a name
    clinician: str  # the author's full name, or their username without one
    chosen_option_id: str
    chosen_option_name: str
    chosen_option_tier: str
    override_reason: str | None
    notes: str | None


def consult_facts(*, consult: Consult) -> ConsultFacts:
    """The facts of a saved consult, as stored (the chosen option's name from the stored result)."""
    chosen = next((o for o in consult.result.get("options", []) if o.get("id") == consult.chosen_option_id), None)
    author = consult.author
    return ConsultFacts(
        consult_id=consult.pk,
        revision_of=consult.revision_of_id,
        patient_identifier=consult.patient_identifier or None,
        clinician=author.get_full_name() or author.get_username(),
        chosen_option_id=consult.chosen_option_id,
        chosen_option_name=chosen.get("name") if chosen else consult.chosen_option_id,
        chosen_option_tier=consult.chosen_option_tier,
        override_reason=consult.override_reason or None,
        notes=consult.notes or None,
    )


def consult_superseded_by(*, consult: Consult, user) -> Consult | None:
    """The latest revision of this consult that the user may see, or None: a consult with a revision is
    superseded (its page and every printed page say so)."""
    return (consult_visible_to(user=user).filter(revision_of=consult).defer("workup", "result_zstd")
            .order_by("-created_at", "-id").first())


def consult_print(*, consult: Consult, user, as_html: bool = False) -> bytes:
    """The printable summary of a saved consult: PDF bytes, or with ``as_html`` the UTF-8 HTML it is
    made from (for checking in a browser). Each print is recorded as 'printed' for ``user``, once the
    document exists. The caller has checked that ``user`` may see the consult. A consult with a later
    revision prints 'SUPERSEDED by consult #N on <date>' on every page; the printed time is now.

    Both are rendered on every print, on the server that answers, from the stored consult: nothing is kept
    between requests, so several app servers (and servers with different knowledge bases) cannot serve a
    document another would not produce now, and no copy of a patient's printout is kept anywhere but in
    the clinician's hands. A per-process cache of PDFs was dropped for this (issue 14): a shared one (the
    database cache) would keep every printout, pickled, in a table outside the audit trail for a day, to
    save one render (bench/results.md, "PDF") on a second print of the same consult.
    """
    # Imported here: printing is the one service that needs the renderer, and saving or finding
    # consults should not load WeasyPrint.
    from . import pdf

    workup = services.workup_parse(data=consult.workup)
    facts = asdict(consult_facts(consult=consult))
    later = consult_superseded_by(consult=consult, user=user)
    if later is not None:
        facts.update(superseded_by=later.pk,
                     superseded_on=timezone.localtime(later.created_at).isoformat(timespec="minutes"))
    meta = pdf.consult_meta_build(workup=workup, generated_at=consult.created_at, **facts)
    html = pdf.render_consult_html(result=consult_result(consult=consult), workup=workup, meta=meta,
                                   knowledge=consult_knowledge(consult=consult))
    document = html.encode() if as_html else pdf.render_consult_pdf(html=html)
    audit_record(consult=consult, user=user, action="printed")
    return document


def consult_print_draft(*, user, workup: Workup, result: ConsultResult, patient_identifier: str = "",
                        chosen_option_id: str = "", override_reason: str = "", notes: str = "",
                        request: HttpRequest | None = None) -> bytes:
    """The decision sheet of a workup not saved yet (the workspace's "Print draft"): the same PDF as a saved
    consult's, watermarked "DRAFT — not saved, not for the chart" on every page, with the identifier, the
    clinician and the time. A chosen option that is not one of the result's is ignored (the sheet then leaves
    the choice to write in). Raises ConsultInvalid for a malformed identifier. Audited ("draft_printed", no
    consult; the detail names the identifier printed on it, so the trail answers who printed what for whom)."""
    from . import pdf

    patient_identifier = (patient_identifier or "").strip()
    if len(patient_identifier) > PATIENT_IDENTIFIER_MAX:
        raise ConsultInvalid({"patient_identifier": [MSG_IDENTIFIER_TOO_LONG]})
    if patient_identifier:
        try:
            patient_identifier_validator(patient_identifier)
        except ValidationError as exc:
            raise ConsultInvalid({"patient_identifier": list(exc.messages)}) from None
    chosen = next((o for o in result.options if o.id == chosen_option_id), None)
    meta = pdf.consult_meta_build(
        workup=workup, draft=True, patient_identifier=patient_identifier or None,
        clinician=user.get_full_name() or user.get_username(),
        chosen_option_id=chosen.id if chosen else None, chosen_option_name=chosen.name if chosen else None,
        chosen_option_tier=chosen.tier if chosen else None,
        override_reason=(override_reason or "").strip() or None, notes=(notes or "").strip() or None,
    )
    document = pdf.render_consult_pdf(html=pdf.render_consult_html(result=result, workup=workup, meta=meta))
    detail = (DRAFT_DETAIL_IDENTIFIED.format(identifier=patient_identifier) if patient_identifier
              else DRAFT_DETAIL_ANONYMOUS)
    audit_record(action="draft_printed", user=user, request=request, detail=detail)
    return document
