"""Template filters over the one presentation module (no formatting logic of their own), and the tags
that render the result's options and parts (``option_cards``, ``live_part``, ``reference_list``: once per
content on the live panel)."""

from django import template
from django.utils.safestring import mark_safe

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
register.filter("dose_table_display", p.dose_table_display)
register.filter("dose_not_assessed", p.dose_not_assessed)
register.filter("crcl_text", p.crcl_text)


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
    if isinstance(numbers, p.DeferredNumbers):
        return numbers.mark(source_ids)
    return p.ref_numbers_text(source_ids, numbers)


@register.filter
def ref_numbers_one(source_id, numbers) -> str:
    if isinstance(numbers, p.DeferredNumbers):
        return numbers.mark((source_id,))
    return p.ref_numbers_text((source_id,), numbers) if numbers else ""


OPTION_TEMPLATE = "partials/option.html"
DOSE_TABLE_TEMPLATE = "components/dose_table.html"
REFERENCES_TEMPLATE = "partials/references.html"


def _render(context, name: str, **values) -> str:
    """What ``{% include name with values %}`` renders."""
    with context.push(**values):
        return context.template.engine.get_template(name).render(context)


@register.simple_tag(takes_context=True)
def option_cards(context, options):
    """The options' cards, one after another, exactly as ``{% for option in options %}{% include
    "partials/option.html" %}{% endfor %}`` renders them.

    On the live panel (``live_cache`` in the context: ``presentation.LiveCache``) each card is rendered once
    per content — reference numbers and the patient's dose table left as marks — and each result fills in
    its own numbers and dose table (the table itself kept by content). Elsewhere, a plain include.
    """
    cache: p.LiveCache | None = context.get("live_cache")
    if cache is None:
        return mark_safe("".join(_render(context, OPTION_TEMPLATE, option=option) for option in options))
    shared = p.card_context_key(context)
    numbers = context.get("reference_numbers") or {}
    return mark_safe("".join(_kept_card(context, cache, shared, numbers, option) for option in options))


def _kept_card(context, cache: p.LiveCache, shared: tuple, numbers, option) -> str:
    key = p.card_key(option, shared)
    card = cache.cards.get(key)
    if card is None:
        card = cache.cards.put(key, p.Card(_render(context, OPTION_TEMPLATE, option=option,
                                                   reference_numbers=p.DEFERRED_NUMBERS, dose_slot=p.DOSE_SLOT)))
    if isinstance(numbers, p.CitedNumbers):
        numbers.cite(card.ref_ids)  # a card from the cache calls no filter: its citations are recorded here
    parts = card.filled(numbers)
    if len(parts) == 1:
        return parts[0]
    dose_key = p.dose_table_key(option)
    table = cache.dose_tables.get(dose_key)
    if table is None:
        table = cache.dose_tables.put(dose_key, _render(context, DOSE_TABLE_TEMPLATE, option=option))
    return table.join(parts)


@register.simple_tag(takes_context=True)
def live_part(context, name, **values):
    """``{% include name with values %}``; on the live panel, rendered once per content and kept, as
    ``option_cards`` keeps cards. The part must read nothing but ``values``, the knowledge base version and
    the reference numbering (left as marks in the kept markup and filled in for each result)."""
    cache: p.LiveCache | None = context.get("live_cache")
    if cache is None:
        return _render(context, name, **values)
    key = (name, context.get("kb_version"), *((k, p.content_key(v)) for k, v in sorted(values.items())))
    part = cache.parts.get(key)
    if part is None:
        part = cache.parts.put(key, p.Card(_render(context, name, reference_numbers=p.DEFERRED_NUMBERS, **values)))
    numbers = context.get("reference_numbers") or {}
    if isinstance(numbers, p.CitedNumbers):
        numbers.cite(part.ref_ids)
    return mark_safe("".join(part.filled(numbers)))


@register.simple_tag(takes_context=True)
def reference_list(context, cited_only=False):
    """The result's numbered references (``partials/references.html``), kept by content on the live panel.
    cited_only: only those cited above it on the page (the live panel, an option's detail)."""
    if cited_only:
        cited = p.cited_references(context.get("references") or (), context.get("reference_numbers"))
        with context.push(references=cited):
            return _reference_list(context)
    return _reference_list(context)


def _reference_list(context) -> str:
    cache: p.LiveCache | None = context.get("live_cache")
    if cache is None:
        return _render(context, REFERENCES_TEMPLATE)
    key = p.references_key(context)
    html = cache.references.get(key)
    if html is None:
        html = cache.references.put(key, _render(context, REFERENCES_TEMPLATE))
    return mark_safe(html)
