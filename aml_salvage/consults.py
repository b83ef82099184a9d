"""Saving and finding consults: the service views call (keyword-only, <noun>_<verb>).

Who sees what: a consult is visible to its author and to the members of its care team (a Django group),
and to no one else. A clinician without a team cannot save. Error messages are module constants that
the tests reuse.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone

from .domain.result import ConsultResult
from .domain.workup import Workup
from .models import PATIENT_IDENTIFIER_MAX, Consult, patient_identifier_validator
from .presentation import ConsultMeta

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
) -> Consult:
    """Store an immutable snapshot of the workup, the full result and the knowledge-base version.

    Raises ConsultInvalid naming each field at fault: no team, no or unknown chosen option, a
    non-preferred choice without an override reason, a malformed identifier.
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
        errors.setdefault("", []).append("the consult being revised is not visible to you")

    if errors:
        raise ConsultInvalid(errors)

    consult = Consult(
        team=team,
        author=author,
        patient_identifier=patient_identifier,
        workup=workup.model_dump(mode="json"),
        result=result.model_dump(mode="json"),
        kb_version=result.kb_version,
        chosen_option_id=chosen.id,
        chosen_option_tier=chosen.tier,
        override_reason=override_reason,
        notes=(notes or "").strip(),
        revision_of=revision_of,
    )
    consult.save()
    return consult


def consult_result(*, consult: Consult) -> ConsultResult:
    """The stored result as the object the templates render (read back, never recomputed)."""
    return ConsultResult.model_validate(consult.result)


def consult_meta(*, consult: Consult) -> ConsultMeta:
    """Header and footer facts of a saved consult, for its page and its PDF."""
    result = consult.result
    chosen = next((o for o in result.get("options", []) if o.get("id") == consult.chosen_option_id), None)
    patient = consult.workup.get("patient", {})
    author = consult.author
    return ConsultMeta(
        institution=settings.AML_SALVAGE_INSTITUTION,
        generated_at=timezone.localtime(consult.created_at).isoformat(timespec="minutes"),
        patient_identifier=consult.patient_identifier or None,
        age_years=patient.get("age_years"),
        sex=patient.get("sex"),
        clinician=author.get_full_name() or author.get_username(),
        consult_id=consult.pk,
        revision_of=consult.revision_of_id,
        chosen_option_id=consult.chosen_option_id,
        chosen_option_name=chosen.get("name") if chosen else consult.chosen_option_id,
        chosen_option_tier=consult.chosen_option_tier,
        override_reason=consult.override_reason or None,
        notes=consult.notes or None,
    )

