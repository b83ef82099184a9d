"""Template filters over the presentation package: words and numbers for values the templates show. No
formatting logic of their own, no state: a filter's output depends on its arguments only. And the live
panel's option cards, kept by content (``live_card``)."""

import functools

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from aml_salvage import presentation as p
from aml_salvage.domain.result import OptionResult
from aml_salvage.presentation import labels

register = template.Library()

register.filter("number", p.number)
register.filter("dose_per_unit", p.dose_per_unit)  # also a regimen schedule's step (the library)
register.filter("evidence_response", p.evidence_response)
register.filter("evidence_os", p.evidence_os)
register.filter("evidence_n", p.evidence_n)
register.filter("crcl_text", p.crcl_text)


@register.filter
def tier_label(tier: str) -> str:
    return labels.TIER.get(tier, tier)


@register.filter
def availability_label(status: str) -> str:
    return labels.AVAILABILITY.get(status, status)


@register.filter
def action_label(action_id: str) -> str:
    return labels.ACTION.get(action_id, action_id)


@register.filter
def severity_label(severity: str) -> str:
    return labels.SEVERITY.get(severity, severity)


@register.filter
def ref_numbers(source_ids, numbers) -> str:
    """'[3, 7]' for a list of reference ids, in the result's numbering."""
    return p.ref_numbers_text(source_ids, numbers or {})


@register.filter
def ref_numbers_one(source_id, numbers) -> str:
    return p.ref_numbers_text((source_id,), numbers or {})


# --- The live panel's option cards, rendered once per content ------------------------------------------------
#
# The live panel re-renders at each pause in typing, and its 28 option cards are most of its template time
# (bench/results.md); from one keystroke to the next most cards are unchanged. So a card is rendered by a
# function whose arguments are everything the card shows — the option as JSON, the result's reference
# numbering (stable while a clinician types), whether it is the chosen option and whether it is dosed —
# and lru_cache keeps the output by those arguments. The template receives nothing but those
# arguments, so the cache cannot serve a card that differs from what the template would render now. A card
# other than a preferred option's shows no doses and no warnings (they load with its detail): they are left
# out of its content, so that a new weight does not make every card new. Per process, bounded; it holds
# knowledge-base content and doses, never a workup or an identifier.

LIVE_CARD_TEMPLATE = "partials/option_live.html"


@functools.lru_cache(maxsize=1024)
def _live_card(option_json: str, numbers: tuple[tuple[str, int], ...], *, chosen: bool, dosed: bool) -> str:
    option = OptionResult.model_validate_json(option_json)
    return render_to_string(LIVE_CARD_TEMPLATE, {
        "option": option,
        "doses": p.dose_table(option),
        "dosed": dosed,
        "reference_numbers": dict(numbers),
        "chosen_option_id": option.id if chosen else None,
    })


@register.simple_tag(takes_context=True)
def live_card(context, option: OptionResult) -> str:
    """``partials/option_live.html`` for this option, kept by content (see above)."""
    shown = option if option.tier == "preferred" else option.model_copy(
        update={"doses": [], "dosing_basis": None, "dosing_note": None, "warning_details": []})
    option_json = shown.model_dump_json()
    numbers = tuple((context.get("reference_numbers") or {}).items())  # the result's whole numbering
    return mark_safe(_live_card(option_json, numbers, chosen=option.id == context.get("chosen_option_id"),
                                dosed=bool(option.doses)))
