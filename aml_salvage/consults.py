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
from django.db import transaction
from django.db.models import Q, QuerySet
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
    """The user's visible consults, newest first, optionally filtered by patient identifier."""
    consults = consult_visible_to(user=user)
    query = (query or "").strip()
    if query:
        consults = consults.filter(patient_identifier__icontains=query)
    return consults.order_by("-created_at", "-id")


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


def consult_parameters(*, consult: Consult) -> Parameters | None:
    """The knowledge-base parameters the consult's result was computed with (the cut-offs its page names
    beside the assessment): the loaded knowledge base's when it is the consult's version, else those of the
    stored knowledge content of that version, so a saved consult reads the same after the knowledge base
    changes. None when neither is of the consult's version (the cut-offs are then not named)."""
    kb = services.knowledge_get()
    if kb.version == consult.kb_version:
        return kb.parameters
    return _stored_parameters(consult.kb_content_id, consult.kb_version)


@lru_cache(maxsize=8)
def _stored_parameters(sha256: str, kb_version: str) -> Parameters | None:
    content = json.loads(knowledge_content_bytes(sha256))
    if content.get("meta", {}).get("version") != kb_version:
        return None  # a consult converted by migration 0004 under a later knowledge base
    try:
        return Parameters.model_validate(content["parameters"])
    except (KeyError, SchemaError):  # stored by an earlier schema: the cut-offs are not named
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
    save one render (about 150 ms warm, as `make bench` measures it) on a second print of the same consult.
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
                                   parameters=consult_parameters(consult=consult))
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
