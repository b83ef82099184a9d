"""Template filters over the presentation package: words and numbers for values the templates show. No
formatting logic of their own, no state: a filter's output depends on its arguments only. And the live
panel's option cards, kept by content and keyed by it (``live_card``)."""

import functools
import hashlib
import json
import re
from collections import namedtuple
from pathlib import Path

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from aml_salvage import presentation as p
from aml_salvage.domain.result import OptionResult
from aml_salvage.presentation import labels
from aml_salvage.presentation.glance import Glance

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


# --- The live panel's option cards, rendered once per content, sent once per browser ------------------------
#
# The live panel re-renders at each pause in typing, and its 28 option cards are most of it; from one
# keystroke to the next most cards are unchanged. So a card's body (the card of a not-recommended option: its
# entry in the set-aside list) is rendered by a function whose arguments are everything it shows — the option
# as JSON, the reference numbers of the sources it may cite, whether it is the chosen option and whether it is
# dosed — and lru_cache keeps the output by those arguments. The template receives nothing but those
# arguments, so the cache cannot serve a card that differs from what the template would render now. No body
# shows doses or warnings (partials/result.html renders a preferred option's under its body, afresh at each
# update): they are left out of its content, with the fields no card shows, so that a new weight makes no body
# new and the cache holds no dose. Per process, bounded.
#
# The same arguments, hashed with the templates and code that render them (RENDER_VERSION), are the body's
# key (``card_key``): its element is <div class="card-body" id="card-KEY" data-card-key="KEY">. With each live
# update the browser sends the keys of the bodies it shows (static/js/workspace.js: panel_cards; not those
# whose detail it has loaded, which shows this workup's doses); a body whose key it holds is sent as an empty
# element marked hx-preserve, and htmx keeps the browser's own in its place. One the browser does not hold
# is sent whole. Should a held body be missing after all, the script asks again without keys.

LIVE_CARD_TEMPLATES = {"not_recommended": "partials/option_set_aside.html"}
LIVE_CARD_TEMPLATE = "partials/option_live.html"  # every other tier's
UNSEEN_ON_A_CARD = {"reasons": [], "warnings": [], "sources": [], "doses": [], "dosing_basis": None,
                    "dosing_note": None, "warning_details": []}
HELD_FIELD = "panel_cards"  # the keys the browser holds, sent with a live update
_KEY = re.compile(r"[0-9a-f]{16}")
_MAX_HELD = 64  # more cards than any result has


def _render_version() -> str:
    """A digest of what renders a card body besides its arguments: the card templates and the presentation
    code. A deployment that changes either changes every key, so no browser keeps a body rendered before."""
    root = Path(settings.BASE_DIR)
    sources = sorted([*(root / "templates" / "partials").glob("option_*.html"),
                      *(root / "templates" / "components").glob("*.html"),
                      *(root / "aml_salvage" / "presentation").glob("*.py"), Path(__file__)])
    digest = hashlib.blake2b(digest_size=8)
    for path in sources:
        digest.update(path.read_bytes())
    return digest.hexdigest()


RENDER_VERSION = _render_version()


@functools.lru_cache(maxsize=1024)
def _live_card(option_json: str, numbers: tuple[tuple[str, int], ...], *, chosen: bool, dosed: bool) -> str:
    """option_json: the option without the fields no card body shows (UNSEEN_ON_A_CARD)."""
    option = OptionResult.model_validate({**json.loads(option_json), **UNSEEN_ON_A_CARD})
    return render_to_string(LIVE_CARD_TEMPLATES.get(option.tier, LIVE_CARD_TEMPLATE), {
        "option": option,
        "dosed": dosed,
        "reference_numbers": dict(numbers),
        "chosen_option_id": option.id if chosen else None,
    })


def _card_sources(option: OptionResult) -> list[str]:
    """Every reference a card's body may cite: its reasons', evidence's and availability's."""
    ids = [s for rule in option.rules for s in rule.sources]
    ids += [ev.reference for ev in option.evidence]
    ids += option.availability_detail.sources
    return ids


def _card_content(option: OptionResult, numbers: dict, chosen_option_id: str | None) -> tuple:
    """The arguments of _live_card: everything a card's body shows."""
    cited = tuple((ref, numbers[ref]) for ref in dict.fromkeys(_card_sources(option)) if ref in numbers)
    shown = option.model_dump_json(exclude=set(UNSEEN_ON_A_CARD))
    return shown, cited, option.id == chosen_option_id, bool(option.doses)


def card_key(content: tuple) -> str:
    """The key of a card body: a digest of its content (_card_content) and of RENDER_VERSION."""
    return hashlib.blake2b(repr((RENDER_VERSION, content)).encode(), digest_size=8).hexdigest()


def panel_card_keys(view, chosen_option_id: str | None = None) -> list[str]:
    """The keys of the card bodies a live panel of this consult view shows (what a browser showing it holds)."""
    return [card_key(_card_content(card.option, view.reference_numbers, chosen_option_id)) for card in view.options]


def cards_held(value: str) -> frozenset[str]:
    """The keys a live update says the browser holds (HELD_FIELD): anything that is not a key is ignored."""
    return frozenset(key for key in value.split()[:_MAX_HELD] if _KEY.fullmatch(key))


@register.simple_tag(takes_context=True)
def live_card(context, option: OptionResult) -> str:
    """The body of this option's card on the live panel (``partials/option_live.html``), or of its set-aside
    entry (``partials/option_set_aside.html``), in its keyed element: rendered once per content, and sent
    empty, to be kept by the browser, when the browser holds it (context ``cards_held``; see above)."""
    content = _card_content(option, context.get("reference_numbers") or {}, context.get("chosen_option_id"))
    key = card_key(content)
    if key in (context.get("cards_held") or ()):
        return format_html('<div class="card-body" id="card-{}" data-card-key="{}" hx-preserve="true" '
                           'data-held></div>', key, key)
    shown, cited, chosen, dosed = content
    return format_html('<div class="card-body" id="card-{}" data-card-key="{}">{}</div>', key, key,
                       mark_safe(_live_card(shown, cited, chosen=chosen, dosed=dosed)))  # rendered, autoescaped


# --- Every option at a glance, rendered once per content ------------------------------------------------------
#
# The at-a-glance table (28 rows and a chart) is the largest part of the result panel after the cards, and a
# new weight, creatinine or count leaves it unchanged: it shows each option's tier, first reason and evidence
# figures, never a dose. So, as for the cards, the table is rendered by a function whose arguments are all the
# table shows (GlanceRow.shown(), the metrics, the chart) and lru_cache keeps the output by those arguments.

GLANCE_TEMPLATE = "components/at_a_glance.html"
_GlanceShown = namedtuple("_GlanceShown", "option_id name tier tier_label availability reason evidence_setting "
                                          "study response n median_os uncertain chosen")  # GlanceRow.shown()


@functools.lru_cache(maxsize=256)
def _glance_table(rows: tuple, metrics: tuple, svg: str, charted: int) -> str:
    glance = Glance(rows=[_GlanceShown(*row) for row in rows], metrics=list(metrics), svg=svg, charted=charted)
    return render_to_string(GLANCE_TEMPLATE, {"glance": glance, "print": False})


@register.simple_tag
def glance_table(glance: Glance) -> str:
    """``components/at_a_glance.html`` for the screen (the PDF includes it with print=True), kept by content."""
    html = _glance_table(tuple(row.shown() for row in glance.rows), tuple(glance.metrics), glance.svg,
                         glance.charted)
    return mark_safe(html)  # rendered by the template engine, autoescaped


# --- The live panel's reference list, rendered once per content -----------------------------------------------
#
# The same few dozen references, renumbered only when the options' citations change: rendered by a function of
# what the list shows (each reference's number, short and full citation, DOI, PMID; live or not), kept by it.

REFERENCES_TEMPLATE = "partials/references.html"
_ReferenceShown = namedtuple("_ReferenceShown", "number short citation doi pmid")


@functools.lru_cache(maxsize=256)
def _reference_list(references: tuple, live: bool) -> str:
    return render_to_string(REFERENCES_TEMPLATE, {"references": [_ReferenceShown(*ref) for ref in references],
                                                  "live": live})


@register.simple_tag(takes_context=True)
def reference_list(context, references) -> str:
    """``partials/references.html`` for these references, kept by content (see above)."""
    shown = tuple((ref.number, ref.short, ref.citation, ref.doi, ref.pmid) for ref in references)
    return mark_safe(_reference_list(shown, bool(context.get("live"))))  # rendered by the template engine
