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
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from .domain.result import TIER_LABELS, ConsultResult, OptionResult, ReferenceOut, WarningOut
from .domain.workup import Workup
from .presentation import ConsultMeta, consult_present, dose_lines_display, unit_label, workup_rows, workup_sections

__all__ = [
    "PAPER_SIZES", "URLRefused", "StaticOnlyFetcher", "render_consult_html",
    "render_consult_pdf", "consult_pdf", "consult_meta_build", "static_root", "paper_size", "font_config",
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
    rounding: list[tuple[str, str]]  # (unit label, rounding rule) factored out of the lines


def _short_basis(line, assessment_bsa: str) -> str:
    """The per-line basis on paper when the legend above states the full one (height, weight, BSA,
    formula): the quantity the line was computed from, with its value."""
    if line.unit == "mg/m2":
        return f"BSA {assessment_bsa} m²"
    if line.unit in ("mg", "mcg"):
        return "flat dose"
    return line.basis  # weight-based: 'actual body weight 60 kg' is already short


def _dedupe_lines(lines, shared_rounding: dict, short_bsa: str | None = None) -> list:
    """Display copies of one option's dose lines with repeated words taken off.

    The rounding rule goes to the legend when every printed line in that unit shares it. On
    consecutive lines of the same drug and schedule (a venetoclax ramp-up), identical adjustments
    and footnotes are printed on the first line and referred to on the next ones, as on the screen
    (presentation.dose_lines_display), so each adjustment stays named on every line.
    """
    out = []
    for line in dose_lines_display(lines):
        update = {}
        if short_bsa is not None and line.unit in ("mg/m2", "mg", "mcg") and not (
                line.unit == "mg/m2" and line.adjustments):
            update["basis"] = _short_basis(line, short_bsa)
        if shared_rounding.get(line.unit or "") == line.rounding:
            update["rounding"] = None
        out.append(line.model_copy(update=update) if update else line)
    return out


def _factor_doses(options: list[OptionResult]) -> tuple[dict[str, OptionResult], DoseLegend]:
    """Display copies of the options with the repeated rounding rule taken off each dose line.

    A rule is taken off only when every printed line in that unit has the very same rule, so the
    legend ('mg/m² doses: nearest 1 mg below 100 mg, ...') reads back without ambiguity; a line with
    any other rule keeps it. Nothing is recomputed: the lines are the engine's, minus repeated words.
    """
    by_unit: dict[str, set[str | None]] = {}
    for o in options:
        for line in o.doses:
            by_unit.setdefault(line.unit or "", set()).add(line.rounding)
    shared = {unit: next(iter(rules)) for unit, rules in by_unit.items() if len(rules) == 1 and None not in rules}
    bases = {o.dosing_basis.text for o in options if o.doses and o.dosing_basis}
    bsa_used = {f"{o.dosing_basis.bsa_used_m2:.2f}" for o in options if o.doses and o.dosing_basis}
    short_bsa = next(iter(bsa_used)) if len(bases) == 1 and len(bsa_used) == 1 else None
    copies = {o.id: o.model_copy(update={"doses": _dedupe_lines(o.doses, shared, short_bsa)}) for o in options}
    legend = DoseLegend(
        basis=next(iter(bases)) if len(bases) == 1 else None,
        rounding=[(f"{unit_label(u)} doses" if u else "Doses", rule) for u, rule in shared.items()],
    )
    return copies, legend


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


def _printed_tiers(tier_groups, *, chosen_id: str | None) -> tuple[list[PrintedTier], list[PrintedWarning],
                                                                   DoseLegend]:
    """consult_present's tier groups, each option marked for full or compact printing. The chosen
    option is always printed in full, whatever its tier."""
    detailed = [o for g in tier_groups for o in g.options if g.tier in DETAILED_TIERS or o.id == chosen_id]
    warnings, numbers = _warnings_index(detailed)
    copies, legend = _factor_doses(detailed)
    copies = {oid: _paper_evidence(o, chosen=oid == chosen_id) for oid, o in copies.items()}
    tiers = []
    for g in tier_groups:
        printed = [PrintedOption(option=copies.get(o.id, o), detailed=o.id in copies, chosen=o.id == chosen_id,
                                 warning_numbers=sorted(numbers.get(o.id, []))) for o in g.options]
        tiers.append(PrintedTier(tier=g.tier, label=g.label, description=g.description,
                                 detailed=[p for p in printed if p.detailed],
                                 compact=[p for p in printed if not p.detailed]))
    return tiers, warnings, legend


def _printed_references(result: ConsultResult, tiers: list[PrintedTier],
                        warnings: list[PrintedWarning]) -> list[ReferenceOut]:
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
    return [r for r in result.references if r.id in cited]


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


# --- Rendering -----------------------------------------------------------------------------------

def render_consult_html(*, result: ConsultResult, workup: Workup, meta: ConsultMeta,
                        paper: str | None = None) -> str:
    """The consult summary as a standalone HTML document (print CSS inlined)."""
    present = consult_present(result=result)
    tiers, warnings, legend = _printed_tiers(present["tier_groups"], chosen_id=meta.chosen_option_id)
    context = {
        **present,
        "meta": meta,
        "generated_display": _local_datetime(meta.generated_at),
        "chosen_tier_label": TIER_LABELS.get(meta.chosen_option_tier or "", meta.chosen_option_tier),
        "workup_sections": workup_sections(workup_rows(workup)),
        "printed_tiers": tiers,
        "warnings": warnings,
        "printed_references": _printed_references(result, tiers, warnings),
        "dose_legend": legend,
        "option_count": len(result.options),
        "paper_size": paper_size(paper),
        "print_css": mark_safe(print_css()),  # our own file, not user input
    }
    return render_to_string(TEMPLATE, context)


_fonts = threading.local()


def font_config() -> FontConfiguration:
    """WeasyPrint's font configuration (Fontconfig and a Pango font map), one per thread and kept
    across renders, as WeasyPrint's API allows: a new one for every render loads the font
    configuration again and starts with cold font and glyph caches (measured: about 8% of a warm
    render). Pango font maps are not thread-safe, hence one per thread. Fonts installed while the
    process runs are seen by new threads and processes only."""
    config = getattr(_fonts, "config", None)
    if config is None:
        config = _fonts.config = FontConfiguration()
    return config


def print_stylesheet() -> CSS:
    """print.css parsed once per thread (it is the same file for every summary; parsing it was ~2% of a
    render), with the thread's font configuration. Re-read when the file changes."""
    path = static_root() / PRINT_CSS
    key = (str(path), path.stat().st_mtime)
    cached = getattr(_fonts, "print_css", None)
    if cached is None or cached[0] != key:
        cached = _fonts.print_css = (key, CSS(string=print_css(), font_config=font_config()))
    return cached[1]


def render_consult_pdf(*, html: str, base_url: str | None = None) -> bytes:
    """PDF bytes from the summary's HTML; only files under static/ can be loaded.

    The summary's HTML carries print.css inline (so that the HTML alone looks right); the PDF is rendered
    from the same HTML with that copy taken out and the stylesheet given already parsed instead. It then
    comes as a user stylesheet, below the document's own: the @page block (the only other style) wins as
    before, and print.css has no !important rule that would change order."""
    fetcher = StaticOnlyFetcher()
    base = base_url or fetcher.root.as_uri() + "/"
    css, stylesheets = print_css(), None
    if css in html:
        html, stylesheets = html.replace(css, "", 1), [print_stylesheet()]
    document = HTML(string=html, base_url=base, url_fetcher=fetcher)
    return document.write_pdf(stylesheets=stylesheets, font_config=font_config())


def consult_pdf(*, result: ConsultResult, workup: Workup, meta: ConsultMeta, paper: str | None = None) -> bytes:
    return render_consult_pdf(html=render_consult_html(result=result, workup=workup, meta=meta, paper=paper))


def consult_meta_build(*, workup: Workup, generated_at: datetime | None = None, **fields) -> ConsultMeta:
    """Meta for a summary printed outside a saved consult (the command line): institution from
    settings, age and sex from the workup, the time now in the institution's zone."""
    moment = timezone.localtime(generated_at or timezone.now())
    return ConsultMeta(
        institution=settings.AML_SALVAGE_INSTITUTION,
        generated_at=moment.isoformat(timespec="minutes"),
        age_years=workup.patient.age_years,
        sex=workup.patient.sex,
        **fields,
    )
