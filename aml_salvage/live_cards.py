"""The live panel's option cards, sent once per browser.

The live panel is re-rendered at each pause in typing, and its 28 option cards are most of it; from one
keystroke to the next most cards are unchanged. So each card's body (the card of a not-recommended option: the
body of its entry in the set-aside list) carries the key of what it shows: a digest of its content — the option
without the fields no card body shows (UNSEEN_ON_A_CARD: doses and warnings, which a preferred option shows
under its body, rendered afresh, and its rank), the numbers of the references it may cite, whether it is the
chosen option and whether it is dosed — and of the templates and code that render it (RENDER_VERSION). The
body is rendered from that content alone (``card_option``), so it cannot show what its key leaves out.

The cards of a tier other than the preferred one (which carries doses) are also held together, under a key
of their tier and their cards' keys (``tier_keys``): a tier none of whose cards changed comes back as one empty
element, and the page keeps it whole.

The result's frame carries a key too (``frame_key``): which options are in which tier, in which order, and what
else the panel shows around the cards that a live update does not send on its own. When the browser holds it,
the update sends only what may have changed, each part out of band (templates/jinja2/live/pieces.html): the
head, the preferred tier, the bodies of the other cards that changed (``live_card(..., oob=True)``) and the
references if they changed; the page keeps everything else where it is, without moving it.

With each live update the browser sends the keys of the bodies it shows (HELD_FIELD; static/js/workspace.js
leaves out a body whose detail is open or was loaded: that shows, or is loading, the last workup's doses). A
body whose key it holds is sent as an empty element marked hx-preserve, and htmx keeps the browser's own in
its place; a body it does not hold is sent whole. Should a held body be missing after all, the script asks
again without keys.
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


def tier_cards(group, numbers: dict, chosen_option_id: str | None) -> tuple[list[tuple], str | None]:
    """The content (card_content) of each of a tier's card bodies, and the key of its cards held together (None
    for the preferred tier, whose cards carry their doses): a digest of the tier, the chosen option and its
    cards' keys, so it changes when any card, or their order, does."""
    contents = [card_content(card.option, numbers, chosen_option_id) for card in group.options]
    if group.tier == "preferred" or not contents:
        return contents, None
    digest = repr((RENDER_VERSION, group.tier, chosen_option_id, [card_key(c) for c in contents])).encode()
    return contents, hashlib.blake2b(digest, digest_size=8).hexdigest()


def tier_keys(group, numbers: dict, chosen_option_id: str | None) -> tuple[list[str], str | None]:
    """The keys of a tier's card bodies, and the key of its cards held together (tier_cards)."""
    contents, together = tier_cards(group, numbers, chosen_option_id)
    return [card_key(c) for c in contents], together


def frame_key(view, chosen_option_id: str | None) -> str:
    """The key of the live panel's frame (partials/result.html's ``.result``): what it shows besides its parts
    (partials/result_parts.html) and the card bodies — each tier's label, description and options in order (the
    tier legend, the headings and counts, each card's place and tier), the chosen option, the knowledge base
    version and the disclaimer — and RENDER_VERSION."""
    layout = [(group.tier, group.label, group.description, [card.option.id for card in group.options])
              for group in view.tier_groups]
    digest = repr((RENDER_VERSION, view.result.kb_version, view.result.disclaimer, chosen_option_id, layout))
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
    its frame's, every card body's, those of the tiers whose cards are held together (all but the preferred)
    and its references'."""
    keys = [frame_key(view, chosen_option_id)]
    for group in view.tier_groups:
        cards, together = tier_keys(group, view.reference_numbers, chosen_option_id)
        keys += cards if together is None else [*cards, together]
    return [*keys, references_key(view.live_panel_references())]


def cards_held(value: str) -> frozenset[str]:
    """The keys a live update says the browser holds (HELD_FIELD): anything that is not a key is ignored."""
    return frozenset(key for key in value.split()[:_MAX_HELD] if _KEY.fullmatch(key))
