"""One formatting of the consult result, shared by the web page, the printable summary and the PDF.

Templates never compute or format clinical numbers themselves: they call these functions (through
the ``clinical`` template filters) or read ``consult_present``'s groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel

from .domain.result import TIER_LABELS, TIERS, ConsultResult, DoseLine, EvidenceOut, OptionResult
from .domain.workup import Workup

TIER_DESCRIPTIONS = {
    "preferred": "The rules' first choice for this workup.",
    "alternative": "Reasonable instead of, or after, a preferred option.",
    "consider": "Limited evidence, investigational, restricted access, or appropriate only in some patients.",
    "not_recommended": "Considered and set aside — each with its reason.",
}
AVAILABILITY_LABELS = {"available": "Available", "restricted": "Restricted", "unavailable": "Unavailable"}
ACTION_LABELS = {
    "retest-genetics": "Re-test genetics at relapse",
    "allo-hct-referral": "Transplant referral",
    "palliative-care": "Palliative care",
    "urgent-cytoreduction": "Cytoreduction",
}


def number(value: float | None, places: int = 2) -> str:
    if value is None:
        return "—"
    text = f"{value:,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def unit_label(unit: str | None) -> str:
    return {"mg/m2": "mg/m²", "mcg/kg": "mcg/kg", "mg/kg": "mg/kg"}.get(unit or "", unit or "")


def dose_per_unit(line: DoseLine) -> str:
    """The regimen's dose as written: '75 mg/m²', '400 mg'."""
    if line.dose is None:
        return "per protocol"
    return f"{number(line.dose)} {unit_label(line.unit)}"


def dose_patient(line: DoseLine) -> str:
    """The patient's dose: rounded value first, exact value beside it when they differ."""
    if line.withheld:
        return "do not give"
    if line.rounded is None:
        return "per protocol"
    text = f"{number(line.rounded)} {line.computed_unit}"
    if line.computed is not None and abs(line.computed - line.rounded) > 1e-9:
        text += f" (exact {number(line.computed)} {line.computed_unit})"
    return text


# The inputs a dose line can lack (DoseLine.not_assessed), in words.
NOT_ASSESSED_INPUTS = {
    "creatinine": "creatinine", "bilirubin": "bilirubin", "child_pugh": "Child-Pugh class", "lvef_pct": "LVEF",
    "qtcf_ms": "QTcF", "anthracyclines_mg_m2": "prior anthracycline doses",
}


def dose_not_assessed(line: DoseLine) -> str:
    """What a line's unchecked dose rules lack, after its 'Not assessed' badge: 'no creatinine, no bilirubin'."""
    return ", ".join(f"no {NOT_ASSESSED_INPUTS.get(item, item.replace('_', ' '))}" for item in line.not_assessed)


def crcl_text(assessment) -> str:
    """'74 mL/min, Cockcroft–Gault with adjusted body weight 82 kg'; '' without creatinine."""
    if assessment.crcl_ml_min is None:
        return ""
    text = f"{number(assessment.crcl_ml_min, 0)} mL/min"
    weight = assessment.crcl_weight
    if weight is not None:
        text += f", Cockcroft–Gault with {weight.basis} body weight {number(weight.kg, 1)} kg"
    return text


SAME_AS_ABOVE = "as the line above"


def dose_lines_display(lines: list[DoseLine]) -> list[DoseLine]:
    """Display copies of one option's dose lines without repeated sentences: on consecutive lines of the
    same drug and schedule (a venetoclax ramp-up), an adjustment identical to the line above reads 'as the
    line above (D1)' — still named on every line — and identical footnotes are printed once. Nothing is
    recomputed. Idempotent: lines already referring above are left as they are."""
    out: list[DoseLine] = []
    previous: DoseLine | None = None
    for line in lines:
        update = {}
        referred = bool(line.adjustments) and line.adjustments[0].startswith(SAME_AS_ABOVE)
        if previous is not None and not referred and previous.drug == line.drug and previous.schedule == line.schedule:
            if line.adjustments and line.adjustments == previous.adjustments:
                update["adjustments"] = [f"{SAME_AS_ABOVE} ({previous.days})"]
            if line.notes and line.notes == previous.notes:
                update["notes"] = []
        out.append(line.model_copy(update=update) if update else line)
        if not update.get("adjustments") and not referred:
            previous = line
    return out


@dataclass(frozen=True)
class DoseTableDisplay:
    """One dose table as displayed: its lines (dose_lines_display) and the rounding rules stated once under
    the table instead of on each line."""

    lines: list[DoseLine]
    rounding: list[tuple[str, str]]  # (which lines, e.g. 'mg/m² doses', the rule)


def dose_table_display(lines: list[DoseLine]) -> DoseTableDisplay:
    """A rounding rule shared by every line of one unit (two lines or more) is stated once, under the table;
    a line with any other rule keeps its own. Nothing is recomputed."""
    by_unit: dict[str, list[str | None]] = {}
    for line in lines:
        by_unit.setdefault(line.unit or "", []).append(line.rounding)
    shared = {unit: rules[0] for unit, rules in by_unit.items()
              if len(rules) >= 2 and rules[0] and all(rule == rules[0] for rule in rules)}
    shown = [line.model_copy(update={"rounding": None})
             if line.rounding and shared.get(line.unit or "") == line.rounding else line
             for line in dose_lines_display(lines)]
    return DoseTableDisplay(lines=shown, rounding=[
        (f"{unit_label(unit)} doses" if unit else "doses", rule) for unit, rule in shared.items()])


def evidence_response(ev: EvidenceOut) -> str:
    """'CR/CRh 34%' / 'ORR 52% (24/46)' — the metric is always named, never merged with another."""
    if ev.metric == "none" or (ev.value_pct is None and ev.metric != "OS"):
        return "no response rate reported"
    if ev.metric == "OS" and ev.value_pct is None:
        return "survival data only"
    text = f"{ev.metric} {number(ev.value_pct, 1)}%"
    if ev.numerator is not None and ev.denominator is not None:
        text += f" ({ev.numerator}/{ev.denominator})"
    return text


def evidence_os(ev: EvidenceOut) -> str:
    if ev.median_os_months is None:
        return ev.median_os_detail or "not reported"
    text = f"{number(ev.median_os_months, 1)} months"
    if ev.median_os_detail:
        text += f" ({ev.median_os_detail})"
    return text


def evidence_n(ev: EvidenceOut) -> str:
    return f"n={ev.n}" if ev.n else "n not reported"


@dataclass(frozen=True)
class ConsultMeta:
    """Who, when and what was chosen: the header and footer facts of a consult (page and PDF)."""

    institution: str
    generated_at: str  # ISO 8601 date and time, local time zone
    patient_identifier: str | None = None  # MRN or initials; never a name
    age_years: int | None = None
    sex: str | None = None
    clinician: str | None = None  # the signing clinician's full name
    consult_id: int | None = None
    revision_of: int | None = None
    chosen_option_id: str | None = None
    chosen_option_name: str | None = None
    chosen_option_tier: str | None = None
    override_reason: str | None = None  # why a non-preferred option was chosen
    notes: str | None = None


@dataclass(frozen=True)
class TierGroup:
    tier: str
    label: str
    description: str
    options: list[OptionResult]


def consult_present(*, result: ConsultResult) -> dict:
    """Groups and lookups the page and the PDF both render."""
    groups = [
        TierGroup(tier=t, label=TIER_LABELS[t], description=TIER_DESCRIPTIONS[t],
                  options=[o for o in result.options if o.tier == t])
        for t in TIERS
    ]
    reference_numbers = CitedNumbers({r.id: r.number for r in result.references})
    return {
        "result": result,
        "tier_groups": groups,
        "tier_counts": tuple((g.tier, g.label, len(g.options)) for g in groups),
        "reference_numbers": reference_numbers,
        "references": result.references,
        "actions": result.actions,
        "assessment": result.assessment,
        "kb_version": result.kb_version,
    }


class CitedNumbers(dict):
    """The result's reference numbers, by reference id, remembering which ids a page has cited so far: the
    live panel and an option's detail list only the references they cite (numbered as in the full result,
    as the PDF does), not all of them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cited: set[str] = set()

    def cite(self, source_ids) -> None:
        self.cited.update(s for s in source_ids if s in self)


def cited_references(references, numbers) -> list:
    """The references cited so far on this page (all of them when the numbering does not record citations)."""
    if not isinstance(numbers, CitedNumbers):
        return list(references)
    return [r for r in references if r.id in numbers.cited]


def ref_numbers_text(source_ids, numbers) -> str:
    """'[3, 7]': the result's numbers of these references, sorted, each once ('' when none is cited)."""
    if isinstance(numbers, CitedNumbers):
        numbers.cite(source_ids)
    found = sorted({numbers[s] for s in source_ids if s in numbers})
    return "[" + ", ".join(str(n) for n in found) + "]" if found else ""


# --- Live panel: each part rendered once per content --------------------------------------------------
#
# Rendering every card of a result through the templates costs milliseconds per update, and the live panel
# re-renders at each pause in typing. Most of it recurs from one update to the next: an option card's
# markup depends on the option's content (tier, reasons, evidence, warnings, availability), on the result's
# reference numbering and on the patient's doses. So a card is rendered once with marks where the reference
# numbers and the dose table go, and kept; each result fills in its own numbers and its dose table (itself
# kept by content: the same doses recur while fields that do not change them are edited). The filled card
# is exactly what the plain template renders (tests/web/test_workspace.py checks it byte for byte).
#
# Per process, bounded (a few MB at most); nothing here is needed for correctness, so several app servers
# each keep their own. No entry holds an identifier or a workup: cards are knowledge-base content, dose
# tables hold doses and the dosing basis (height, weight, BSA, CrCl).

_REF_OPEN, _REF_CLOSE = "\ue000", "\ue001"  # Unicode private use: never in clinical text or HTML escapes
DOSE_SLOT = "\ue002"
_REF_MARK = re.compile(f"{_REF_OPEN}([^{_REF_CLOSE}]*){_REF_CLOSE}")


class DeferredNumbers:
    """Stands for the result's reference numbering while a card is rendered for the cache: the
    ``ref_numbers`` filters write a mark naming the reference ids instead of their numbers."""

    def __bool__(self) -> bool:
        return True

    @staticmethod
    def mark(source_ids) -> str:
        return _REF_OPEN + ",".join(source_ids) + _REF_CLOSE


DEFERRED_NUMBERS = DeferredNumbers()


def fill_reference_numbers(html: str, numbers: dict[str, int]) -> str:
    """Replace each reference mark by the numbers of this result (as ``ref_numbers_text`` writes them)."""
    if _REF_OPEN not in html:
        return html
    return _REF_MARK.sub(lambda m: ref_numbers_text(m.group(1).split(","), numbers), html)


class Card:
    """A card rendered for the cache: its markup with marks, the reference ids it cites, and the markup
    filled in for each numbering of those ids met so far (split at the dose slot)."""

    __slots__ = ("html", "ref_ids", "_filled")

    def __init__(self, html: str):
        self.html = html
        self.ref_ids = tuple(sorted({i for group in _REF_MARK.findall(html) for i in group.split(",") if i}))
        self._filled: dict[tuple, tuple[str, ...]] = {}

    def filled(self, numbers: dict[str, int]) -> tuple[str, ...]:
        """The card's markup with this result's reference numbers: one part, or two around the dose slot."""
        signature = tuple(numbers.get(i) for i in self.ref_ids)
        parts = self._filled.get(signature)
        if parts is None:
            if len(self._filled) >= 4:
                self._filled.clear()
            parts = self._filled[signature] = tuple(
                fill_reference_numbers(part, numbers) for part in self.html.split(DOSE_SLOT))
        return parts


class RenderedCache:
    """Rendered markup by content key, in process memory, bounded (cleared when full: the keys are few)."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._entries: dict[tuple, object] = {}

    def get(self, key: tuple):
        return self._entries.get(key)

    def put(self, key: tuple, value):
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = value
        return value

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def card_context_key(context) -> tuple:
    """What every card of a result reads from the page's context (read once per result, not per card)."""
    return (context.get("kb_version"), context.get("chosen_option_id"), bool(context.get("live")),
            context.get("detail_url_prefix"))


def card_key(option: OptionResult, shared: tuple) -> tuple:
    """Everything the card template reads, except the doses (their table goes into the slot) and the
    reference numbers (filled per result). Name, summary, evidence and duration notes are the knowledge
    base's, fixed by its version and the option id. ``shared``: ``card_context_key`` of the page."""
    av = option.availability_detail
    return (
        shared, option.id, option.tier, option.provisional, option.availability,
        av.jurisdiction, av.as_of, av.note, tuple(option.reasons),
        tuple((v.source, v.rule_id, v.text) for v in option.views) if option.views else (),
        tuple((w.id, w.text) for w in option.warning_details), bool(option.doses), option.id == shared[1],
    )


def dose_table_key(option: OptionResult) -> tuple:
    """Everything the dose table reads: the option's dose lines, dosing note and basis."""
    return (
        option.id, option.dosing_note, option.dosing_basis.text if option.dosing_basis else None,
        tuple(
            (d.drug, d.schedule, d.schedule_label, d.dose, d.unit, d.computed, d.rounded, d.computed_unit, d.route,
             d.frequency, d.days, d.infusion, d.basis, d.rounding, tuple(d.adjustments), tuple(d.notes), d.withheld,
             d.status, tuple(d.not_assessed))
            for d in option.doses
        ),
    )


def references_key(context) -> tuple:
    return (context.get("kb_version"), bool(context.get("live")),
            tuple((r.id, r.number) for r in context.get("references") or ()))


def content_key(value):
    """A hashable key for what a part reads: pydantic models by their JSON, sequences item by item."""
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    if isinstance(value, (list, tuple)):
        return tuple(content_key(v) for v in value)
    return value


class LiveCache:
    """The live panel's rendered parts: option cards, dose tables, the reference list, and the smaller
    parts around them (the assessment, the actions, the tier icons: ``{% live_part %}``)."""

    def __init__(self):
        self.cards = RenderedCache(512)
        self.dose_tables = RenderedCache(512)
        self.references = RenderedCache(128)
        self.parts = RenderedCache(512)

    def clear(self) -> None:
        for cache in (self.cards, self.dose_tables, self.references, self.parts):
            cache.clear()


LIVE_CACHE = LiveCache()


# --- The compact workup table (the printed consult) -------------------------------------------------

_STATUS = {"primary_refractory": "Primary refractory", "relapse": "Relapse", "mrd_relapse": "MRD relapse"}
_GOALS = {"curative": "Curative", "disease_control": "Disease control", "comfort": "Comfort"}
_CYTO = {"inv16_t16_16": "inv(16)/t(16;16)", "t8_21": "t(8;21)", "other": "Other"}
_JURISDICTION = {"CA": "Canada", "US": "United States"}
_CYP3A4 = {"none": "None", "posaconazole": "Posaconazole", "strong": "Strong CYP3A4 inhibitor",
           "moderate": "Moderate CYP3A4 inhibitor", "pgp": "P-gp inhibitor"}
_UNIT = {"umol/L": "µmol/L"}
_CRCL_WEIGHT = {"auto": "automatic", "actual": "actual", "ideal": "ideal", "adjusted": "adjusted"}
NOT_ENTERED = "not entered"
AWAITED = "result awaited"
_LESIONS = (("flt3_itd", "FLT3-ITD"), ("flt3_tkd", "FLT3-TKD"), ("idh1", "IDH1"), ("idh2", "IDH2"),
            ("npm1", "NPM1"), ("kmt2a_rearranged", "KMT2A-r"), ("tp53", "TP53"))
_PRIOR = (("intensive_chemo", "intensive chemotherapy"), ("hma", "HMA"), ("venetoclax", "venetoclax"),
          ("venetoclax_failure", "venetoclax failure"), ("gilteritinib", "gilteritinib"),
          ("other_flt3_inhibitor", "other FLT3 inhibitor"), ("idh_inhibitor", "IDH inhibitor"),
          ("menin_inhibitor", "menin inhibitor"), ("gemtuzumab", "gemtuzumab"))
NOT_RECORDED = "not recorded"


def _yes_no(value: bool | None, unknown: str = NOT_RECORDED) -> str:
    return unknown if value is None else ("Yes" if value else "No")


def _or_none(items: list[str]) -> str:
    return ", ".join(items) if items else "none"


def _measurement(m) -> str:
    return f"{number(m.value)} {_UNIT.get(m.unit, m.unit)}" if m is not None else NOT_ENTERED


def _anthracyclines(doses) -> str:
    """'daunorubicin 270 mg/m²'; 'none' when each agent is 0; not entered when unknown (None)."""
    if doses is None:
        return NOT_ENTERED
    given = [f"{agent} {number(dose, 1)} mg/m²" for agent, dose in doses.model_dump().items() if dose]
    return ", ".join(given) if given else "none"


def workup_rows(workup: Workup) -> list[tuple[str, str, str]]:
    """The workup as (section, label, value) rows for a compact table; every field appears once. A gene
    whose result is awaited is listed as awaited, never as not detected."""
    p, d, g, t, c, prior = (workup.patient, workup.disease, workup.genetics, workup.transplant,
                            workup.context, workup.prior_therapy)
    pending = set(g.pending)
    rows = [
        ("Patient", "Age", f"{p.age_years} years"),
        ("Patient", "Sex", p.sex),
        ("Patient", "Height / weight", f"{number(p.height_cm, 1)} cm / {number(p.weight_kg, 1)} kg"),
        ("Patient", "ECOG", str(p.ecog)),
        ("Patient", "Fit for intensive chemotherapy", _yes_no(workup.fit_for_intensive_chemo)),
        ("Patient", "Active infection", _yes_no(workup.active_infection)),
        ("Patient", "Infection uncontrolled", _yes_no(workup.infection_uncontrolled)),
        ("Patient", "Goals of care", _GOALS[workup.goals_of_care]),
        ("Organ function", "Creatinine", _measurement(p.creatinine)),
        ("Organ function", "Bilirubin", _measurement(p.bilirubin)),
        ("Organ function", "Child-Pugh", p.child_pugh or NOT_ENTERED),
        ("Organ function", "CrCl body weight", _CRCL_WEIGHT[c.crcl_weight]),
        ("Heart", "LVEF", f"{p.lvef_pct}%" if p.lvef_pct is not None else NOT_ENTERED),
        ("Heart", "QTcF", f"{p.qtcf_ms} ms" if p.qtcf_ms is not None else NOT_ENTERED),
        ("Heart", "Prior anthracyclines", _anthracyclines(prior.anthracyclines_mg_m2)),
        ("Disease", "Status", _STATUS[d.status]),
        ("Disease", "Relapse number", str(d.relapse_number) if d.relapse_number else "—"),
        ("Disease", "CR1 duration",
         f"{number(d.cr1_duration_months, 1)} months" if d.cr1_duration_months is not None else "—"),
        ("Disease", "Prior allogeneic HCT",
         f"Yes, {number(d.months_since_hct, 1)} months ago" if d.prior_allo_hct else "No"),
        ("Disease", "Marrow blasts",
         f"{number(d.marrow_blasts_pct, 1)}%" if d.marrow_blasts_pct is not None else NOT_RECORDED),
        ("Disease", "Circulating blasts", _yes_no(d.circulating_blasts)),
        ("Disease", "Extramedullary", _yes_no(d.extramedullary)),
        ("Disease", "WBC",
         f"{number(d.wbc_10e9_per_l, 1)} ×10⁹/L" if d.wbc_10e9_per_l is not None else NOT_RECORDED),
        ("Disease", "Needs urgent cytoreduction", _yes_no(d.needs_urgent_cytoreduction)),
        ("Disease", "Intensive induction cycles",
         str(d.intensive_induction_cycles) if d.intensive_induction_cycles is not None else NOT_RECORDED),
        ("Genetics", "Re-tested at relapse", _yes_no(g.retested_at_relapse)),
        ("Genetics", "Detected", _or_none([name for key, name in _LESIONS if getattr(g, key)])),
        ("Genetics", "Not detected",
         _or_none([name for key, name in _LESIONS if not getattr(g, key) and key not in pending])),
        ("Genetics", "Result awaited",
         _or_none([name for key, name in (*_LESIONS, ("cd33_positive", "CD33")) if key in pending])),
        ("Genetics", "CD33 positive", AWAITED if "cd33_positive" in pending else _yes_no(g.cd33_positive)),
        ("Genetics", "ELN 2022 risk", g.eln2022_risk or NOT_RECORDED),
        ("Genetics", "Cytogenetics at diagnosis",
         _CYTO[g.diagnosis_cytogenetics] if g.diagnosis_cytogenetics else NOT_RECORDED),
        ("Genetics", "Other mutations", _or_none(list(g.other_mutations))),
        ("Prior therapy", "Received", _or_none([name for key, name in _PRIOR if getattr(prior, key)])),
        ("Prior therapy", "Not received",
         _or_none([name for key, name in _PRIOR if not getattr(prior, key) and key != "venetoclax_failure"])),
        ("Transplant", "HCT candidate", _yes_no(t.candidate, "not assessed")),
        ("Transplant", "Donor available", _yes_no(t.donor_available, "unknown")),
        ("Context", "Jurisdiction", _JURISDICTION[c.jurisdiction]),
        ("Context", "Clinical trial available", _yes_no(c.clinical_trial_available)),
        ("Context", "CYP3A4/P-gp inhibitor", _CYP3A4[c.cyp3a4_inhibitor]),
        ("Context", "BSA formula", c.bsa_formula.title()),
    ]
    return rows


NBSP = "\u00a0"
SHORT_VALUE = 20  # characters; a value up to this long is kept on one line ('165 cm / 60 kg')


def workup_sections(rows: list[tuple[str, str, str]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The rows grouped by section for the printed table. Each label has non-breaking spaces, so that it
    stays whole and on the line of its value, and so has a short value: plain text, cheaper to lay out
    than an inline-block per item (a label with a hyphen is also kept whole by print.css)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    for section, label, value in rows:
        if len(value) <= SHORT_VALUE:
            value = value.replace(" ", NBSP)
        sections.setdefault(section, []).append((label.replace(" ", NBSP), value))
    return list(sections.items())
