"""Template filters over the one presentation module (no formatting logic of their own)."""

from django import template

from aml_salvage import presentation as p
from aml_salvage.domain.result import TIER_LABELS

register = template.Library()

register.filter("number", p.number)
register.filter("unit_label", p.unit_label)
register.filter("dose_per_unit", p.dose_per_unit)
register.filter("dose_patient", p.dose_patient)
register.filter("evidence_response", p.evidence_response)
register.filter("evidence_os", p.evidence_os)
register.filter("evidence_n", p.evidence_n)


@register.filter
def tier_label(tier: str) -> str:
    return TIER_LABELS.get(tier, tier)


@register.filter
def availability_label(status: str) -> str:
    return p.AVAILABILITY_LABELS.get(status, status)


@register.filter
def action_label(action_id: str) -> str:
    return p.ACTION_LABELS.get(action_id, action_id)


@register.filter
def ref_numbers(source_ids, numbers) -> str:
    """'[3, 7]' for a list of reference ids, using the result's numbering."""
    found = sorted({numbers[s] for s in source_ids if s in numbers})
    return "[" + ", ".join(str(n) for n in found) + "]" if found else ""


@register.filter
def ref_numbers_one(source_id, numbers) -> str:
    return f"[{numbers[source_id]}]" if numbers and source_id in numbers else ""
