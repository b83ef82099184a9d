"""One formatting of the consult result, shared by the web page, the printable summary and the PDF.

Templates never compute or format clinical numbers themselves: they call these functions (through
the ``clinical`` template filters) or read ``consult_present``'s groups.
"""

from __future__ import annotations

from dataclasses import dataclass

from .domain.result import TIER_LABELS, TIERS, ConsultResult, DoseLine, EvidenceOut, OptionResult

TIER_DESCRIPTIONS = {
    "preferred": "The rules' first choice for this workup.",
    "alternative": "Reasonable instead of, or after, a preferred option.",
    "consider": "Limited evidence, investigational, restricted access, or appropriate only in some patients.",
    "not_recommended": "Considered and set aside — each with its reason.",
}
AVAILABILITY_LABELS = {"available": "Available", "restricted": "Restricted", "unavailable": "Unavailable"}
ACTION_LABELS = {
    "retest-genetics": "Re-test genetics at relapse",
    "allo-hct-referral": "Transplant referral",
    "palliative-care": "Palliative care",
    "urgent-cytoreduction": "Cytoreduction",
}


def number(value: float | None, places: int = 2) -> str:
    if value is None:
        return "—"
    text = f"{value:,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def unit_label(unit: str | None) -> str:
    return {"mg/m2": "mg/m²", "mcg/kg": "mcg/kg", "mg/kg": "mg/kg"}.get(unit or "", unit or "")


def dose_per_unit(line: DoseLine) -> str:
    """The regimen's dose as written: '75 mg/m²', '400 mg'."""
    if line.dose is None:
        return "per protocol"
    return f"{number(line.dose)} {unit_label(line.unit)}"


def dose_patient(line: DoseLine) -> str:
    """The patient's dose: rounded value first, exact value beside it when they differ."""
    if line.withheld:
        return "do not give"
    if line.rounded is None:
        return "per protocol"
    text = f"{number(line.rounded)} {line.computed_unit}"
    if line.computed is not None and abs(line.computed - line.rounded) > 1e-9:
        text += f" (exact {number(line.computed)} {line.computed_unit})"
    return text


def evidence_response(ev: EvidenceOut) -> str:
    """'CR/CRh 34%' / 'ORR 52% (24/46)' — the metric is always named, never merged with another."""
    if ev.metric == "none" or (ev.value_pct is None and ev.metric != "OS"):
        return "no response rate reported"
    if ev.metric == "OS" and ev.value_pct is None:
        return "survival data only"
    text = f"{ev.metric} {number(ev.value_pct, 1)}%"
    if ev.numerator is not None and ev.denominator is not None:
        text += f" ({ev.numerator}/{ev.denominator})"
    return text


def evidence_os(ev: EvidenceOut) -> str:
    if ev.median_os_months is None:
        return ev.median_os_detail or "not reported"
    text = f"{number(ev.median_os_months, 1)} months"
    if ev.median_os_detail:
        text += f" ({ev.median_os_detail})"
    return text


def evidence_n(ev: EvidenceOut) -> str:
    return f"n={ev.n}" if ev.n else "n not reported"


@dataclass(frozen=True)
class ConsultMeta:
    """Who, when and what was chosen: the header and footer facts of a consult (page and PDF)."""

    institution: str
    generated_at: str  # ISO 8601 date and time, local time zone
    patient_identifier: str | None = None  # MRN or initials; never a name
    age_years: int | None = None
    sex: str | None = None
    clinician: str | None = None  # the signing clinician's full name
    consult_id: int | None = None
    revision_of: int | None = None
    chosen_option_id: str | None = None
    chosen_option_name: str | None = None
    chosen_option_tier: str | None = None
    override_reason: str | None = None  # why a non-preferred option was chosen
    notes: str | None = None


@dataclass(frozen=True)
class TierGroup:
    tier: str
    label: str
    description: str
    options: list[OptionResult]


def consult_present(*, result: ConsultResult) -> dict:
    """Groups and lookups the page and the PDF both render."""
    groups = [
        TierGroup(tier=t, label=TIER_LABELS[t], description=TIER_DESCRIPTIONS[t],
                  options=[o for o in result.options if o.tier == t])
        for t in TIERS
    ]
    reference_numbers = {r.id: r.number for r in result.references}
    return {
        "result": result,
        "tier_groups": groups,
        "reference_numbers": reference_numbers,
        "references": result.references,
        "actions": result.actions,
        "assessment": result.assessment,
        "kb_version": result.kb_version,
    }
