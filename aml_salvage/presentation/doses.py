"""Dose tables as displayed, on screen and on paper: one routine takes repeated words off the engine's lines.

Nothing is recomputed: every figure is the engine's. Two things are said once instead of on every line:
- on consecutive lines of one drug and schedule (a venetoclax ramp-up), an adjustment identical to the line
  above reads 'as the line above (D1)' — still named on every line — and identical footnotes print once;
- a rounding rule shared by every line of one unit (two lines or more) is stated under the table (screen) or
  in the legend above all printed tables (PDF), and taken off those lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..domain.result import DoseLine, OptionResult
from .formatting import dose_not_assessed, dose_patient, dose_per_unit, unit_label

SAME_AS_ABOVE = "as the line above"


@dataclass(frozen=True)
class DoseLineView:
    """One dose line as shown: the engine's line, and its values in words."""

    line: DoseLine
    regimen_dose: str  # '75 mg/m²'
    patient_dose: str  # '135 mg (exact 134.6 mg)'
    basis: str
    rounding: str | None  # None: stated once for the whole table (or the whole document)
    adjustments: list[str]
    notes: list[str]
    not_assessed: str  # 'no creatinine'; '' when every dose rule was checked
    schedule_heading: str | None  # the schedule's label, on the first line of each schedule of a multi-line table

    @property
    def adjusted(self) -> bool:
        return bool(self.adjustments)


@dataclass(frozen=True)
class DoseTable:
    lines: list[DoseLineView]
    basis: str  # the patient's dosing basis (height, weight, BSA, CrCl)
    note: str | None  # the option's dosing note
    rounding: list[tuple[str, str]]  # (which lines, rule) stated once under this table


def shared_rounding(lines: Iterable[DoseLine]) -> dict[str, str]:
    """Unit → the rounding rule every line of that unit shares, when two lines or more share it."""
    by_unit: dict[str, list[str | None]] = {}
    for line in lines:
        by_unit.setdefault(line.unit or "", []).append(line.rounding)
    return {unit: rules[0] for unit, rules in by_unit.items()
            if len(rules) >= 2 and rules[0] and all(rule == rules[0] for rule in rules)}


def rounding_statements(shared: dict[str, str]) -> list[tuple[str, str]]:
    return [(f"{unit_label(unit)} doses" if unit else "doses", rule) for unit, rule in shared.items()]


def dose_table(option: OptionResult, *, rounding_stated: dict[str, str] | None = None,
               short_basis: dict[str, str] | None = None) -> DoseTable | None:
    """The option's dose table, None when it is not dosed.

    rounding_stated: rules stated elsewhere (the PDF's legend, for every printed table); by default those
    this table's own lines share, stated under it. short_basis: per unit, a shorter basis for lines whose
    full basis is stated above (the PDF's legend: 'BSA 1.82 m²', 'flat dose').
    """
    if not option.doses:
        return None
    own = rounding_stated is None
    stated = shared_rounding(option.doses) if own else rounding_stated
    views: list[DoseLineView] = []
    previous: DoseLine | None = None
    for line in option.doses:
        adjustments, notes = list(line.adjustments), list(line.notes)
        same_run = previous is not None and previous.drug == line.drug and previous.schedule == line.schedule
        referred = same_run and bool(adjustments) and adjustments == list(previous.adjustments)
        if referred:
            adjustments = [f"{SAME_AS_ABOVE} ({previous.days})"]
        if same_run and notes and notes == list(previous.notes):
            notes = []
        basis = line.basis
        if short_basis and line.unit in short_basis and not (line.unit == "mg/m2" and line.adjustments):
            basis = short_basis[line.unit]
        first_of_schedule = not views or views[-1].line.schedule != line.schedule
        views.append(DoseLineView(
            line=line,
            regimen_dose=dose_per_unit(line),
            patient_dose=dose_patient(line),
            basis=basis,
            rounding=None if line.rounding and stated.get(line.unit or "") == line.rounding else line.rounding,
            adjustments=adjustments,
            notes=notes,
            not_assessed=dose_not_assessed(line),
            schedule_heading=line.schedule_label if first_of_schedule and len(option.doses) > 1 else None,
        ))
        if not referred:  # a line referring above keeps pointing at the line it repeats
            previous = line
    return DoseTable(
        lines=views,
        basis=option.dosing_basis.text if option.dosing_basis else "",
        note=option.dosing_note,
        rounding=rounding_statements(stated) if own else [],
    )
