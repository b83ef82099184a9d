"""Regimen components + patient → dose lines, every adjustment named with its source.

Label rules implemented (tables in parameters.yaml): venetoclax with CYP3A/P-gp inhibitors incl. the
AML ramp-up; ivosidenib and revumenib with strong CYP3A4 inhibitors; revumenib by weight band;
fludarabine by CrCl; filgrastim to a prefilled syringe; per-dose caps (gemtuzumab vial); an optional
institutional BSA cap. Where no label rule exists (cytarabine ≥1 g/m² with renal impairment,
cumulative anthracycline), the engine warns and never invents a reduction.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .assessment import BSA_FORMULA_LABELS
from .knowledge import DoseStep, KnowledgeBase, Parameters, Regimen, RoundingBand, Schedule
from .result import Assessment, DoseLine, DosingBasis
from .workup import Workup

_DAY_RANGE = re.compile(r"^D(\d+)(?:-(\d+))?$")


@dataclass(frozen=True)
class DosingConfig:
    """Institution-level settings: a BSA cap (None = no cap) and the rounding bands."""

    bsa_cap_m2: float | None = None
    rounding: tuple[RoundingBand, ...] | None = None  # None: the knowledge base default


def round_dose(value: float, bands: tuple[RoundingBand, ...] | list[RoundingBand]) -> float:
    """Round half up to the step of the first band the value falls under."""
    for band in bands:
        if band.below_mg is None or value < band.below_mg:
            step = band.step_mg
            break
    rounded = math.floor(value / step + 0.5) * step
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return round(rounded, decimals)


def nearest_syringe(mcg: float, syringes: list[float]) -> float:
    """Nearest prefilled syringe; on a tie, the smaller one."""
    return min(syringes, key=lambda s: (abs(s - mcg), s))


def _fmt(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def dosing_basis(*, workup: Workup, assessment: Assessment) -> DosingBasis:
    formula = BSA_FORMULA_LABELS[assessment.bsa_formula]
    text = (
        f"Height {_fmt(assessment.height_cm)} cm, weight {_fmt(assessment.weight_kg)} kg, BSA "
        f"{assessment.bsa_m2:.2f} m² ({formula})"
    )
    if assessment.bsa_cap_m2:
        text += f"; institutional cap {assessment.bsa_cap_m2:.2f} m² applied → {assessment.bsa_used_m2:.2f} m²"
    if assessment.crcl_ml_min is not None:
        text += f"; CrCl {assessment.crcl_ml_min:.0f} mL/min (Cockcroft–Gault)"
    inhibitor = workup.context.cyp3a4_inhibitor
    text += "; CYP3A4/P-gp inhibitor: " + ("none" if inhibitor == "none" else inhibitor)
    return DosingBasis.build(
        height_cm=assessment.height_cm,
        weight_kg=assessment.weight_kg,
        bsa_m2=assessment.bsa_m2,
        bsa_formula=formula,
        bsa_used_m2=assessment.bsa_used_m2,
        bsa_cap_m2=assessment.bsa_cap_m2,
        crcl_ml_min=assessment.crcl_ml_min,
        cyp3a4_inhibitor=inhibitor,
        text=text,
    )


class DoseCalculator:
    def __init__(self, *, kb: KnowledgeBase, workup: Workup, assessment: Assessment, config: DosingConfig):
        self.params: Parameters = kb.parameters
        self.workup = workup
        self.a = assessment
        self.bands = config.rounding or tuple(kb.parameters.rounding)
        self.rounding_text = kb.parameters.rounding_text if config.rounding is None else "institutional rule"
        self.inhibitor = workup.context.cyp3a4_inhibitor
        self.strong = self.inhibitor in self.params.strong_cyp3a4_inhibitors
        self.jurisdiction = workup.context.jurisdiction
        formula = BSA_FORMULA_LABELS[assessment.bsa_formula]
        self.bsa_basis = f"BSA {assessment.bsa_used_m2:.2f} m² ({formula}; {_fmt(assessment.height_cm)} cm, " \
                         f"{_fmt(assessment.weight_kg)} kg)"
        self.cap_text = (
            f"institutional BSA cap {assessment.bsa_cap_m2:.2f} m² applied (actual BSA {assessment.bsa_m2:.2f} m²)"
            if assessment.bsa_cap_m2 else None
        )

    # -- one line ------------------------------------------------------------------------------
    def line(self, step: DoseStep, schedule: Schedule, *, dose=None, unit=None, days=None,
             frequency=None, adjustments=(), withheld=False) -> DoseLine:
        dose = step.dose if dose is None else dose
        unit = step.unit if unit is None else unit
        adjustments = list(adjustments)
        jur_note = step.jurisdiction_notes.get(self.jurisdiction) if step.jurisdiction_notes else None
        notes = step.notes + [f"{self.jurisdiction}: {jur_note}"] if jur_note else step.notes
        computed = rounded = None
        computed_unit = None
        rounding = None
        if dose is None:
            basis = "per institutional protocol (no dose in the source)"
        else:
            if unit == "mg/m2":
                computed, computed_unit, basis = dose * self.a.bsa_used_m2, "mg", self.bsa_basis
                if self.cap_text:
                    adjustments.append(self.cap_text)
            elif unit == "mg/kg":
                computed, computed_unit = dose * self.a.weight_kg, "mg"
                basis = f"actual body weight {_fmt(self.a.weight_kg)} kg"
            elif unit == "mcg/kg":
                computed, computed_unit = dose * self.a.weight_kg, "mcg"
                basis = f"actual body weight {_fmt(self.a.weight_kg)} kg"
            else:
                computed, computed_unit = dose, unit
                basis = "flat dose (not BSA- or weight-based)"
            if "filgrastim-syringe" in step.adjustments and computed_unit == "mcg":
                rounded = nearest_syringe(computed, self.params.filgrastim_syringes_mcg)
                syringes = " or ".join(f"{s:g}" for s in self.params.filgrastim_syringes_mcg)
                rounding = f"nearest prefilled syringe ({syringes} mcg)"
            elif unit in ("mg", "mcg"):
                rounded = computed
                rounding = "flat dose, not rounded"
            else:
                rounded = round_dose(computed, self.bands)
                rounding = self.rounding_text
            if step.max_dose_mg is not None and computed_unit == "mg" and rounded > step.max_dose_mg:
                rounded = step.max_dose_mg
                adjustments.append(f"capped at {step.max_dose_mg:g} mg per dose (label maximum)")
            computed = round(computed, 2)
            if withheld:
                rounded = None
        return DoseLine.build(
            drug=step.drug,
            schedule=schedule.id,
            schedule_label=schedule.label,
            dose=dose,
            unit=unit,
            computed=computed,
            rounded=rounded,
            computed_unit=computed_unit,
            route=step.route,
            frequency=frequency or step.frequency,
            days=days or step.days,
            infusion=step.infusion,
            basis=basis,
            rounding=rounding,
            adjustments=adjustments,
            notes=notes,
            withheld=withheld,
        )

    # -- label adjustments -----------------------------------------------------------------------
    def fludarabine(self, step: DoseStep, schedule: Schedule) -> DoseLine:
        crcl = self.a.crcl_ml_min
        if crcl is None:
            return self.line(step, schedule, adjustments=[
                "renal function not assessed (no creatinine): the label reduces fludarabine at CrCl <70 mL/min "
                "and withholds it below 30 — enter creatinine"
            ])
        band = next(b for b in self.params.fludarabine_renal
                    if crcl >= b.crcl_min and (b.crcl_max is None or crcl < b.crcl_max))
        if band.factor >= 1:
            return self.line(step, schedule)
        if band.factor == 0:
            return self.line(step, schedule, adjustments=[f"{band.text}; CrCl {crcl:.0f} mL/min"], withheld=True)
        return self.line(step, schedule, dose=round(step.dose * band.factor, 2),
                         adjustments=[f"{band.text}: {step.dose:g} → {step.dose * band.factor:g} mg/m²; "
                                      f"CrCl {crcl:.0f} mL/min"])

    def ivosidenib(self, step: DoseStep, schedule: Schedule) -> DoseLine:
        if not self.strong:
            return self.line(step, schedule)
        reduced = self.params.ivosidenib_strong_cyp3a4_mg
        return self.line(step, schedule, dose=reduced, adjustments=[
            f"strong CYP3A4 inhibitor ({self.inhibitor}): {step.dose:g} → {reduced:g} mg once daily (ivosidenib label)"
        ])

    def revumenib(self, step: DoseStep, schedule: Schedule) -> DoseLine:
        weight = self.a.weight_kg
        row = next(
            r for r in self.params.revumenib
            if r.strong_cyp3a4 == self.strong
            and (r.weight_min_kg is None or weight >= r.weight_min_kg)
            and (r.weight_max_kg is None or weight < r.weight_max_kg)
        )
        band = f"weight {_fmt(weight)} kg ({'≥' if row.weight_min_kg else '<'}40 kg)"
        inhib = f"strong CYP3A4 inhibitor ({self.inhibitor})" if self.strong else "no strong CYP3A4 inhibitor"
        return self.line(step, schedule, dose=row.dose, unit=row.unit, frequency=row.frequency, adjustments=[
            f"revumenib label table: {band}, {inhib} → {row.dose:g} {row.unit} {row.frequency}"
        ])

    def venetoclax(self, steps: list[DoseStep], schedule: Schedule) -> list[DoseLine]:
        if self.inhibitor == "none":
            return [self.line(s, schedule) for s in steps]
        row = next(r for r in self.params.venetoclax_inhibitors if r.inhibitor == self.inhibitor)
        regimen_doses = ", ".join(f"{s.dose:g} mg {s.days}" for s in steps)
        if row.factor is not None:
            return [
                self.line(s, schedule, dose=s.dose * row.factor, adjustments=[
                    f"{row.text}: {s.dose:g} → {s.dose * row.factor:g} mg; resume the prior dose 2–3 days "
                    "after the inhibitor stops"
                ])
                for s in steps
            ]
        first, last = _DAY_RANGE.match(steps[0].days), _DAY_RANGE.match(steps[-1].days)
        adjustment = f"{row.text}; regimen dose without inhibitor: {regimen_doses}"
        if len(steps) == 1 or not (first and last):
            # No ramp-up in this regimen (e.g. FLAG-IDA + venetoclax D1-7): the label's steady dose.
            return [self.line(s, schedule, dose=row.steady_mg, adjustments=[adjustment]) for s in steps]
        end_day = int(last.group(2) or last.group(1))
        template = steps[-1]
        lines = [
            self.line(template, schedule, dose=r.dose_mg, days=r.days, adjustments=[adjustment])
            for r in row.ramp_up
        ]
        next_day = len(row.ramp_up) + 1
        steady_days = f"D{next_day}-{end_day}" if end_day > next_day else f"D{next_day}"
        lines.append(self.line(template, schedule, dose=row.steady_mg, days=steady_days, adjustments=[adjustment]))
        return lines

    # -- a whole regimen -------------------------------------------------------------------------
    def regimen(self, regimen: Regimen) -> list[DoseLine]:
        lines: list[DoseLine] = []
        for schedule, plan in _plan(regimen):
            for kind, payload in plan:
                if kind == "venetoclax":
                    lines.extend(self.venetoclax(payload, schedule))
                elif kind == "fludarabine":
                    lines.append(self.fludarabine(payload, schedule))
                elif kind == "ivosidenib":
                    lines.append(self.ivosidenib(payload, schedule))
                elif kind == "revumenib":
                    lines.append(self.revumenib(payload, schedule))
                else:
                    lines.append(self.line(payload, schedule))
        return lines


_PLANS: dict[int, tuple[Regimen, list]] = {}
_HOOKS = (("fludarabine-renal", "fludarabine"), ("ivosidenib-strong-cyp3a4", "ivosidenib"),
          ("revumenib-weight-cyp3a4", "revumenib"))


def _plan(regimen: Regimen) -> list:
    """Per regimen, once: each step paired with the label rule that adjusts it (venetoclax steps grouped)."""
    entry = _PLANS.get(id(regimen))
    if entry is None or entry[0] is not regimen:
        plans = []
        for schedule in regimen.schedules:
            plan: list = []
            ven = [s for s in schedule.steps if "venetoclax-cyp3a4" in s.adjustments]
            for step in schedule.steps:
                if "venetoclax-cyp3a4" in step.adjustments:
                    if step is ven[0]:
                        plan.append(("venetoclax", ven))
                    continue
                kind = next((k for hook, k in _HOOKS if hook in step.adjustments), "plain")
                plan.append((kind, step))
            plans.append((schedule, plan))
        entry = _PLANS[id(regimen)] = (regimen, plans)
    return entry[1]


def regimen_doses(*, regimen: Regimen, workup: Workup, assessment: Assessment, kb: KnowledgeBase,
                  config: DosingConfig | None = None) -> list[DoseLine]:
    """The patient's dose lines for every schedule and step of a regimen."""
    return DoseCalculator(kb=kb, workup=workup, assessment=assessment, config=config or DosingConfig()).regimen(regimen)


def doses_for_all(*, regimens, workup: Workup, assessment: Assessment, kb: KnowledgeBase,
                  config: DosingConfig | None = None) -> dict[str, list[DoseLine]]:
    engine = DoseCalculator(kb=kb, workup=workup, assessment=assessment, config=config or DosingConfig())
    return {r.id: engine.regimen(r) for r in regimens}
