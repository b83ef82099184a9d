"""The live panel's option cards, sent once per browser.

The live panel is re-rendered at each pause in typing, and its 28 option cards are most of it; from one
keystroke to the next most cards are unchanged. So each card's body (the card of a not-recommended option: the
body of its entry in the set-aside list) carries the key of what it shows: a digest of its content — the option
without the fields no card body shows (UNSEEN_ON_A_CARD: doses and warnings, which a preferred option shows
under its body, rendered afresh, and its rank), the numbers of the references it may cite, whether it is the
chosen option and whether it is dosed — and of the templates and code that render it (RENDER_VERSION). The
body is rendered from that content alone (``card_option``), so it cannot show what its key leaves out.

The result's frame carries a key too (``frame_key``: the tiers, the knowledge base), and so does each tier's
section (``layout_key``: which options it holds, in which order). When the browser holds the frame, the update
sends only what may have changed, each part out of band (templates/jinja2/live/pieces.html): the head, the
tier legend, the preferred tier; each other tier whose layout the browser does not hold, whole (its unchanged
bodies held); in a tier whose layout it holds, the bodies that changed (``live_card(..., oob=True)``); the
references if they changed. The page keeps everything else where it is, without moving it.

With each live update the browser sends the keys it holds (HELD_FIELD; static/js/workspace.js leaves out a body
whose detail is open or was loaded, which shows or is loading the last workup's doses, and what contains it
but the frame). In a tier or a panel sent whole, a body whose key it holds is sent as an empty element marked
hx-preserve, and htmx keeps the browser's own in its place; a body it does not hold is sent whole. Should a
held body be missing after all, the script asks again without keys.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from django.conf import settings

from .domain.result import OptionResult

HELD_FIELD = "panel_cards"  # the keys the browser holds, sent with a live update
# What no card body shows: its doses and warnings (a preferred option shows them under its body, rendered
# afresh), and its rank (the card's place in its tier shows that): a card that only moved keeps its key.
UNSEEN_ON_A_CARD = {"reasons": [], "warnings": [], "sources": [], "doses": [], "dosing_basis": None,
                    "dosing_note": None, "warning_details": [], "rank": 0}
_KEY = re.compile(r"[0-9a-f]{16}")
_MAX_HELD = 64  # more cards than any result has


def _render_version() -> str:
    """A digest of what renders a card body besides its content: the Jinja2 templates and the presentation
    code. A deployment that changes either changes every key, so no browser keeps a body rendered before."""
    root = Path(settings.BASE_DIR)
    sources = sorted([*(root / "templates" / "jinja2").glob("*/*.html"),
                      *(root / "aml_salvage" / "presentation").glob("*.py"),
                      root / "aml_salvage" / "jinja_env.py", Path(__file__)])
    digest = hashlib.blake2b(digest_size=8)
    for path in sources:
        digest.update(path.read_bytes())
    return digest.hexdigest()


RENDER_VERSION = _render_version()


def _card_sources(option: OptionResult) -> list[str]:
    """Every reference a card's body may cite: its reasons', evidence's and availability's."""
    ids = [s for rule in option.rules for s in rule.sources]
    ids += [ev.reference for ev in option.evidence]
    ids += option.availability_detail.sources
    return ids


def card_content(option: OptionResult, numbers: dict, chosen_option_id: str | None) -> tuple:
    """Everything a card's body shows: (the option as JSON without UNSEEN_ON_A_CARD, the (reference,
    number) pairs it may cite, chosen, dosed)."""
    cited = tuple((ref, numbers[ref]) for ref in dict.fromkeys(_card_sources(option)) if ref in numbers)
    shown = option.model_dump_json(exclude=set(UNSEEN_ON_A_CARD))
    return shown, cited, option.id == chosen_option_id, bool(option.doses)


def card_option(option: OptionResult) -> OptionResult:
    """The option as its card body may read it: the fields its key leaves out emptied."""
    return option.model_copy(update=UNSEEN_ON_A_CARD)


def card_key(content: tuple) -> str:
    """The key of a card body: a digest of its content (card_content) and of RENDER_VERSION."""
    shown, *rest = content
    digest = hashlib.blake2b(RENDER_VERSION.encode(), digest_size=8)
    digest.update(shown.encode())
    digest.update(repr(rest).encode())
    return digest.hexdigest()


def tier_keys(group, numbers: dict, chosen_option_id: str | None) -> list[str]:
    """The keys of a tier's card bodies, in order."""
    return [card_key(card_content(card.option, numbers, chosen_option_id)) for card in group.options]


def frame_key(view, chosen_option_id: str | None) -> str:
    """The key of the live panel's frame (partials/result.html's ``.result``): what it shows besides its parts
    (partials/result_parts.html: the head, the legend, each tier, the references) — the tiers in their order,
    the chosen option, the knowledge base version and the disclaimer — and RENDER_VERSION."""
    digest = repr((RENDER_VERSION, view.result.kb_version, view.result.disclaimer, chosen_option_id,
                   [group.tier for group in view.tier_groups]))
    return hashlib.blake2b(digest.encode(), digest_size=8).hexdigest()


def layout_key(group, chosen_option_id: str | None) -> str:
    """The key of a tier's section on the live panel besides its card bodies: its label, description and
    count, and which options it holds, in which order (each card's place), the chosen option (a card's class),
    and RENDER_VERSION. A page that holds it gets only the bodies of that tier's cards that changed."""
    digest = repr((RENDER_VERSION, group.tier, group.label, group.description, chosen_option_id,
                   [card.option.id for card in group.options]))
    return hashlib.blake2b(digest.encode(), digest_size=8).hexdigest()


def references_key(references: list) -> str:
    """The key of the live panel's references (presentation's live_panel_references): a digest of every field
    of each, in order (more than the list shows: its key changes whenever what it shows does), and of
    RENDER_VERSION."""
    digest = hashlib.blake2b(RENDER_VERSION.encode(), digest_size=8)
    for reference in references:
        digest.update(reference.model_dump_json().encode())
    return digest.hexdigest()


def panel_card_keys(view, chosen_option_id: str | None = None) -> list[str]:
    """The keys a live panel of this consult view carries (what a browser showing it holds, its details closed):
    its frame's; for each tier but the preferred its layout's; every card body's; its references'."""
    keys = [frame_key(view, chosen_option_id)]
    for group in view.tier_groups:
        if group.tier != "preferred":
            keys.append(layout_key(group, chosen_option_id))
        keys += tier_keys(group, view.reference_numbers, chosen_option_id)
    return [*keys, references_key(view.live_panel_references())]


def cards_held(value: str) -> frozenset[str]:
    """The keys a live update says the browser holds (HELD_FIELD): anything that is not a key is ignored."""
    return frozenset(key for key in value.split()[:_MAX_HELD] if _KEY.fullmatch(key))
