"""The printable consult summary: HTML first (viewable in a browser for checking), then PDF from it.

The page, the PDF and the JSON are fed by one service (``consult_evaluate``) and one formatting
(``presentation``); this module only arranges them for paper. Rendering never touches the network:
the URL fetcher serves files under the repository's ``static/`` directory and refuses anything else.
"""

from __future__ import annotations

import functools
import mimetypes
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from . import services
from .domain.knowledge import KnowledgeBase
from .domain.result import ConsultResult, OptionResult, ReferenceOut, WarningOut
from .domain.workup import Workup
from .presentation import (
    ConsultMeta,
    DoseTable,
    OptionView,
    consult_view,
    dose_table,
    labels,
    monitoring_plan,
    ref_numbers_text,
    references_cited,
    result_parameters,
    rounding_statements,
    shared_rounding,
    view_context,
)
from .presentation.sheet import SheetDoses, headline, sheet_doses

__all__ = [
    "PAPER_SIZES", "URLRefused", "StaticOnlyFetcher", "render_consult_html",
    "render_consult_pdf", "consult_meta_build", "static_root", "paper_size", "font_config",
]

TEMPLATE = "print/consult.html"
PRINT_CSS = "css/print.css"
# CSS page sizes by setting value; anything else is a configuration error, not a silent default.
PAPER_SIZES = {"letter": "letter", "a4": "A4"}
# Options printed with full detail (evidence table, dose table, warnings); the others get a compact form.
DETAILED_TIERS = ("preferred", "alternative")

URL_REFUSED = "refused {url!r}: the consult PDF only loads files under {root}"


class URLRefused(ValueError):
    """A resource outside the static directory (or any network URL) was requested while rendering."""


def static_root() -> Path:
    return Path(settings.BASE_DIR) / "static"


class StaticOnlyFetcher(URLFetcher):
    """Serve ``file:`` URLs inside ``root`` and inline ``data:`` URLs; refuse everything else.

    ``fail_on_errors`` makes a refusal stop the render: a summary silently missing a stylesheet or an
    image is worse than no summary (WeasyPrint would otherwise log the error and carry on).
    """

    def __init__(self, *, root: Path | None = None):
        super().__init__(allowed_protocols=("file", "data"), allow_redirects=False, fail_on_errors=True)
        self.root = (root or static_root()).resolve()

    def local_path(self, url: str) -> Path:
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise URLRefused(URL_REFUSED.format(url=url, root=self.root))
        path = Path(url2pathname(unquote(parts.path))).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise URLRefused(URL_REFUSED.format(url=url, root=self.root))
        return path

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        if url.startswith("data:"):
            return super().fetch(url, headers)
        path = self.local_path(url)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": mime})


# --- Layout helpers (arrangement for paper, no clinical formatting) -------------------------------

@dataclass(frozen=True)
class PrintedWarning:
    number: int  # printed as W<number>; each option's heading lists the numbers that apply to it
    warning: WarningOut


@dataclass(frozen=True)
class PrintedOption:
    option: OptionResult
    doses: DoseTable | None
    detailed: bool  # evidence, dose table and warnings printed in full
    chosen: bool
    warning_numbers: list[int]

    @property
    def lead(self) -> bool:
        """Summary, duration and availability note too: the preferred and the chosen options."""
        return self.chosen or self.option.tier == "preferred"

    @property
    def availability_note(self) -> bool:
        return self.lead or self.option.availability != "available"


@dataclass(frozen=True)
class PrintedTier:
    tier: str
    label: str
    description: str
    detailed: list[PrintedOption]
    compact: list[PrintedOption]

    @property
    def count(self) -> int:
        return len(self.detailed) + len(self.compact)


def _warnings_index(options: list[OptionResult]) -> tuple[list[PrintedWarning], dict[str, list[int]]]:
    """Each warning once, numbered W1.. in order of first use, and each option's numbers: many
    regimens share a warning (venetoclax TLS, cytarabine cerebellar toxicity), printed once it saves
    a third of a page and reads the same."""
    order: dict[tuple[str, str], PrintedWarning] = {}
    by_option: dict[str, list[int]] = {}
    for option in options:
        for w in option.warning_details:
            key = (w.id, w.text)  # a warning's text carries the patient's values: the id alone is not enough
            if key not in order:
                order[key] = PrintedWarning(number=len(order) + 1, warning=w)
            by_option.setdefault(option.id, []).append(order[key].number)
    return list(order.values()), by_option


@dataclass(frozen=True)
class DoseLegend:
    """What every printed dose table shares, stated once above them instead of on every line."""

    basis: str | None  # the patient's dosing basis, when identical for all printed options
    rounding: list[tuple[str, str]]  # (which lines, rounding rule) taken off the lines


def _printed_doses(options: list[OptionResult]) -> tuple[dict[str, DoseTable | None], DoseLegend]:
    """The printed options' dose tables (presentation.dose_table) with what they share stated once, in the
    legend: the rounding rule of each unit whose lines all share it, and the dosing basis when every option
    has the same; then each line names only the quantity it was computed from ('BSA 1.82 m²', 'flat dose')."""
    rounding = shared_rounding(line for o in options for line in o.doses)
    bases = {o.dosing_basis.text for o in options if o.doses and o.dosing_basis}
    bsa_used = {f"{o.dosing_basis.bsa_used_m2:.2f}" for o in options if o.doses and o.dosing_basis}
    short_basis = None
    if len(bases) == 1 and len(bsa_used) == 1:
        short_basis = {"mg/m2": f"BSA {next(iter(bsa_used))} m²", "mg": "flat dose", "mcg": "flat dose"}
    tables = {o.id: dose_table(o, rounding_stated=rounding, short_basis=short_basis) for o in options}
    legend = DoseLegend(basis=next(iter(bases)) if len(bases) == 1 else None,
                        rounding=rounding_statements(rounding))
    return tables, legend


NEWLY_DIAGNOSED_OMITTED = (
    "{n} further evidence record(s) from newly diagnosed settings are in the app and the JSON; not R/R data."
)


def _paper_evidence(option: OptionResult, *, chosen: bool) -> OptionResult:
    """Alternatives print their R/R evidence; newly diagnosed records (context, not R/R data) are
    counted and left to the app. Preferred and chosen options print every record."""
    if option.tier == "preferred" or chosen:
        return option
    kept = [ev for ev in option.evidence if ev.setting != "newly diagnosed"]
    dropped = len(option.evidence) - len(kept)
    if not dropped or not kept:
        return option
    note = NEWLY_DIAGNOSED_OMITTED.format(n=dropped)
    return option.model_copy(update={"evidence": kept,
                                     "evidence_note": f"{option.evidence_note} {note}" if option.evidence_note
                                     else note})


def _printed_tiers(cards: list[OptionView], tier_groups, *, chosen_id: str | None, sheet_id: str) -> tuple[
        list[PrintedTier], list[PrintedWarning], DoseLegend]:
    """The model's tier groups, each option marked for full or compact printing. The chosen option and the
    decision sheet's option are always printed in full, whatever their tier: the appendix carries the full
    reasons and warnings the sheet shortens."""
    detailed = [c.option for c in cards
                if c.option.tier in DETAILED_TIERS or c.option.id in (chosen_id, sheet_id)]
    warnings, numbers = _warnings_index(detailed)
    tables, legend = _printed_doses(detailed)
    copies = {o.id: _paper_evidence(o, chosen=o.id == chosen_id) for o in detailed}
    tiers = []
    for g in tier_groups:
        printed = [PrintedOption(option=copies.get(c.option.id, c.option), doses=tables.get(c.option.id),
                                 detailed=c.option.id in copies, chosen=c.option.id == chosen_id,
                                 warning_numbers=sorted(numbers.get(c.option.id, []))) for c in g.options]
        tiers.append(PrintedTier(tier=g.tier, label=g.label, description=g.description,
                                 detailed=[p for p in printed if p.detailed],
                                 compact=[p for p in printed if not p.detailed]))
    return tiers, warnings, legend


def _printed_references(result: ConsultResult, tiers: list[PrintedTier],
                        warnings: list[PrintedWarning], sheet: Sheet) -> list[ReferenceOut]:
    """The references the summary cites, in the result's numbering (so [n] matches the web page and
    the JSON). A reference cited only by content left off paper (say, the evidence of an option set
    aside) is not listed; the EPI's sources are, as the EPI is printed."""
    cited: set[str] = set()
    if result.assessment.epi:
        cited.update(result.assessment.epi.sources)
    for action in result.actions:
        cited.update(action.sources)
    for tier in tiers:
        for p in tier.detailed + tier.compact:
            o = p.option
            for rule in o.rules:
                cited.update(rule.sources)
            if p.detailed or tier.tier == "consider":
                cited.update(ev.reference for ev in o.evidence)
            if p.detailed and p.availability_note:
                cited.update(o.availability_detail.sources)
    for pw in warnings:
        cited.update(pw.warning.sources)
    cited.update(sheet.monitoring.source_ids)
    return references_cited(result, cited)


def _local_datetime(iso: str) -> str:
    """'2026-11-21 14:32 EST' in the institution's time zone (settings.TIME_ZONE)."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    zone = ZoneInfo(settings.TIME_ZONE)
    moment = moment.astimezone(zone) if moment.tzinfo else moment.replace(tzinfo=zone)
    return moment.strftime("%Y-%m-%d %H:%M %Z")


def paper_size(paper: str | None = None) -> str:
    """The CSS page size for 'letter' or 'a4' (default: settings.AML_SALVAGE_PAPER_SIZE)."""
    key = (paper or settings.AML_SALVAGE_PAPER_SIZE or "letter").strip().lower()
    if key not in PAPER_SIZES:
        raise ImproperlyConfigured(f"AML_SALVAGE_PAPER_SIZE must be one of {sorted(PAPER_SIZES)}, not {key!r}")
    return PAPER_SIZES[key]


@functools.cache
def _print_css(path: Path, mtime: float) -> str:
    return path.read_text(encoding="utf-8")


def print_css() -> str:
    """The print stylesheet, inlined so the HTML is self-contained (a saved file looks right too)."""
    path = static_root() / PRINT_CSS
    return _print_css(path, path.stat().st_mtime)


# --- The decision sheet (page 1) ----------------------------------------------------------------------

# The disclaimer asks for both checks; the full disclaimer is in the appendix ('About this consult').
SIGNATURE_ROLES = ("Prescriber", "Second clinician (check)", "Pharmacist (check)")
RULE_CHARS = 170  # a reason on the sheet: its first sentence, up to two lines (the full text: appendix)
MONITORING_CHARS = 140  # a monitoring item: its schedule, up to two lines with its label (the full text: appendix)


@dataclass(frozen=True)
class SheetLine:
    """One warning, monitoring item or action on the sheet: its headline, with where its full text is."""

    headline: str
    item: object  # the WarningOut, MonitoringRecord or ActionOut it shortens
    number: int | None = None  # the warning's W number in the appendix ('Warnings in full')
    cited: str = ""  # reference numbers or, for sources the result does not number, their short names


@dataclass(frozen=True)
class Sheet:
    """What page 1 shows: the chosen option (or, with none chosen yet, the rules' first option, said so), the
    reasons it ranks there, its complete dose table, its warnings, its monitoring plan from the knowledge
    base and the high-priority actions. Long text is shortened here and printed in full in the appendix."""

    option: OptionResult
    chosen: bool
    reasons: list[tuple[object, str]]  # (rule, its first sentence)
    doses: SheetDoses | None
    warnings: list[SheetLine]
    monitoring: object  # presentation.MonitoringPlan
    monitoring_rows: list[tuple[str, SheetLine]]  # (category label on its first row, item)
    actions: list[SheetLine]  # the result's high-priority actions
    monitoring_kb_version: str  # the knowledge base the plan comes from


def _cited(sources, kb: KnowledgeBase, numbers: dict[str, int]) -> str:
    """'[4, 12]' for the sources the result numbers; a source it does not number is named in words."""
    named = [kb.references[s].short if s in kb.references else s for s in sources if s not in numbers]
    return " ".join(part for part in [ref_numbers_text(sources, numbers), *(f"[{n}]" for n in named)] if part)


def _sheet_option(result: ConsultResult, meta: ConsultMeta) -> tuple[OptionResult, bool]:
    """The option page 1 shows, and whether the clinician chose it: the chosen option, or with none chosen yet
    the rules' first choice (the options are ranked)."""
    chosen = next((o for o in result.options if o.id == meta.chosen_option_id), None)
    return (chosen, True) if chosen else (result.options[0], False)


def _sheet(result: ConsultResult, meta: ConsultMeta, kb: KnowledgeBase, *,
           warning_numbers: dict[tuple[str, str], int]) -> Sheet:
    option, chosen = _sheet_option(result, meta)
    numbers = {r.id: r.number for r in result.references}
    plan = monitoring_plan(option_id=option.id, kb=kb)
    rows = []
    for group in plan.groups:
        for i, item in enumerate(group.items):
            short = SheetLine(headline=headline(item.text, MONITORING_CHARS), item=item,
                              cited=_cited(item.source, kb, numbers))
            rows.append((group.label if i == 0 else "", short))
    table = dose_table(option)
    return Sheet(
        option=option, chosen=chosen,
        reasons=[(r, headline(r.text, RULE_CHARS)) for r in option.rules],
        doses=sheet_doses(table) if table else None,
        warnings=[SheetLine(headline=headline(w.text), item=w, number=warning_numbers.get((w.id, w.text)),
                            cited=_cited(w.sources, kb, numbers)) for w in option.warning_details],
        monitoring=plan, monitoring_rows=rows,
        actions=[SheetLine(headline=headline(a.text), item=a, cited=_cited(a.sources, kb, numbers))
                 for a in result.actions if a.priority == "high"],
        monitoring_kb_version=kb.version)


# --- Rendering -----------------------------------------------------------------------------------

def render_consult_html(*, result: ConsultResult, workup: Workup, meta: ConsultMeta,
                        paper: str | None = None, knowledge: KnowledgeBase | None = None) -> str:
    """The consult summary as a standalone HTML document (print CSS inlined, so the file alone looks right).
    knowledge: the knowledge base the result was computed with (a saved consult's:
    ``consults.consult_knowledge``), for the cut-offs named beside the assessment and the monitoring plan; by
    default the loaded one (whose cut-offs are named only when the result is of its version)."""
    loaded = services.knowledge_get()
    parameters = knowledge.parameters if knowledge is not None else result_parameters(result, loaded)
    kb = knowledge or loaded
    view = consult_view(result=result, parameters=parameters, workup=workup)
    tiers, warnings, legend = _printed_tiers(view.options, view.tier_groups, chosen_id=meta.chosen_option_id,
                                             sheet_id=_sheet_option(result, meta)[0].id)
    sheet = _sheet(result, meta, kb, warning_numbers={(pw.warning.id, pw.warning.text): pw.number
                                                      for pw in warnings})
    context = {
        **view_context(view, chosen_id=meta.chosen_option_id),
        "meta": meta,
        "sheet": sheet,
        "signature_roles": SIGNATURE_ROLES,
        "generated_display": _local_datetime(meta.generated_at),
        "printed_display": _local_datetime(meta.printed_at or meta.generated_at),
        "superseded_display": _local_datetime(meta.superseded_on) if meta.superseded_on else "",
        "chosen_tier_label": labels.TIER.get(meta.chosen_option_tier or "", meta.chosen_option_tier),
        "workup_sections": _paper_workup(view),
        "printed_tiers": tiers,
        "warnings": warnings,
        "printed_references": _printed_references(result, tiers, warnings, sheet),
        "dose_legend": legend,
        "option_count": len(result.options),
        "paper_size": paper_size(paper),
        "print_css": mark_safe(print_css()),  # our own file, not user input
    }
    return render_to_string(TEMPLATE, context)


NBSP = "\u00a0"
SHORT_VALUE = 20  # characters; a value up to this long is kept on one line ('165 cm / 60 kg')


def _paper_workup(view) -> list[tuple[str, list[tuple[str, str]]]]:
    """The model's workup rows laid out for the printed table: each label has non-breaking spaces, so that it
    stays whole and on the line of its value, and so has a short value (plain text, cheaper to lay out than an
    inline-block per item; a label with a hyphen is also kept whole by print.css)."""
    return [(section.title, [(label.replace(" ", NBSP), value.replace(" ", NBSP) if len(value) <= SHORT_VALUE
                              else value) for label, value in section.rows])
            for section in view.workup]


_fonts = threading.local()


def font_config() -> FontConfiguration:
    """WeasyPrint's font configuration (Fontconfig and a Pango font map), one per thread and kept
    across renders, as WeasyPrint's API allows: a new one for every render loads the font
    configuration again and starts with cold font and glyph caches (bench/results.md). Pango font
    maps are not thread-safe, hence one per thread. Fonts installed while the
    process runs are seen by new threads and processes only."""
    config = getattr(_fonts, "config", None)
    if config is None:
        config = _fonts.config = FontConfiguration()
    return config


def render_consult_pdf(*, html: str, base_url: str | None = None) -> bytes:
    """PDF bytes from the summary's HTML (its print CSS inline); only files under static/ can be loaded."""
    fetcher = StaticOnlyFetcher()
    document = HTML(string=html, base_url=base_url or fetcher.root.as_uri() + "/", url_fetcher=fetcher)
    return document.write_pdf(font_config=font_config())


def consult_meta_build(*, workup: Workup, generated_at: datetime | None = None, **fields) -> ConsultMeta:
    """Meta for a printed consult: institution from settings, age and sex from the workup, the consult's
    time (generated_at, default now) and the print time (now), in the institution's zone."""
    now = timezone.localtime(timezone.now())
    moment = timezone.localtime(generated_at) if generated_at else now
    return ConsultMeta(
        institution=settings.AML_SALVAGE_INSTITUTION,
        generated_at=moment.isoformat(timespec="minutes"),
        printed_at=now.isoformat(timespec="minutes"),
        age_years=workup.patient.age_years,
        sex=workup.patient.sex,
        **fields,
    )
