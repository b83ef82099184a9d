"""Regimen components + patient → dose lines, every adjustment named with its source.

Label rules implemented (tables in parameters.yaml): venetoclax with CYP3A/P-gp inhibitors incl. the
AML ramp-up; ivosidenib and revumenib with strong CYP3A4 inhibitors; revumenib by weight band and
rounded to its tablets; fludarabine by CrCl; the renal and hepatic rules of each drug's label
(``organ_dose_rules``: etoposide, idarubicin, venetoclax, gemtuzumab, ...); filgrastim to a prefilled
syringe; per-dose caps (gemtuzumab vial); an optional institutional BSA cap. Where no label rule exists
(cytarabine ≥1 g/m² with renal impairment, mitoxantrone in hepatic impairment, cumulative
anthracycline), the engine notes or warns and never invents a reduction.

Dose-line status (contract v2): 'adjusted' when a change was applied (each named in ``adjustments``);
'not_assessed' when a label rule that could change or withhold the dose needs an input the workup lacks
(``not_assessed`` names it). A missing input never yields 'adjusted'. A line with both keeps its
adjustments and is 'not_assessed': the clinician must still supply the missing value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import NamedTuple

from .assessment import BSA_FORMULA_LABELS, BSA_FORMULAS
from .knowledge import (
    ORGAN_INPUTS,
    DoseStep,
    FludarabineBand,
    KnowledgeBase,
    OrganDoseRule,
    Parameters,
    Regimen,
    RoundingBand,
    Schedule,
)
from .result import Assessment, DoseLine, DosingBasis
from .workup import LAB_UNIT_WORDS, Workup

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
    else:
        raise ValueError(f"no rounding band for {value}")  # the knowledge base's last band is open-ended
    rounded = math.floor(value / step + 0.5) * step
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return round(rounded, decimals)


def nearest_syringe(mcg: float, syringes: list[float]) -> float:
    """Nearest prefilled syringe; on a tie, the smaller one."""
    return min(syringes, key=lambda s: (abs(s - mcg), s))


def _fmt(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _crcl_weight_words(assessment: Assessment) -> str:
    weight = assessment.crcl_weight
    if weight is None:
        return "weight not stated"
    return f"{weight.basis} body weight {_fmt(weight.kg)} kg"


def makeable_amounts(target: float, strengths: list[float]) -> tuple[float, dict[float, int]]:
    """The amount nearest ``target`` that whole tablets of these strengths make (a tie: the smaller
    amount), with the combination that uses the fewest tablets."""
    strengths = sorted(strengths, reverse=True)
    best: dict[float, dict[float, int]] = {0.0: {}}
    limit = target + max(strengths)
    frontier = [0.0]
    while frontier:  # breadth-first: each amount is first reached with the fewest tablets
        following = []
        for amount in frontier:
            for strength in strengths:
                total = amount + strength
                if total <= limit and total not in best:
                    combo = dict(best[amount])
                    combo[strength] = combo.get(strength, 0) + 1
                    best[total] = combo
                    following.append(total)
        frontier = following
    amount = min((a for a in best if a > 0), key=lambda a: (abs(a - target), a))
    return amount, best[amount]


def dosing_basis(*, workup: Workup, assessment: Assessment) -> DosingBasis:
    formula = BSA_FORMULA_LABELS[assessment.bsa_formula]
    text = (
        f"Height {_fmt(assessment.height_cm)} cm, weight {_fmt(assessment.weight_kg)} kg, BSA "
        f"{assessment.bsa_m2:.2f} m² ({formula})"
    )
    if assessment.bsa_cap_m2:
        text += f"; institutional cap {assessment.bsa_cap_m2:.2f} m² applied → {assessment.bsa_used_m2:.2f} m²"
    if assessment.crcl_ml_min is not None:
        text += f"; CrCl {assessment.crcl_ml_min:.0f} mL/min (Cockcroft–Gault, {_crcl_weight_words(assessment)})"
    organ = organ_values(workup=workup, assessment=assessment)
    for measure in ("bilirubin", "child_pugh"):
        if organ.shown[measure]:
            text += f"; {organ.shown[measure]}"
    inhibitor = workup.context.cyp3a4_inhibitor
    text += "; CYP3A4/P-gp inhibitor: " + ("none" if inhibitor == "none" else inhibitor)
    return DosingBasis(
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


class ScheduledStep(NamedTuple):
    """One dose step of a regimen, with the schedule it belongs to."""

    schedule: Schedule
    step: DoseStep


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


@dataclass(frozen=True)
class OrganValues:
    """The patient's organ function as the label rules read it: value and words, per measure."""

    values: dict  # measure → number (CrCl mL/min, bilirubin mg/dL) or Child-Pugh class; None = missing
    shown: dict  # measure → the value in words, e.g. 'CrCl 29 mL/min (adjusted body weight 93 kg)'


def organ_values(*, workup: Workup, assessment: Assessment) -> OrganValues:
    p = workup.patient
    crcl = assessment.crcl_ml_min
    bili = p.bilirubin
    values = {"crcl": crcl, "bilirubin": bili.mg_dl if bili else None, "child_pugh": p.child_pugh}
    shown = {
        "crcl": None if crcl is None else f"CrCl {crcl:.0f} mL/min ({_crcl_weight_words(assessment)})",
        "bilirubin": None if bili is None else (
            f"bilirubin {bili.value:g} mg/dL" if bili.unit == "mg/dL"
            else f"bilirubin {bili.value:g} {LAB_UNIT_WORDS[bili.unit]} ({bili.mg_dl:.1f} mg/dL)"),
        "child_pugh": None if p.child_pugh is None else f"Child-Pugh {p.child_pugh}",
    }
    return OrganValues(values=values, shown=shown)


def _rules_for(params: Parameters, drug: str, jurisdiction: str) -> list[OrganDoseRule]:
    return [r for r in params.organ_dose_rules if r.drug == drug and jurisdiction in r.jurisdictions]


def renal_dose_band(params: Parameters, drug: str, crcl: float, jurisdiction: str) -> tuple[float, ...]:
    """What a drug's label renal rules do at this clearance, as comparable factors (1 = full dose, 0 = not
    given): two clearances with different bands give different doses."""
    factors = []
    if drug == "fludarabine":
        factors.append(fludarabine_band(params, crcl).factor)
    for rule in _rules_for(params, drug, jurisdiction):
        if rule.measure == "crcl" and rule.action in ("reduce", "withhold") and rule.matches(crcl):
            factors.append(0.0 if rule.action == "withhold" else rule.factor)
    return tuple(factors)


def withheld_drugs(*, kb: KnowledgeBase, workup: Workup, assessment: Assessment) -> dict[str, str]:
    """Drug → the label sentence, with the patient's value, for each drug whose label says not to give it
    at this organ function (fludarabine below its CrCl band, idarubicin above its bilirubin limit, ...).

    For the rules engine: a regimen containing one of these drugs cannot be given as printed."""
    params = kb.parameters
    organ = organ_values(workup=workup, assessment=assessment)
    withheld: dict[str, str] = {}
    crcl = organ.values["crcl"]
    if crcl is not None:
        band = fludarabine_band(params, crcl)
        if band.factor == 0:
            withheld["fludarabine"] = f"{band.text}; {organ.shown['crcl']}"
    for rule in params.organ_dose_rules:
        if rule.action != "withhold" or workup.context.jurisdiction not in rule.jurisdictions:
            continue
        value = organ.values[rule.measure]
        if value is not None and rule.matches(value) and rule.drug not in withheld:
            withheld[rule.drug] = f"{rule.text}; {organ.shown[rule.measure]}"
    return withheld


class DoseCalculator:
    def __init__(self, *, kb: KnowledgeBase, workup: Workup, assessment: Assessment, config: DosingConfig):
        self.params: Parameters = kb.parameters
        self.workup = workup
        self.assessment = assessment
        self.bands = config.rounding or tuple(kb.parameters.rounding)
        self.rounding_text = kb.parameters.rounding_text if config.rounding is None else "institutional rule"
        self.inhibitor = workup.context.cyp3a4_inhibitor
        self.strong = self.inhibitor in self.params.strong_cyp3a4_inhibitors
        self.jurisdiction = workup.context.jurisdiction
        self.organ = organ_values(workup=workup, assessment=assessment)
        self.organ_dose_rules: dict[str, list[OrganDoseRule]] = {}  # drug → its label rules in this jurisdiction
        for rule in self.params.organ_dose_rules:
            if self.jurisdiction in rule.jurisdictions:
                self.organ_dose_rules.setdefault(rule.drug, []).append(rule)
        formula = BSA_FORMULA_LABELS[assessment.bsa_formula]
        # Doses are computed from the unrounded BSA; the displayed BSA (2 decimals) is the assessment's.
        exact_bsa = BSA_FORMULAS[assessment.bsa_formula](assessment.height_cm, assessment.weight_kg)
        self.bsa_used = min(exact_bsa, assessment.bsa_cap_m2) if assessment.bsa_cap_m2 else exact_bsa
        self.weight = assessment.weight_kg
        weight_text = _fmt(assessment.weight_kg)
        self.bsa_basis = f"BSA {assessment.bsa_used_m2:.2f} m² ({formula}; {_fmt(assessment.height_cm)} cm, " \
                         f"{weight_text} kg; dose from the unrounded {self.bsa_used:.4f} m²)"
        self.weight_basis = f"actual body weight {weight_text} kg"
        self.cap_text = (
            f"institutional BSA cap {assessment.bsa_cap_m2:.2f} m² applied (actual BSA {assessment.bsa_m2:.2f} m²)"
            if assessment.bsa_cap_m2 else None
        )

    # -- organ function (labels) ---------------------------------------------------------------------
    def organ_rules(self, step: DoseStep, dose: float | None, unit: str | None):
        """(factor, adjustments, notes, not_assessed, withheld) from the drug's label renal and hepatic rules."""
        factor = 1.0
        adjustments: list[str] = []
        notes: list[str] = []
        missing: dict[str, list[str]] = {}
        withheld = False
        for rule in self.organ_dose_rules.get(step.drug, []):
            if rule.min_dose is not None and (dose is None or unit != step.unit or dose < rule.min_dose):
                continue
            if rule.action == "info":
                notes.append(rule.text)
                continue
            value = self.organ.values[rule.measure]
            if value is None:
                if rule.assesses:
                    missing.setdefault(ORGAN_INPUTS[rule.measure], []).append(rule.text)
                continue
            if not rule.matches(value):
                continue
            shown = self.organ.shown[rule.measure]
            if rule.action == "reduce":
                if dose is not None:
                    before, after = dose * factor, dose * factor * rule.factor
                    adjustments.append(f"{rule.text}: {_fmt(before)} → {_fmt(after)} {unit}; {shown}")
                factor *= rule.factor
            elif rule.action == "withhold":
                withheld = True
                adjustments.append(f"{rule.text}; {shown}")
            else:
                notes.append(f"{rule.text} — {shown}")
        for texts in missing.values():  # the line's status and not_assessed name the missing input
            notes.append("; ".join(texts))
        return factor, adjustments, notes, list(missing), withheld

    # -- one line ------------------------------------------------------------------------------
    def line(self, scheduled: ScheduledStep, *, dose=None, unit=None, days=None, frequency=None,
             adjustments=None, withheld=False, notes=None, not_assessed=None) -> DoseLine:
        """The patient's dose line for one step; the keyword arguments carry a label rule's changes."""
        schedule, step = scheduled
        if unit is None:
            unit = step.unit
        if dose is None:
            dose = step.dose
        adjustments = list(adjustments or [])
        not_assessed = list(not_assessed or [])
        factor, organ_adjustments, organ_notes, organ_missing, organ_withheld = self.organ_rules(step, dose, unit)
        adjustments.extend(organ_adjustments)
        not_assessed.extend(n for n in organ_missing if n not in not_assessed)
        withheld = withheld or organ_withheld
        if dose is not None and factor != 1:
            dose = round(dose * factor, 4)
        line_notes = list(step.notes)
        jurisdiction_note = step.jurisdiction_notes.get(self.jurisdiction)
        if jurisdiction_note:
            line_notes.append(f"{self.jurisdiction}: {jurisdiction_note}")
        line_notes.extend(notes or [])
        line_notes.extend(organ_notes)
        computed = rounded = computed_unit = rounding = None
        if dose is None:
            basis = "per institutional protocol (no dose in the source)"
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
            if "filgrastim-syringe" in step.adjustments and computed_unit == "mcg":
                rounded, rounding = self.syringe(computed)
            elif "revumenib-tablets" in step.adjustments and computed_unit == "mg":
                rounded, rounding = self.tablets(computed)
            elif unit == "mg" or unit == "mcg":
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
        return DoseLine(
            drug=step.drug, schedule=schedule.id, schedule_label=schedule.label, dose=dose, unit=unit,
            computed=computed, rounded=rounded, computed_unit=computed_unit, route=step.route,
            frequency=frequency or step.frequency, days=days or step.days, infusion=step.infusion, basis=basis,
            rounding=rounding, adjustments=adjustments, notes=line_notes, withheld=withheld,
            status="not_assessed" if not_assessed else "adjusted" if adjustments else "standard",
            not_assessed=not_assessed,
        )

    def syringe(self, mcg: float) -> tuple[float, str]:
        """Nearest prefilled syringe; the deviation is stated when it exceeds the knowledge base's limit."""
        syringes = self.params.filgrastim_syringes_mcg
        rounded = nearest_syringe(mcg, syringes)
        rounding = f"nearest prefilled syringe ({' or '.join(f'{s:g}' for s in syringes)} mcg)"
        deviation = 100 * (rounded - mcg) / mcg
        if abs(deviation) > self.params.filgrastim_deviation_pct:
            rounding += (f"; the {rounded:g} mcg syringe is {abs(deviation):.0f}% "
                         f"{'above' if deviation > 0 else 'below'} the weight-based {_fmt(mcg)} mcg "
                         f"(more than {self.params.filgrastim_deviation_pct:g}%)")
        return rounded, rounding

    def tablets(self, mg: float) -> tuple[float, str]:
        strengths = self.params.revumenib_tablets_mg
        amount, combo = makeable_amounts(mg, strengths)
        tablets = " + ".join(f"{n} × {s:g} mg" for s, n in sorted(combo.items(), reverse=True))
        made = "/".join(f"{s:g}" for s in sorted(strengths))
        return amount, f"nearest amount the {made} mg tablets make: {amount:g} mg ({tablets}) (label, How Supplied)"

    # -- label adjustments -----------------------------------------------------------------------
    def fludarabine(self, scheduled: ScheduledStep) -> DoseLine:
        step = scheduled.step
        crcl = self.assessment.crcl_ml_min
        if crcl is None:
            return self.line(scheduled, not_assessed=["creatinine"], notes=[
                "the fludarabine label reduces the dose at CrCl "
                f"<{fludarabine_full_dose_from(self.params):g} mL/min and withholds it below "
                f"{fludarabine_withheld_below(self.params):g}"
            ])
        band = fludarabine_band(self.params, crcl)
        shown = self.organ.shown["crcl"]
        if band.factor >= 1:
            return self.line(scheduled)
        if band.factor == 0:
            return self.line(scheduled, adjustments=[f"{band.text}; {shown}"], withheld=True)
        return self.line(scheduled, dose=round(step.dose * band.factor, 2),
                         adjustments=[f"{band.text}: {step.dose:g} → {step.dose * band.factor:g} mg/m²; {shown}"])

    def ivosidenib(self, scheduled: ScheduledStep) -> DoseLine:
        if not self.strong:
            return self.line(scheduled)
        reduced = self.params.ivosidenib_strong_cyp3a4_mg
        return self.line(scheduled, dose=reduced, adjustments=[
            f"strong CYP3A4 inhibitor ({self.inhibitor}): {scheduled.step.dose:g} → {reduced:g} mg once daily "
            "(ivosidenib label)"
        ])

    def revumenib(self, scheduled: ScheduledStep) -> DoseLine:
        weight = self.assessment.weight_kg
        row = next(
            r for r in self.params.revumenib
            if r.strong_cyp3a4 == self.strong
            and (r.weight_min_kg is None or weight >= r.weight_min_kg)
            and (r.weight_max_kg is None or weight < r.weight_max_kg)
        )
        band = f"weight {_fmt(weight)} kg ({'≥' if row.weight_min_kg else '<'}40 kg)"
        inhib = f"strong CYP3A4 inhibitor ({self.inhibitor})" if self.strong else "no strong CYP3A4 inhibitor"
        text = f"revumenib label table: {band}, {inhib} → {row.dose:g} {row.unit} {row.frequency}"
        if (row.dose, row.unit) == (scheduled.step.dose, scheduled.step.unit):
            # The regimen's own dose: the table row is shown, but nothing was changed.
            return self.line(scheduled, frequency=row.frequency, notes=[text])
        return self.line(scheduled, dose=row.dose, unit=row.unit, frequency=row.frequency, adjustments=[text])

    def venetoclax(self, group: list[ScheduledStep]) -> list[DoseLine]:
        if self.inhibitor == "none":
            return [self.line(scheduled) for scheduled in group]
        steps = [scheduled.step for scheduled in group]
        row = next(r for r in self.params.venetoclax_inhibitors if r.inhibitor == self.inhibitor)
        regimen_doses = ", ".join(f"{s.dose:g} mg {s.days}" for s in steps)
        if row.factor is not None:
            return [
                self.line(scheduled, dose=step.dose * row.factor, adjustments=[
                    f"{row.text}: {step.dose:g} → {step.dose * row.factor:g} mg; resume the prior dose 2–3 "
                    "days after the inhibitor stops"
                ])
                for scheduled, step in zip(group, steps, strict=True)
            ]
        first, last = _DAY_RANGE.match(steps[0].days), _DAY_RANGE.match(steps[-1].days)
        if len(steps) == 1 or not (first and last):
            # No ramp-up in this regimen (e.g. FLAG-IDA + venetoclax D1-7): the label's steady dose, in
            # words that describe no ramp-up.
            text = row.steady_text or row.text
            return [self.line(scheduled, dose=row.steady_mg, adjustments=[
                f"{text}; regimen dose without inhibitor: {regimen_doses}"]) for scheduled in group]
        adjustment = f"{row.text}; regimen dose without inhibitor: {regimen_doses}"
        end_day = int(last.group(2) or last.group(1))
        template = group[-1]
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
        """Every schedule's dose lines, each step through the label rule that adjusts it."""
        lines: list[DoseLine] = []
        for schedule in regimen.schedules:
            # Venetoclax steps are dosed together: an inhibitor can turn them into one ramp-up.
            venetoclax = [ScheduledStep(schedule, step) for step in schedule.steps
                          if "venetoclax-cyp3a4" in step.adjustments]
            for step in schedule.steps:
                scheduled = ScheduledStep(schedule, step)
                if "venetoclax-cyp3a4" in step.adjustments:
                    if step is venetoclax[0].step:
                        lines.extend(self.venetoclax(venetoclax))
                elif "fludarabine-renal" in step.adjustments:
                    lines.append(self.fludarabine(scheduled))
                elif "ivosidenib-strong-cyp3a4" in step.adjustments:
                    lines.append(self.ivosidenib(scheduled))
                elif "revumenib-weight-cyp3a4" in step.adjustments:
                    lines.append(self.revumenib(scheduled))
                else:
                    lines.append(self.line(scheduled))
        return lines


def regimen_doses(*, regimen: Regimen, workup: Workup, assessment: Assessment, kb: KnowledgeBase,
                  config: DosingConfig | None = None) -> list[DoseLine]:
    """The patient's dose lines for every schedule and step of a regimen."""
    return DoseCalculator(kb=kb, workup=workup, assessment=assessment, config=config or DosingConfig()).regimen(regimen)
