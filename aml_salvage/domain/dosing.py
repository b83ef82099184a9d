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
from .knowledge import (
    JURISDICTIONS,
    DoseStep,
    FludarabineBand,
    KnowledgeBase,
    Parameters,
    Regimen,
    RoundingBand,
    Schedule,
)
from .memo import IdentityMemo
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


class _StepPlan:
    """One dose step, prepared once per regimen: its schedule and, per jurisdiction, the fields of its
    dose line that do not depend on the patient (footnotes include a jurisdiction-specific note)."""

    __slots__ = ("step", "filgrastim", "template", "flat")

    def __init__(self, step: DoseStep, schedule: Schedule):
        self.step = step
        self.filgrastim = "filgrastim-syringe" in step.adjustments
        # Lines of a flat dose (mg, mcg) do not depend on the patient: built once per variant, then shared.
        self.flat: dict[tuple, DoseLine] = {}
        self.template = {}
        for jur in JURISDICTIONS:
            note = step.jurisdiction_notes.get(jur)
            self.template[jur] = {
                "drug": step.drug, "schedule": schedule.id, "schedule_label": schedule.label,
                "dose": step.dose, "unit": step.unit, "computed": None, "rounded": None, "computed_unit": None,
                "route": step.route, "frequency": step.frequency, "days": step.days, "infusion": step.infusion,
                "basis": None, "rounding": None, "adjustments": None,
                "notes": step.notes + [f"{jur}: {note}"] if note else step.notes,
                "withheld": False, "status": "standard", "not_assessed": [],
            }


def _band_table(bands) -> tuple[tuple[float | None, float, int | None], ...]:
    """(below, step, decimals) per band: ``round_dose`` without recomputing the decimals per dose. decimals
    is None for a whole-number step, whose multiples are exact floats that round(…, 0) leaves unchanged."""
    table = []
    for b in bands:
        decimals = max(0, -math.floor(math.log10(b.step_mg))) if b.step_mg < 1 else 0
        table.append((b.below_mg, b.step_mg, None if decimals == 0 and b.step_mg == int(b.step_mg) else decimals))
    return tuple(table)


def fludarabine_band(params: Parameters, crcl: float) -> FludarabineBand:
    """The fludarabine label's CrCl band for this clearance (parameters.yaml): the one place it is read."""
    return next(b for b in params.fludarabine_renal
                if crcl >= b.crcl_min and (b.crcl_max is None or crcl < b.crcl_max))


def fludarabine_full_dose_from(params: Parameters) -> float:
    """The lowest CrCl at which the label gives the full fludarabine dose."""
    return min(b.crcl_min for b in params.fludarabine_renal if b.factor >= 1)


def fludarabine_withheld_below(params: Parameters) -> float:
    """The CrCl below which the label says not to give fludarabine."""
    return max(b.crcl_max for b in params.fludarabine_renal if b.factor == 0 and b.crcl_max is not None)


class DoseCalculator:
    def __init__(self, *, kb: KnowledgeBase, workup: Workup, assessment: Assessment, config: DosingConfig):
        self.params: Parameters = kb.parameters
        self.workup = workup
        self.a = assessment
        self.bands = config.rounding or tuple(kb.parameters.rounding)
        self._bands: tuple | None = None  # _band_table(self.bands), on first use
        self.rounding_text = kb.parameters.rounding_text if config.rounding is None else "institutional rule"
        self.inhibitor = workup.context.cyp3a4_inhibitor
        self.strong = self.inhibitor in self.params.strong_cyp3a4_inhibitors
        self.jurisdiction = workup.context.jurisdiction
        formula = BSA_FORMULA_LABELS[assessment.bsa_formula]
        self.bsa_used = assessment.bsa_used_m2
        self.weight = assessment.weight_kg
        weight_text = _fmt(assessment.weight_kg)
        self.bsa_basis = f"BSA {assessment.bsa_used_m2:.2f} m² ({formula}; {_fmt(assessment.height_cm)} cm, " \
                         f"{weight_text} kg)"
        self.weight_basis = f"actual body weight {weight_text} kg"
        self.cap_text = (
            f"institutional BSA cap {assessment.bsa_cap_m2:.2f} m² applied (actual BSA {assessment.bsa_m2:.2f} m²)"
            if assessment.bsa_cap_m2 else None
        )

    def _round(self, value: float) -> float:
        """round_dose(value, self.bands), with the band table computed once per calculator."""
        table = self._bands
        if table is None:
            table = self._bands = _band_table(self.bands)
        for below, step, decimals in table:
            if below is None or value < below:
                rounded = math.floor(value / step + 0.5) * step
                return float(rounded) if decimals is None else round(rounded, decimals)
        raise ValueError(f"no rounding band for {value}")  # the knowledge base's last band is open-ended

    # -- one line ------------------------------------------------------------------------------
    def line(self, sp: _StepPlan, *, dose=None, unit=None, days=None, frequency=None, adjustments=None,
             withheld=False) -> DoseLine:
        step = sp.step
        if unit is None:
            unit = step.unit
        flat_key = None
        if (unit == "mg" or unit == "mcg") and not withheld:
            flat_key = (self.jurisdiction, dose, unit, days, frequency, tuple(adjustments) if adjustments else ())
            found = sp.flat.get(flat_key)
            if found is not None:
                return found
        values = sp.template[self.jurisdiction].copy()
        if dose is None:
            dose = step.dose
        else:
            values["dose"] = dose
        if unit != step.unit:
            values["unit"] = unit
        if days:
            values["days"] = days
        if frequency:
            values["frequency"] = frequency
        values["adjustments"] = adjustments = [] if adjustments is None else adjustments
        if dose is None:
            values["basis"] = "per institutional protocol (no dose in the source)"
        else:
            if unit == "mg/m2":
                computed, computed_unit, basis = dose * self.bsa_used, "mg", self.bsa_basis
                if self.cap_text:
                    adjustments.append(self.cap_text)
            elif unit == "mg/kg":
                computed, computed_unit, basis = dose * self.weight, "mg", self.weight_basis
            elif unit == "mcg/kg":
                computed, computed_unit, basis = dose * self.weight, "mcg", self.weight_basis
            else:
                computed, computed_unit = dose, unit
                basis = "flat dose (not BSA- or weight-based)"
            if sp.filgrastim and computed_unit == "mcg":
                rounded = nearest_syringe(computed, self.params.filgrastim_syringes_mcg)
                syringes = " or ".join(f"{s:g}" for s in self.params.filgrastim_syringes_mcg)
                rounding = f"nearest prefilled syringe ({syringes} mcg)"
            elif unit == "mg" or unit == "mcg":
                rounded = computed
                rounding = "flat dose, not rounded"
            else:
                rounded = self._round(computed)
                rounding = self.rounding_text
            if step.max_dose_mg is not None and computed_unit == "mg" and rounded > step.max_dose_mg:
                rounded = step.max_dose_mg
                adjustments.append(f"capped at {step.max_dose_mg:g} mg per dose (label maximum)")
            values["computed"] = round(computed, 2)
            values["rounded"] = None if withheld else rounded
            values["computed_unit"] = computed_unit
            values["basis"] = basis
            values["rounding"] = rounding
        if withheld:
            values["withheld"] = True
        if adjustments:
            values["status"] = "adjusted"
        line = DoseLine.from_values(values)
        if flat_key is not None:
            sp.flat[flat_key] = line
        return line

    # -- label adjustments -----------------------------------------------------------------------
    def fludarabine(self, sp: _StepPlan) -> DoseLine:
        step = sp.step
        crcl = self.a.crcl_ml_min
        if crcl is None:
            return self.line(sp, adjustments=[
                "renal function not assessed (no creatinine): the label reduces fludarabine at CrCl "
                f"<{fludarabine_full_dose_from(self.params):g} mL/min and withholds it below "
                f"{fludarabine_withheld_below(self.params):g} — enter creatinine"
            ])
        band = fludarabine_band(self.params, crcl)
        if band.factor >= 1:
            return self.line(sp)
        if band.factor == 0:
            return self.line(sp, adjustments=[f"{band.text}; CrCl {crcl:.0f} mL/min"], withheld=True)
        return self.line(sp, dose=round(step.dose * band.factor, 2),
                         adjustments=[f"{band.text}: {step.dose:g} → {step.dose * band.factor:g} mg/m²; "
                                      f"CrCl {crcl:.0f} mL/min"])

    def ivosidenib(self, sp: _StepPlan) -> DoseLine:
        if not self.strong:
            return self.line(sp)
        reduced = self.params.ivosidenib_strong_cyp3a4_mg
        return self.line(sp, dose=reduced, adjustments=[
            f"strong CYP3A4 inhibitor ({self.inhibitor}): {sp.step.dose:g} → {reduced:g} mg once daily "
            "(ivosidenib label)"
        ])

    def revumenib(self, sp: _StepPlan) -> DoseLine:
        weight = self.a.weight_kg
        row = next(
            r for r in self.params.revumenib
            if r.strong_cyp3a4 == self.strong
            and (r.weight_min_kg is None or weight >= r.weight_min_kg)
            and (r.weight_max_kg is None or weight < r.weight_max_kg)
        )
        band = f"weight {_fmt(weight)} kg ({'≥' if row.weight_min_kg else '<'}40 kg)"
        inhib = f"strong CYP3A4 inhibitor ({self.inhibitor})" if self.strong else "no strong CYP3A4 inhibitor"
        return self.line(sp, dose=row.dose, unit=row.unit, frequency=row.frequency, adjustments=[
            f"revumenib label table: {band}, {inhib} → {row.dose:g} {row.unit} {row.frequency}"
        ])

    def venetoclax(self, sps: list[_StepPlan]) -> list[DoseLine]:
        if self.inhibitor == "none":
            return [self.line(sp) for sp in sps]
        steps = [sp.step for sp in sps]
        row = next(r for r in self.params.venetoclax_inhibitors if r.inhibitor == self.inhibitor)
        regimen_doses = ", ".join(f"{s.dose:g} mg {s.days}" for s in steps)
        if row.factor is not None:
            return [
                self.line(sp, dose=sp.step.dose * row.factor, adjustments=[
                    f"{row.text}: {sp.step.dose:g} → {sp.step.dose * row.factor:g} mg; resume the prior dose 2–3 "
                    "days after the inhibitor stops"
                ])
                for sp in sps
            ]
        first, last = _DAY_RANGE.match(steps[0].days), _DAY_RANGE.match(steps[-1].days)
        adjustment = f"{row.text}; regimen dose without inhibitor: {regimen_doses}"
        if len(steps) == 1 or not (first and last):
            # No ramp-up in this regimen (e.g. FLAG-IDA + venetoclax D1-7): the label's steady dose.
            return [self.line(sp, dose=row.steady_mg, adjustments=[adjustment]) for sp in sps]
        end_day = int(last.group(2) or last.group(1))
        template = sps[-1]
        lines = [
            self.line(template, dose=r.dose_mg, days=r.days, adjustments=[adjustment])
            for r in row.ramp_up
        ]
        next_day = len(row.ramp_up) + 1
        steady_days = f"D{next_day}-{end_day}" if end_day > next_day else f"D{next_day}"
        lines.append(self.line(template, dose=row.steady_mg, days=steady_days, adjustments=[adjustment]))
        return lines

    # -- a whole regimen -------------------------------------------------------------------------
    def regimen(self, regimen: Regimen) -> list[DoseLine]:
        lines: list[DoseLine] = []
        line = self.line
        for kind, payload in _plan(regimen):
            if kind == "plain":
                lines.append(line(payload))
            elif kind == "venetoclax":
                lines.extend(self.venetoclax(payload))
            elif kind == "fludarabine":
                lines.append(self.fludarabine(payload))
            elif kind == "ivosidenib":
                lines.append(self.ivosidenib(payload))
            else:
                lines.append(self.revumenib(payload))
        return lines


_PLANS = IdentityMemo(max_entries=256)
_HOOKS = (("fludarabine-renal", "fludarabine"), ("ivosidenib-strong-cyp3a4", "ivosidenib"),
          ("revumenib-weight-cyp3a4", "revumenib"))


def _plan(regimen: Regimen) -> list:
    """Per regimen, once: each step paired with the label rule that adjusts it (venetoclax steps grouped)."""
    return _PLANS.get(regimen, lambda: _build_plan(regimen))


def _build_plan(regimen: Regimen) -> list:
    plan: list = []
    for schedule in regimen.schedules:
        ven = [_StepPlan(s, schedule) for s in schedule.steps if "venetoclax-cyp3a4" in s.adjustments]
        for step in schedule.steps:
            if "venetoclax-cyp3a4" in step.adjustments:
                if step is ven[0].step:
                    plan.append(("venetoclax", ven))
                continue
            kind = next((k for hook, k in _HOOKS if hook in step.adjustments), "plain")
            plan.append((kind, _StepPlan(step, schedule)))
    return plan


def regimen_doses(*, regimen: Regimen, workup: Workup, assessment: Assessment, kb: KnowledgeBase,
                  config: DosingConfig | None = None) -> list[DoseLine]:
    """The patient's dose lines for every schedule and step of a regimen."""
    return DoseCalculator(kb=kb, workup=workup, assessment=assessment, config=config or DosingConfig()).regimen(regimen)


def doses_for_all(*, regimens, workup: Workup, assessment: Assessment, kb: KnowledgeBase,
                  config: DosingConfig | None = None) -> dict[str, list[DoseLine]]:
    engine = DoseCalculator(kb=kb, workup=workup, assessment=assessment, config=config or DosingConfig())
    return {r.id: engine.regimen(r) for r in regimens}
