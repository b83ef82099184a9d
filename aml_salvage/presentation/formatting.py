"""Numbers and clinical values in words: one formatting for the page, the live panel and the PDF."""

from __future__ import annotations

from ..domain.result import DoseLine, EvidenceOut
from . import labels


def number(value: float | None, places: int = 2) -> str:
    if value is None:
        return "—"
    text = f"{value:,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def unit_label(unit: str | None) -> str:
    return labels.DOSE_UNIT.get(unit or "", unit or "")


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


def dose_not_assessed(line: DoseLine) -> str:
    """What a line's unchecked dose rules lack, after its 'Not assessed' badge: 'no creatinine, no bilirubin'."""
    return ", ".join(f"no {labels.NOT_ASSESSED_INPUT.get(item, item.replace('_', ' '))}"
                     for item in line.not_assessed)


def crcl_text(assessment) -> str:
    """'74 mL/min, Cockcroft–Gault with adjusted body weight 82 kg'; '' without creatinine."""
    if assessment.crcl_ml_min is None:
        return ""
    text = f"{number(assessment.crcl_ml_min, 0)} mL/min"
    weight = assessment.crcl_weight
    if weight is not None:
        text += f", Cockcroft–Gault with {weight.basis} body weight {number(weight.kg, 1)} kg"
    return text


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


def ref_numbers_text(source_ids, numbers: dict[str, int]) -> str:
    """'[3, 7]': the result's numbers of these references, sorted, each once ('' when none is numbered)."""
    found = sorted({numbers[s] for s in source_ids if s in numbers})
    return "[" + ", ".join(str(n) for n in found) + "]" if found else ""
