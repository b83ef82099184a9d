"""Every option at a glance: one table row per option and one chart of the same figures, for page 2 of the
printed consult, the saved consult page and the workspace (templates/components/at_a_glance.html).

The figures are the evidence records' own (never recomputed): the response metric exactly as reported
(ORR, CR, CR/CRh, CRc ... are never merged, each bar is labelled with its metric), n and median OS. The
chart is plain SVG drawn here, vector so it prints crisply; every piece of text in it is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from ..domain.result import EvidenceOut, OptionResult
from . import labels
from .formatting import evidence_response, number
from .sheet import headline

NO_RECORD = "no record"
# The short reason: about two lines of its column on paper (8 pt); the full reasons are in the appendix and
# on the option's card.
REASON_CHARS = 56
UNCERTAIN_MARK = "(to verify)"


@dataclass(frozen=True)
class GlanceRow:
    option_id: str
    name: str
    tier: str
    tier_label: str
    availability: str
    reason: str  # the first reason, cut to one line
    evidence: EvidenceOut | None  # the record whose figures are shown
    study: str
    response: str  # 'CR/CRh 34% (126/371)'; 'no response rate reported'
    n: str
    median_os: str
    uncertain: bool
    chosen: bool

    @property
    def evidence_setting(self) -> str | None:
        """The shown record's setting ('R/R', 'newly diagnosed'...), None without a record."""
        return self.evidence.setting if self.evidence is not None else None


@dataclass(frozen=True)
class Glance:
    rows: list[GlanceRow]
    metrics: list[tuple[str, str]]  # (metric, its definition as reported), each once
    svg: str  # the chart (escaped markup); '' when no option has a figure
    charted: int  # options drawn in the chart


def glance_evidence(option: OptionResult) -> EvidenceOut | None:
    """The record shown for an option: its first relapsed/refractory record with a figure, else its first
    record with a figure, else its first record."""
    def has_figure(ev: EvidenceOut) -> bool:
        return ev.value_pct is not None or ev.median_os_months is not None

    for pick in (lambda ev: ev.setting == "R/R" and has_figure(ev), has_figure, lambda ev: True):
        found = next((ev for ev in option.evidence if pick(ev)), None)
        if found is not None:
            return found
    return None


def _os_short(ev: EvidenceOut) -> str:
    """'9.3 mo', '' when not reported; the comparison and detail stay with the full record (evidence_os)."""
    if ev.median_os_months is None:
        return ""
    return f"{number(ev.median_os_months, 1)} mo"


def one_line(text: str, limit: int = REASON_CHARS) -> str:
    """The reason's first sentence, or its first clauses or words within the limit, with an ellipsis
    (presentation.sheet.headline: never cut mid-word)."""
    return headline(text, limit)


def glance_build(options: list[OptionResult], *, chosen_id: str | None = None) -> Glance:
    rows: list[GlanceRow] = []
    metrics: dict[str, str] = {}
    for option in options:
        ev = glance_evidence(option)
        if ev is not None and ev.metric not in ("none",):
            metrics.setdefault(ev.metric, ev.metric_definition)
        rows.append(GlanceRow(
            option_id=option.id,
            name=option.name,
            tier=option.tier,
            tier_label=labels.TIER[option.tier],
            availability=labels.AVAILABILITY[option.availability],
            reason=one_line(option.rules[0].text) if option.rules else "",
            evidence=ev,
            study=ev.study if ev else "",
            response=evidence_response(ev) if ev else NO_RECORD,
            n=f"{ev.n}" if ev and ev.n else "",
            median_os=_os_short(ev) if ev else "",
            uncertain=bool(ev and ev.uncertain),
            chosen=option.id == chosen_id,
        ))
    svg, charted = chart_svg(rows)
    return Glance(rows=rows, metrics=sorted(metrics.items()), svg=svg, charted=charted)


# --- The chart -----------------------------------------------------------------------------------------
# Units are points (1/72 in): the SVG is as wide as the printed text block, so its type is true to size.
WIDTH = 520
ROW = 7.5
BAR = 5.1  # a bar's height, centred in its row
TOP = 25  # the column headings (baseline 8), then the axis labels under them (baseline TOP - 7)
FONT = 8
NAME_CHARS = 31
RESP_X, RESP_W = 152, 100  # response bar, 0–100 %
RESP_TEXT_X = RESP_X + RESP_W + 3
OS_X, OS_W = 348, 100  # median OS bar, 0–axis months
OS_TEXT_X = OS_X + OS_W + 3
OS_STEP = 6  # months between gridlines
UNCERTAIN_CHART = " ?"


def _text(x: float, y: float, content: str, *, anchor: str = "start", bold: bool = False) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{FONT}" text-anchor="{anchor}"{weight}>'
            f"{escape(content)}</text>")


def chart_svg(rows: list[GlanceRow]) -> tuple[str, int]:
    """Response (as reported, labelled by metric) and median OS per option with a figure; a figure to
    verify is drawn with a dashed outline, unfilled, and marked '?'. Inline SVG in HTML (no namespace
    declaration needed: the HTML parser puts <svg> in the SVG namespace)."""
    drawn = [r for r in rows if r.evidence is not None
             and (r.evidence.value_pct is not None or r.evidence.median_os_months is not None)]
    if not drawn:
        return "", 0
    longest = max((r.evidence.median_os_months or 0) for r in drawn)
    axis = max(OS_STEP, OS_STEP * -(-longest // OS_STEP))
    height = TOP + ROW * len(drawn) + 13
    parts = [
        f'<svg class="glance-chart" width="{WIDTH}pt" height="{height:g}pt" '
        f'viewBox="0 0 {WIDTH} {height:g}" role="img" font-family="DejaVu Sans, sans-serif" '
        f'aria-label="Response as reported and median overall survival per option">',
        _text(0, 8, "Option", bold=True),
        _text(RESP_X, 8, "Response as reported, metric named", bold=True),
        _text(OS_X, 8, "Median OS, months", bold=True),
    ]
    bottom = TOP + ROW * len(drawn)
    for pct in (0, 50, 100):  # gridlines
        x = RESP_X + RESP_W * pct / 100
        parts.append(f'<line x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{bottom}" stroke="#999" stroke-width="0.4"/>')
        parts.append(_text(x, TOP - 7, f"{pct}%", anchor="middle"))
    months = 0
    while months <= axis:
        x = OS_X + OS_W * months / axis
        parts.append(f'<line x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{bottom}" stroke="#999" stroke-width="0.4"/>')
        parts.append(_text(x, TOP - 7, number(months, 0), anchor="middle"))
        months += OS_STEP if axis <= 4 * OS_STEP else 2 * OS_STEP
    for i, row in enumerate(drawn):
        ev = row.evidence
        y = TOP + ROW * i
        mid = y + ROW / 2 + 2.7
        if i % 2:
            parts.append(f'<rect x="0" y="{y:g}" width="{WIDTH}" height="{ROW:g}" fill="#f0f0f0"/>')
        name = row.name if len(row.name) <= NAME_CHARS else row.name[:NAME_CHARS - 1].rstrip() + "…"
        parts.append(_text(0, mid, ("▶ " if row.chosen else "") + name, bold=row.chosen))
        style = ('fill="#fff" stroke="#000" stroke-width="0.8" stroke-dasharray="2 1.5"' if row.uncertain
                 else 'fill="#333"')
        mark = UNCERTAIN_CHART if row.uncertain else ""
        if ev.value_pct is not None:
            w = max(RESP_W * ev.value_pct / 100, 0.8)
            parts.append(f'<rect x="{RESP_X}" y="{y + (ROW - BAR) / 2:g}" width="{w:.1f}" height="{BAR:g}" {style}/>')
            parts.append(_text(RESP_TEXT_X, mid, f"{ev.metric} {number(ev.value_pct, 1)}%{mark}"))
        else:
            parts.append(_text(RESP_TEXT_X, mid, "no rate reported"))
        if ev.median_os_months is not None:
            w = max(OS_W * ev.median_os_months / axis, 0.8)
            parts.append(f'<rect x="{OS_X}" y="{y + (ROW - BAR) / 2:g}" width="{w:.1f}" height="{BAR:g}" {style}/>')
            parts.append(_text(OS_TEXT_X, mid, f"{number(ev.median_os_months, 1)}{mark}"))
        else:
            parts.append(_text(OS_TEXT_X, mid, "not reported"))
    parts.append(_text(0, bottom + 10, "Solid bar: figure as reported; dashed outline and ?: figure to verify. "
                                       "Bars of different metrics do not compare."))
    parts.append("</svg>")
    return "\n".join(parts), len(drawn)
