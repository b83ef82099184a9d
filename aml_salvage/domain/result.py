"""The consult result: the output half of the JSON contract (workup-schema.md).

Fields may be added to the contract but never renamed or removed; the added ones here carry the
detail a clinician needs to check a recommendation (rule ids, attribution, dose basis, sources).
The engine builds them with ordinary validation, so a missing or mistyped field fails where it is made.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Tier = Literal["preferred", "alternative", "consider", "not_recommended"]
TIERS: tuple[Tier, ...] = ("preferred", "alternative", "consider", "not_recommended")
TIER_LABELS = {
    "preferred": "Preferred",
    "alternative": "Alternative",
    "consider": "Consider",
    "not_recommended": "Not recommended",
}


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EpiResult(_Out):
    score: int
    group: Literal["favorable", "intermediate", "poor"]
    points: dict[str, int]  # rfi, cytogenetics, age, prior_sct
    bands: dict[str, str]  # the band each factor fell in, in words
    os_1y_pct: float
    os_5y_pct: float
    caveats: list[str]
    sources: list[str]


class CrclWeightOut(_Out):
    """The body weight Cockcroft–Gault used (contract v2)."""

    basis: Literal["actual", "ideal", "adjusted"]
    kg: float


class Assessment(_Out):
    status: Literal["primary_refractory", "relapse", "mrd_relapse"]
    status_label: str
    status_definition: str
    relapse_number: int | None
    cr1_duration_months: float | None
    early_relapse: bool | None
    cr1_le_12_months: bool | None
    post_hct: bool
    months_since_hct: float | None
    epi: EpiResult | None
    epi_note: str | None
    height_cm: float
    weight_kg: float
    bsa_m2: float
    bsa_formula: Literal["mosteller", "dubois"]
    bsa_used_m2: float  # after an institutional cap, if any
    bsa_cap_m2: float | None
    crcl_ml_min: float | None
    crcl_note: str
    # Contract v2. The defaults only serve consults saved before these fields existed (read back from the
    # database); the engine always sets them.
    bmi: float | None = None  # kg/m²
    crcl_weight: CrclWeightOut | None = None  # None without creatinine
    crcl_by_weight: dict[str, float] = {}  # CrCl with each body weight that can be computed; empty without creatinine
    targets: list[str]  # targetable lesions present at relapse, in words
    adverse_risk: bool
    notes: list[str]


class Reason(_Out):
    rule_id: str
    text: str
    sources: list[str]  # reference ids
    attribution: str  # 'DT20', 'FRC25', 'label', ...


class View(_Out):
    """One article's position where DT20 and FRC25 differ; both are always shown."""

    source: str
    text: str
    rule_id: str


class SecondaryFigureOut(_Out):
    label: str
    value: str
    source: str


class EvidenceOut(_Out):
    id: str
    study: str
    reference: str
    reported_in: tuple[str, ...]
    design: str
    population: str
    setting: str
    n: int | None
    metric: str
    metric_definition: str
    value_pct: float | None
    numerator: int | None
    denominator: int | None
    comparator: str | None
    median_os_months: float | None
    median_os_detail: str | None
    secondary: tuple[SecondaryFigureOut, ...]
    notes: tuple[str, ...]
    uncertain: bool


class AvailabilityOut(_Out):
    jurisdiction: str
    status: Literal["available", "restricted", "unavailable"]
    sources: tuple[str, ...]
    as_of: str
    note: str | None


class DoseLine(_Out):
    drug: str
    schedule: str  # schedule id within the regimen ('standard', 'alternative', 'azacitidine', ...)
    schedule_label: str
    dose: float | None  # per-unit dose as in the regimen table (after label adjustments of flat doses)
    unit: str | None  # mg/m2, mg/kg, mcg/kg, mg, mcg
    computed: float | None  # exact patient dose in computed_unit
    rounded: float | None
    computed_unit: Literal["mg", "mcg"] | None
    route: str
    frequency: str
    days: str
    infusion: str | None
    basis: str  # what the dose was computed from, in words (BSA and formula, weight, or flat)
    rounding: str | None
    adjustments: list[str]  # every change applied, in words, with its source
    notes: list[str]
    withheld: bool  # True when a label rule says not to give this drug (e.g. fludarabine, CrCl <30)
    # Contract v2: 'standard', 'adjusted' (each change named in adjustments) or 'not_assessed' (an
    # adjustment could apply but its input is missing; not_assessed names the inputs, e.g. ['creatinine']).
    # None only on consults saved before the status was recorded (the engine always sets it).
    status: Literal["standard", "adjusted", "not_assessed"] | None = None
    not_assessed: list[str] = []


class DosingBasis(_Out):
    height_cm: float
    weight_kg: float
    bsa_m2: float
    bsa_formula: str
    bsa_used_m2: float
    bsa_cap_m2: float | None
    crcl_ml_min: float | None
    cyp3a4_inhibitor: str
    text: str


class WarningOut(_Out):
    id: str
    text: str
    severity: str
    sources: tuple[str, ...]


class OptionResult(_Out):
    id: str
    name: str
    kind: str
    summary: str
    tier: Literal["preferred", "alternative", "consider", "not_recommended"]
    rank: int
    availability: Literal["available", "restricted", "unavailable"]
    availability_detail: AvailabilityOut
    targets: list[str]
    provisional: bool  # targeted option while genetics were not re-tested at relapse
    reasons: list[str]  # 'R-ID: sentence [attribution]', the contract's plain form
    rules: list[Reason]
    views: list[View]
    sources: list[str]
    evidence: list[EvidenceOut]
    evidence_note: str | None
    doses: list[DoseLine]
    dosing_note: str | None
    dosing_basis: DosingBasis | None
    duration_notes: list[str]
    warnings: list[str]
    warning_details: list[WarningOut]


class Action(_Out):
    id: Literal["retest-genetics", "allo-hct-referral", "palliative-care", "urgent-cytoreduction"]
    priority: Literal["high", "medium", "routine"]
    text: str
    rule_id: str
    sources: list[str]


class ReferenceOut(_Out):
    id: str
    number: int
    short: str
    citation: str
    doi: str | None
    pmid: str | None
    url: str | None


class ConsultResult(_Out):
    kb_version: str
    assessment: Assessment
    options: list[OptionResult]
    actions: list[Action]
    references: list[ReferenceOut]  # every reference cited in this result, numbered
    disclaimer: str
