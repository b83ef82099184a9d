"""What a regimen contains, as the rules (tiers) and the warnings both need to know it — one definition.

A regimen without a schedule in our sources (CLAG-M, GCLAC) still carries the knowledge base's static
cerebellar or cumulative-anthracycline warning: that warning is the knowledge base's statement that the
regimen contains cytarabine ≥1 g/m² or an anthracycline, so it counts too.
"""

from __future__ import annotations

from .knowledge import Parameters, Regimen

CEREBELLAR_WARNING = "cytarabine-cerebellar"
ANTHRACYCLINE_WARNING = "anthracycline-cumulative"


def regimen_drugs(regimen: Regimen) -> set[str]:
    """Every drug given in any schedule of the regimen, by generic name."""
    return {step.drug for schedule in regimen.schedules for step in schedule.steps}


def has_high_dose_cytarabine(regimen: Regimen, params: Parameters) -> bool:
    """Cytarabine at or above the cerebellar-toxicity dose (parameters.yaml), or the knowledge base says so."""
    return CEREBELLAR_WARNING in regimen.warnings or any(
        step.drug == "cytarabine" and step.unit == "mg/m2" and step.dose is not None
        and step.dose >= params.cytarabine_high_dose_mg_m2
        for schedule in regimen.schedules for step in schedule.steps
    )


def anthracyclines_in(regimen: Regimen, params: Parameters) -> set[str]:
    """The anthracyclines and anthracenediones the regimen's schedules give (the agents of the doxorubicin
    equivalence table)."""
    return regimen_drugs(regimen) & set(params.conditional_warnings.doxorubicin_equivalence)


def has_anthracycline(regimen: Regimen, params: Parameters) -> bool:
    return ANTHRACYCLINE_WARNING in regimen.warnings or bool(anthracyclines_in(regimen, params))
