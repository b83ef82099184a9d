"""The Jinja2 environment of the consult's templates (templates/jinja2/: the result panel, option cards, dose
tables, warnings, assessment, at-a-glance comparison, references): the clinical components the live panel,
the saved consult's page, the option details and the PDF share. Django pages include them with the
``component`` tag (templatetags/clinical.py).

Jinja2 renders them several times faster than Django's engine, which the live panel needs: it is rendered at
each pause in typing (bench/results.md). Same filters as the Django templates (clinical.FILTERS), and the few
globals the components use: url(), static(), now(), live_card(), live_layout(), references_key().
"""

from __future__ import annotations

import jinja2
from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse
from django.utils import dateformat, timezone
from markupsafe import Markup, escape

from . import live_cards
from .templatetags.clinical import FILTERS

LIVE_CARD_TEMPLATES = {"not_recommended": "partials/option_set_aside.html"}
LIVE_CARD_TEMPLATE = "partials/option_live.html"  # every other tier's


def url(name: str, *args) -> str:
    return reverse(name, args=args)


def now(format_string: str) -> str:
    """As Django's {% now %}: the current time in the current time zone, in Django's date format."""
    return dateformat.format(timezone.localtime() if settings.USE_TZ else timezone.now(), format_string)


@jinja2.pass_context
def live_card(context, option, oob: bool = False) -> Markup:
    """The body of this option's card on the live panel (``partials/option_live.html``), or of its set-aside
    entry (``partials/option_set_aside.html``), in the element that carries its key: rendered from its content
    alone, or sent empty, for the browser to keep its own, when the browser holds it (``cards_held``; see
    live_cards.py). ``oob``: sent out of band, in place of the body the card shows (live/pieces.html), or not at
    all when the browser holds it."""
    content = live_cards.card_content(option, context.get("reference_numbers") or {}, context.get("chosen_option_id"))
    key = live_cards.card_key(content)
    # The key is a hex digest and the body Jinja2's autoescaped output: both safe as they are.
    held = key in (context.get("cards_held") or ())
    if held and oob:
        return Markup("")
    if held:
        return Markup(f'<div class="card-body" id="card-{key}" data-card-key="{key}" hx-preserve="true" '
                      'data-held></div>')
    _shown, cited, chosen, dosed = content
    template = context.environment.get_template(LIVE_CARD_TEMPLATES.get(option.tier, LIVE_CARD_TEMPLATE))
    body = template.render({"option": live_cards.card_option(option), "dosed": dosed,
                            "reference_numbers": dict(cited), "chosen_option_id": option.id if chosen else None})
    # The option id is a slug of the knowledge base (domain/knowledge.py), escaped all the same.
    swap = f' hx-swap-oob="outerHTML:#option-{escape(option.id)} > .card-body"' if oob else ""
    return Markup(f'<div class="card-body" id="card-{key}" data-card-key="{key}"{swap}>{body}</div>')


@jinja2.pass_context
def live_layout(context, group) -> str:
    """The key of a tier's layout on the live panel (live_cards.layout_key), for the chosen option in context."""
    return live_cards.layout_key(group, context.get("chosen_option_id"))


def environment(**options) -> jinja2.Environment:
    # A missing value renders blank, as in Django's engine (Django's backend would pass Undefined, which fails
    # on a missing value's attribute).
    env = jinja2.Environment(**{**options, "undefined": jinja2.ChainableUndefined})
    env.filters.update(FILTERS)
    env.globals.update(url=url, static=static, now=now, live_card=live_card, live_layout=live_layout,
                       references_key=live_cards.references_key)
    return env
