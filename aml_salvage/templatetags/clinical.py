"""Template filters over the presentation package: words and numbers for values the templates show. No
formatting logic of their own, no state: a filter's output depends on its arguments only. The same filters
serve the Jinja2 components (FILTERS; aml_salvage/jinja_env.py), which Django pages include with
``{% component %}``."""

from django import template
from django.template import engines
from django.template.defaultfilters import capfirst, title
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from aml_salvage import presentation as p
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
def tier_icon(tier: str) -> str:
    """The tier's shape (labels.TIER_ICON), hidden from screen readers: the text label beside it says it."""
    return format_html('<span class="tier-icon" aria-hidden="true">{}</span>', labels.TIER_ICON.get(tier, "✕"))


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


# Every filter above, by name: the Jinja2 environment's (aml_salvage/jinja_env.py), with Django's own two the
# components use, so that a value reads the same on a Django page and in a component.
FILTERS = {**register.filters, "capfirst": capfirst, "title": title}


@register.simple_tag(takes_context=True)
def component(context, template_name: str, **values) -> str:
    """A clinical component (templates/jinja2/, rendered by Jinja2: aml_salvage/jinja_env.py) inside a Django
    page, with the page's context and these values: ``{% component "components/dose_table.html" doses=d %}``."""
    rendered = engines["jinja2"].get_template(template_name).render({**context.flatten(), **values})
    return mark_safe(rendered)  # rendered by Jinja2 with autoescape
