"""Schemas of the clinical knowledge base kept as data under ``fixtures/knowledge/``.

Every clinical fact the engine shows (dose, response rate, survival, availability, warning, the words
of a rule) is a record here with its source. The YAML files are validated by these models when the
knowledge base loads; ``manage.py validate_knowledge`` reports every problem and exits non-zero.

Layout of ``fixtures/knowledge/``::

    meta.yaml            version and date of the knowledge base
    references.yaml      list[Reference]
    warnings.yaml        list[WarningRecord]
    monitoring.yaml      list[MonitoringRecord] (the decision sheet's monitoring plan, by drug or regimen)
    rules.yaml           list[RuleRecord]  (the words and sources of each rule id)
    parameters.yaml      Parameters        (thresholds, EPI table, rounding, interaction tables)
    codes.yaml           Codes             (LOINC / RxNorm / SNOMED CT codes for the FHIR export, with sources)
    regimens/<id>.yaml   one Regimen each, with its schedules, evidence and availability
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SLUG = r"^[a-z0-9][a-z0-9\-]*$"
RULE_ID = r"^R-[A-Z0-9]+-[0-9]{2}$"

# The regimen and strategy ids of clinical-spec.md §4 / workup-schema.md: the result lists each one.
OPTION_IDS: tuple[str, ...] = (
    "flag-ida", "flag-ida-ven", "mec", "aza-ven", "dec-ven", "ldac-ven", "gilteritinib", "ivosidenib",
    "olutasidenib", "enasidenib", "revumenib", "ziftomenib", "gemtuzumab", "hma", "ldac", "hydroxyurea",
    "bsc", "clinical-trial", "allo-hct", "dli", "second-hct", "gilteritinib-ven-aza", "bleximenib",
    "hidac", "clag-m", "gclac", "quizartinib", "venetoclax-mono",
)

Jurisdiction = Literal["CA", "US"]
JURISDICTIONS: tuple[str, ...] = ("CA", "US")

# Response metrics are different things and are never merged: each record says which one it reports.
Metric = Literal[
    "ORR",  # overall response rate (definition varies by study: see metric_definition)
    "CR",  # complete remission
    "CR/CRh",  # CR or CR with partial hematologic recovery
    "CR+CRh",  # the same composite as labelled in US labels
    "CRc",  # composite complete remission (CR + CRi, sometimes + CRh/MLFS: see definition)
    "CR+CRi",  # CR or CR with incomplete count recovery
    "CR+CRh/CRi/CRp",  # DT20 Table 2 composite
    "OS",  # a survival-only record (e.g. DLI, ASAP): no response metric
    "none",  # no response figure in the sources (supportive care, strategies without data)
]

DoseUnit = Literal["mg/m2", "mg/kg", "mcg/kg", "mg", "mcg"]

# Hooks that the dosing engine applies to a dose step; each names the rule it implements.
Adjustment = Literal[
    "venetoclax-cyp3a4",  # venetoclax label: CYP3A / P-gp inhibitor table, incl. AML ramp-up
    "ivosidenib-strong-cyp3a4",  # ivosidenib label: 250 mg daily with a strong CYP3A4 inhibitor
    "revumenib-weight-cyp3a4",  # revumenib label: weight band and strong CYP3A4 inhibitor table
    "fludarabine-renal",  # fludarabine label: CrCl bands
    "filgrastim-syringe",  # round to the nearest prefilled syringe
    "revumenib-tablets",  # revumenib label: round to an amount the tablet strengths make
]

OptionKind = Literal[
    "intensive",  # intensive cytotoxic chemotherapy
    "low-intensity",  # HMA/LDAC based, with or without venetoclax
    "targeted",  # a targeted agent used alone
    "cytoreduction",  # palliative cytoreduction
    "supportive",  # best supportive care
    "strategy",  # trial, transplant, cellular therapy
    "investigational",  # available only in trials
]

AvailabilityStatus = Literal["available", "restricted", "unavailable"]

Target = Literal["FLT3-ITD", "FLT3-TKD", "IDH1", "IDH2", "NPM1", "KMT2A-r", "CD33", "BCL-2"]


# Reference kinds that are a product label or monograph: each carries its revision date and the date checked.
LABEL_KINDS: tuple[str, ...] = ("label", "agency")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reference(_Record):
    id: str = Field(pattern=SLUG, description="e.g. 'perl-2019', 'dt20', 'label-venclexta-us'")
    short: str = Field(min_length=2, description="how it is cited inline, e.g. 'Perl 2019 (ADMIRAL)'")
    citation: str = Field(min_length=10, description="full citation as in the article's reference list")
    kind: Literal["article", "review", "label", "agency", "abstract", "guideline"]
    doi: str | None = None
    pmid: str | None = None
    url: str | None = None
    cited_in: list[str] = Field(default_factory=list, description="e.g. ['FRC25 ref 9', 'DT20 ref 6']")
    notes: str | None = None
    label_date: dt.date | None = Field(
        default=None, description="revision date of the label version cited (labels and monographs)"
    )
    label_date_note: str | None = Field(
        default=None, description="why label_date is empty, e.g. 'revision date not verified'"
    )
    checked: dt.date | None = Field(default=None, description="date the record was last checked against its source")

    @model_validator(mode="after")
    def _label_currency(self) -> Reference:
        if self.kind in LABEL_KINDS:
            if self.checked is None:
                raise ValueError(f"a {self.kind} reference carries 'checked' (the date it was checked)")
            if self.label_date is None and not self.label_date_note:
                raise ValueError(
                    f"a {self.kind} reference carries 'label_date', or 'label_date_note' saying why it is empty"
                )
        if self.label_date is not None and self.checked is not None and self.label_date > self.checked:
            raise ValueError("label_date is later than the date the label was checked")
        return self


class DoseStep(_Record):
    """One line of a regimen: a drug at one dose over one run of days."""

    drug: str = Field(min_length=2, description="generic name, lower case")
    dose: float | None = Field(default=None, gt=0, description="None: per institutional protocol")
    unit: DoseUnit | None = None
    route: str = Field(min_length=2, description="IV, SC, PO, 'SC or IV'")
    frequency: str = Field(default="once daily", description="'once daily', 'twice daily', 'single dose'")
    days: str = Field(min_length=1, description="'D1-5', 'D1', 'D3-28', 'continuous', 'from D6 until ANC recovery'")
    infusion: str | None = Field(default=None, description="'over 30 min', 'over 4 h'")
    max_dose_mg: float | None = Field(default=None, gt=0, description="per-dose cap from the label")
    adjustments: list[Adjustment] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="footnotes and sequencing, with source")
    jurisdiction_notes: dict[Jurisdiction, str] = Field(
        default_factory=dict, description="notes that differ by jurisdiction (e.g. gilteritinib escalation)"
    )

    @model_validator(mode="after")
    def _unit_with_dose(self) -> DoseStep:
        if (self.dose is None) != (self.unit is None):
            raise ValueError("dose and unit go together: both set, or both empty (per protocol)")
        return self


class Schedule(_Record):
    id: str = Field(pattern=SLUG, description="'standard', 'alternative', 'azacitidine', 'decitabine'")
    label: str
    steps: list[DoseStep] = Field(min_length=1)
    cycle: str | None = Field(default=None, description="'28-day cycles', 'one course', 'continuous'")
    source: list[str] = Field(min_length=1, description="reference ids")
    notes: list[str] = Field(default_factory=list)


class SecondaryFigure(_Record):
    """A further figure from the same study (e.g. CR alone, 3-year OS), with its own label."""

    label: str = Field(description="what it is, e.g. 'CR', '3-year OS', 'CRc in NPM1/IDH1/IDH2 subgroup'")
    value: str = Field(description="as reported, e.g. '22%', '32%', '16.6 vs 5.1 months'")
    source: str = Field(description="where it is stated, e.g. 'FRC25 text', 'DT20 Table 2'")


class Evidence(_Record):
    id: str = Field(pattern=SLUG)
    study: str = Field(description="'Perl 2019 (ADMIRAL)'")
    reference: str = Field(pattern=SLUG, description="reference id of the primary publication or label")
    reported_in: list[str] = Field(
        min_length=1, description="where we read it: 'FRC25 Table 1', 'DT20 Table 2', 'label'"
    )
    design: str = Field(description="'phase 3 randomized', 'phase 2 single-arm', 'retrospective'")
    population: str = Field(description="'R/R FLT3-mutated AML', 'newly diagnosed, unfit (not R/R)'")
    setting: Literal["R/R", "newly diagnosed", "post-HCT relapse", "mixed"]
    n: int | None = Field(default=None, ge=1)
    metric: Metric
    metric_definition: str = Field(min_length=3, description="what the metric counts, in words")
    value_pct: float | None = Field(default=None, ge=0, le=100)
    numerator: int | None = Field(default=None, ge=0)
    denominator: int | None = Field(default=None, ge=1)
    comparator: str | None = Field(default=None, description="'salvage chemotherapy: CR/CRh 15.3%'")
    median_os_months: float | None = Field(default=None, ge=0)
    median_os_detail: str | None = Field(default=None, description="range or CI as reported, comparator OS")
    secondary: list[SecondaryFigure] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="discrepancies, reference-number mismatches")
    uncertain: bool = Field(default=False, description="True when a figure could not be verified")

    @model_validator(mode="after")
    def _fraction_consistent(self) -> Evidence:
        if self.numerator is not None and self.denominator is not None:
            if self.numerator > self.denominator:
                raise ValueError("numerator exceeds denominator")
            if self.value_pct is not None:
                pct = 100 * self.numerator / self.denominator
                if abs(pct - self.value_pct) > 1.5 and not any("rounding" in n or "differs" in n for n in self.notes):
                    raise ValueError(
                        f"value_pct {self.value_pct} does not match {self.numerator}/{self.denominator} "
                        f"({pct:.1f}%); explain in notes ('differs ...') if the source says so"
                    )
        if self.metric == "none" and self.value_pct is not None:
            raise ValueError("metric 'none' carries no value")
        return self


class Availability(_Record):
    status: AvailabilityStatus
    source: list[str] = Field(min_length=1, description="reference ids (article, label, agency notice)")
    as_of: dt.date = Field(description="date the status was checked or reported")
    note: str | None = None


class Regimen(_Record):
    id: str = Field(pattern=SLUG)
    name: str
    kind: OptionKind
    summary: str = Field(description="one line a hematologist recognises")
    targets: list[Target] = Field(default_factory=list, description="molecular target(s) it requires")
    contains_venetoclax: bool = False
    schedules: list[Schedule] = Field(default_factory=list, description="empty for strategies / supportive")
    dosing_note: str | None = Field(default=None, description="shown when there is no dose table, or always")
    duration_notes: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list, description="warning ids from warnings.yaml")
    evidence: list[Evidence] = Field(default_factory=list)
    evidence_note: str | None = Field(default=None, description="required when evidence is empty")
    availability: dict[Jurisdiction, Availability]
    references: list[str] = Field(default_factory=list, description="further reference ids")
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _complete(self) -> Regimen:
        missing = [j for j in JURISDICTIONS if j not in self.availability]
        if missing:
            raise ValueError(f"availability missing for {missing}")
        if not self.evidence and not self.evidence_note:
            raise ValueError("no evidence records: give evidence_note saying why (e.g. no figures in sources)")
        if not self.schedules and not self.dosing_note:
            raise ValueError("no schedules: give dosing_note (e.g. 'per institutional protocol')")
        if self.kind == "targeted" and not self.targets:
            raise ValueError("a targeted agent names its target")
        return self


class WarningRecord(_Record):
    id: str = Field(pattern=SLUG)
    text: str = Field(min_length=10)
    source: list[str] = Field(min_length=1, description="reference ids")
    severity: Literal["boxed", "major", "monitor"] = "major"


MONITORING_CATEGORIES: tuple[str, ...] = (
    "tls_labs", "ecg_qtc", "differentiation_syndrome", "marrow_assessment", "organ_labs",
)


class MonitoringRecord(_Record):
    """One item of the monitoring plan printed with the chosen option, as its source states it."""

    id: str = Field(pattern=SLUG)
    category: Literal["tls_labs", "ecg_qtc", "differentiation_syndrome", "marrow_assessment", "organ_labs"]
    drugs: list[str] = Field(default_factory=list, description="generic names: every regimen giving one")
    regimens: list[str] = Field(default_factory=list, description="regimen ids (for regimens without schedules)")
    text: str = Field(min_length=10)
    source: list[str] = Field(min_length=1, description="reference ids")
    schedule_stated: bool = Field(default=True, description="false: the source gives no timing or number")

    @model_validator(mode="after")
    def _applies(self) -> MonitoringRecord:
        if not self.drugs and not self.regimens:
            raise ValueError("a monitoring item names the drugs or regimens it applies to")
        return self


class RuleRecord(_Record):
    """The words and sources of one treatment-selection rule; the logic lives in domain/rules.py."""

    id: str = Field(pattern=RULE_ID)
    title: str
    reason: str = Field(description="the sentence shown when it fires; {placeholders} filled by the engine")
    source: list[str] = Field(min_length=1, description="reference ids, e.g. ['dt20']")
    attribution: str = Field(description="short inline tag, e.g. 'DT20', 'FRC25', 'DT20; FRC25', 'label'")


class EpiBand(_Record):
    points: int
    label: str
    max_months: float | None = None  # for the relapse-free interval: upper bound, inclusive
    max_age: int | None = None  # for age at relapse: upper bound, inclusive


class EpiGroup(_Record):
    group: Literal["favorable", "intermediate", "poor"]
    min_score: int
    max_score: int
    os_1y_pct: float
    os_5y_pct: float


class EpiTable(_Record):
    source: list[str]
    rfi: list[EpiBand]
    cytogenetics: dict[Literal["inv16_t16_16", "t8_21", "other"], int]
    age: list[EpiBand]
    prior_sct: int
    groups: list[EpiGroup]
    derivation_age_max: int
    caveats: dict[str, str]


class RoundingBand(_Record):
    below_mg: float | None = Field(description="applies to doses below this; None = all larger doses")
    step_mg: float = Field(gt=0)


class RampStep(_Record):
    days: str
    dose_mg: float = Field(gt=0)


class VenetoclaxInhibitorRow(_Record):
    inhibitor: Literal["posaconazole", "strong", "moderate", "pgp"]
    ramp_up: list[RampStep] = Field(default_factory=list, description="replaces the ramp-up when given")
    steady_mg: float | None = None
    factor: float | None = Field(default=None, gt=0, lt=1, description="multiply instead of a fixed dose")
    text: str
    steady_text: str | None = Field(
        default=None, description="the sentence for a regimen without a ramp-up (e.g. FLAG-IDA + venetoclax D1-7)"
    )
    source: list[str] = Field(min_length=1)


class FludarabineBand(_Record):
    crcl_min: float
    crcl_max: float | None
    factor: float = Field(ge=0, le=1, description="0 = do not give")
    text: str


class CrclWeightRule(_Record):
    """Which body weight Cockcroft–Gault uses when ``context.crcl_weight`` is 'auto' (contract v2).

    Ideal body weight is Devine's; adjusted body weight is IBW + adjusted_fraction × (actual − IBW)."""

    ibw_base_kg: dict[Literal["female", "male"], float] = Field(description="Devine IBW at 5 ft (60 in)")
    ibw_kg_per_inch: float = Field(gt=0, description="Devine: kg per inch of height over 5 ft")
    ibw_base_height_in: float = Field(gt=0)
    cm_per_inch: float = Field(gt=0)
    adjusted_fraction: float = Field(gt=0, lt=1, description="share of the excess weight added back")
    obese_bmi: float = Field(gt=0, description="BMI at or above which 'auto' uses adjusted body weight")
    obese_pct_ibw: float = Field(gt=100, description="actual weight at or above this % of IBW: adjusted")
    text: str = Field(description="the rule in words, shown beside the CrCl")
    source: list[str] = Field(min_length=1)
    notes: str | None = Field(default=None, description="what the sources do and do not give")


OrganMeasure = Literal["crcl", "bilirubin", "child_pugh"]
# What the patient input behind each measure is called in the workup (and in DoseLine.not_assessed).
ORGAN_INPUTS: dict[str, str] = {"crcl": "creatinine", "bilirubin": "bilirubin", "child_pugh": "child_pugh"}


class OrganDoseRule(_Record):
    """One line of a drug label on renal or hepatic impairment, applied to that drug's dose lines.

    reduce: multiply the dose by ``factor``; withhold: the label says do not give; caution: the label
    warns without an algorithm (a note with the patient's value, no dose change); info: what the label
    says regardless of the value (always a note). Bounds in mL/min for CrCl and mg/dL for total
    bilirubin, as the label words them: ``low`` (≥) or ``above`` (>), ``high`` (<) or ``upto`` (≤);
    ``classes`` for Child-Pugh."""

    drug: str = Field(min_length=2, description="generic name as in the regimen steps")
    measure: OrganMeasure
    action: Literal["reduce", "withhold", "caution", "info"]
    low: float | None = Field(default=None, ge=0, description="applies at or above")
    above: float | None = Field(default=None, ge=0, description="applies above")
    high: float | None = Field(default=None, gt=0, description="applies below")
    upto: float | None = Field(default=None, gt=0, description="applies at or below")
    classes: list[Literal["A", "B", "C"]] = Field(default_factory=list)
    factor: float | None = Field(default=None, gt=0, lt=1)
    min_dose: float | None = Field(default=None, gt=0, description="applies to steps at or above this dose")
    jurisdictions: list[Jurisdiction] = Field(default_factory=lambda: list(JURISDICTIONS))
    assess: bool | None = Field(
        default=None, description="a missing input makes the line not_assessed (default: reduce/withhold)"
    )
    text: str = Field(min_length=10, description="what the label says, with its name and section")
    source: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> OrganDoseRule:
        if self.low is not None and self.above is not None or self.high is not None and self.upto is not None:
            raise ValueError("give one lower bound (low or above) and one upper bound (high or upto)")
        ranged = any(b is not None for b in (self.low, self.above, self.high, self.upto)) or bool(self.classes)
        if self.action == "reduce" and self.factor is None:
            raise ValueError("a reduction gives its factor")
        if self.action != "reduce" and self.factor is not None:
            raise ValueError("only a reduction has a factor")
        if self.action in ("reduce", "withhold", "caution") and not ranged:
            raise ValueError(f"a {self.action} row gives the range it applies to (low/high or classes)")
        if self.action == "info" and ranged:
            raise ValueError("an info row applies whatever the value: no range")
        if bool(self.classes) != (self.measure == "child_pugh") and ranged:
            raise ValueError("Child-Pugh rows use classes; CrCl and bilirubin rows use low/high")
        if self.action in ("reduce", "withhold") and self.assess is False:
            raise ValueError("a dose-changing rule always needs its input")
        return self

    @property
    def assesses(self) -> bool:
        """A missing input makes the dose line not_assessed."""
        return self.assess if self.assess is not None else self.action in ("reduce", "withhold")

    def matches(self, value) -> bool:
        if self.measure == "child_pugh":
            return value in self.classes
        return ((self.low is None or value >= self.low) and (self.above is None or value > self.above)
                and (self.high is None or value < self.high) and (self.upto is None or value <= self.upto))


class RevumenibRow(_Record):
    weight_min_kg: float | None
    weight_max_kg: float | None
    strong_cyp3a4: bool
    dose: float
    unit: Literal["mg", "mg/m2"]
    frequency: str


AnthracyclineAgent = Literal["doxorubicin", "daunorubicin", "epirubicin", "mitoxantrone", "idarubicin"]


class QtcLabelRow(_Record):
    """One QT-prolonging agent: its label's baseline QTcF threshold and the warning that names it."""

    drug: str
    regimens: list[str] = Field(min_length=1, description="option ids that contain the agent")
    threshold_ms: int | None = Field(description="label QTcF threshold, ms; None: not verified in our sources")
    warning: str = Field(pattern=SLUG, description="warning id shown when the baseline QTcF exceeds it")
    source: list[str] = Field(min_length=1)


class ConditionalWarningParameters(_Record):
    """Thresholds of the warnings attached to options by the workup (tumour lysis, leukostasis, QTc, heart,
    renal cerebellar risk); each carries its source in ``source``."""

    tls_intermediate_wbc_10e9_per_l: float = Field(gt=0, description="TLS warning at or above [Cairo 2010]")
    hyperleukocytosis_wbc_10e9_per_l: float = Field(gt=0, description="leukostasis warning at or above")
    cytarabine_cerebellar_crcl_ml_min: float = Field(gt=0, description="renal cerebellar-risk warning below")
    cytarabine_cerebellar_age_years: int = Field(gt=0, description="age cerebellar-risk warning at or above")
    venetoclax_crcl_no_data_ml_min: float = Field(gt=0, description="venetoclax label: no dose below this")
    anthracycline_doxorubicin_limit_mg_m2: float = Field(gt=0)
    anthracycline_doxorubicin_limit_risk_mg_m2: float = Field(gt=0, description="with cardiac risk factors")
    doxorubicin_equivalence: dict[AnthracyclineAgent, float | None] = Field(
        description="doxorubicin-equivalence ratio per agent; None: not estimable (never converted)")
    qt_prolonging_inhibitors: list[str] = Field(description="workup cyp3a4_inhibitor values that prolong QT")
    qtc: list[QtcLabelRow]
    source: dict[str, list[str]] = Field(description="reference ids for each threshold above")

    @model_validator(mode="after")
    def _every_agent_and_source(self) -> ConditionalWarningParameters:
        missing = [a for a in AnthracyclineAgent.__args__ if a not in self.doxorubicin_equivalence]
        if missing:
            raise ValueError(f"doxorubicin_equivalence: no entry for {missing} (use null when not estimable)")
        unsourced = [name for name in type(self).model_fields if name not in ("qtc", "source")
                     and name not in self.source]
        if unsourced:
            raise ValueError(f"source: no reference for {unsourced}")
        return self


class Parameters(_Record):
    early_relapse_months: float = Field(description="CR1 shorter than this is early relapse [DT20 Fig 2]")
    cr1_adverse_months: float = Field(description="CR1 at or below this is adverse [DT20 Fig 1B]")
    gemtuzumab_vod_window_months: float
    venetoclax_wbc_max: float = Field(description="WBC below this before venetoclax (label)")
    gemtuzumab_wbc_cytoreduce: float
    cytarabine_high_dose_mg_m2: float = Field(description="cerebellar-toxicity warning at or above")
    cytarabine_renal_creatinine_mg_dl: float
    older_age_years: int = Field(description="at or above: 'older' in DT20 Conclusions; intensive not preferred")
    ecog_intensive_conflict_min: int = Field(description="ECOG at or above this with 'fit' ticked is a conflict")
    lvef_anthracycline_min_pct: int = Field(description="below: anthracycline regimens not preferred")
    renal_severe_crcl_ml_min: float = Field(description="below: severe renal impairment")
    sources: dict[str, list[str]] = Field(description="reference ids for each parameter above")
    epi: EpiTable
    rounding: list[RoundingBand] = Field(min_length=1)
    rounding_text: str
    filgrastim_syringes_mcg: list[float] = Field(min_length=1)
    venetoclax_inhibitors: list[VenetoclaxInhibitorRow]
    fludarabine_renal: list[FludarabineBand]
    ivosidenib_strong_cyp3a4_mg: float
    revumenib: list[RevumenibRow]
    strong_cyp3a4_inhibitors: list[str] = Field(description="which workup values count as strong CYP3A4")
    conditional_warnings: ConditionalWarningParameters
    # --- organ function dosing (contract v2)
    crcl_weight: CrclWeightRule
    organ_dose_rules: list[OrganDoseRule] = Field(description="label renal and hepatic rules, per drug")
    filgrastim_deviation_pct: float = Field(gt=0, description="state the syringe deviation above this %")
    revumenib_tablets_mg: list[float] = Field(min_length=1, description="tablet strengths (label)")


CodeSystemKey = Literal["loinc", "rxnorm", "snomed", "hgnc", "observation-category", "ucum"]


class CodeRecord(_Record):
    """One concept of a standard terminology, with the page its code was read from. ``code`` None: no code was
    found in a source we could open, and the concept is exported as text only (a code is never guessed)."""

    system: CodeSystemKey
    code: str | None = Field(description="the code as the terminology writes it; None: text only")
    display: str = Field(min_length=2)
    source: str = Field(min_length=10, description="where the code was read (page and address)")


class GeneRecord(_Record):
    gene: str = Field(min_length=2, description="gene symbol (HGNC)")
    finding: str = Field(min_length=2, description="the finding in words, e.g. 'FLT3-ITD'")


class MedicationCode(_Record):
    """A drug as an EHR names it: its RxNorm ingredient code when found, and what the venetoclax label and the
    QT warnings make of it as a co-medication."""

    name: str = Field(min_length=2, description="generic name, lower case, as in the regimen steps")
    aliases: list[str] = Field(default_factory=list, description="other names an order may use, lower case")
    rxnorm: str | None = Field(default=None, pattern=r"^[0-9]+$", description="RxNorm ingredient RXCUI")
    cyp3a: Literal["posaconazole", "strong", "moderate", "pgp"] | None = Field(
        default=None, description="the venetoclax label's inhibitor row this co-medication selects")
    qt_prolonging: bool = Field(default=False, description="its label warns of QT prolongation")
    source: list[str] = Field(min_length=1, description="reference ids")


class Codes(_Record):
    systems: dict[CodeSystemKey, str] = Field(description="code system key → canonical URI")
    concepts: dict[str, CodeRecord]
    routes: dict[str, str] = Field(default_factory=dict, description="regimen route text → concept key")
    genes: dict[str, GeneRecord] = Field(description="workup lesion field → gene and finding")
    medications: list[MedicationCode]

    @model_validator(mode="after")
    def _systems_known(self) -> Codes:
        used = {c.system for c in self.concepts.values()}
        missing = sorted(used - set(self.systems))
        if missing:
            raise ValueError(f"systems: no URI for {missing}")
        unknown = sorted(key for key in self.routes.values() if key not in self.concepts)
        if unknown:
            raise ValueError(f"routes: no concept {unknown}")
        names = [m.name for m in self.medications]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"medications defined twice: {dupes}")
        return self

    def medication(self, name: str) -> MedicationCode | None:
        key = name.strip().lower()
        return next((m for m in self.medications if m.name == key), None)


class Meta(_Record):
    version: str = Field(pattern=r"^\d{4}\.\d{1,2}\.\d+$")
    date: dt.date
    title: str
    reviewed_by: str | None = None


class KnowledgeBase(_Record):
    meta: Meta
    references: dict[str, Reference]
    warnings: dict[str, WarningRecord]
    rules: dict[str, RuleRecord]
    parameters: Parameters
    regimens: dict[str, Regimen]
    codes: Codes
    monitoring: dict[str, MonitoringRecord] = Field(default_factory=dict)

    @property
    def version(self) -> str:
        return self.meta.version

    @model_validator(mode="after")
    def _cross_references(self) -> KnowledgeBase:
        problems: list[str] = []
        refs = self.references

        def need_ref(where: str, ref_ids) -> None:
            for ref in ref_ids:
                if ref not in refs:
                    problems.append(f"{where}: unknown reference '{ref}'")

        missing_ids = [i for i in OPTION_IDS if i not in self.regimens]
        if missing_ids:
            problems.append(f"regimens: missing option ids {missing_ids}")
        for key, reg in self.regimens.items():
            if key != reg.id:
                problems.append(f"regimens/{key}: id '{reg.id}' does not match the file name")
            need_ref(f"regimens/{key}.references", reg.references)
            for w in reg.warnings:
                if w not in self.warnings:
                    problems.append(f"regimens/{key}.warnings: unknown warning '{w}'")
            for sched in reg.schedules:
                need_ref(f"regimens/{key}.schedules.{sched.id}.source", sched.source)
            for ev in reg.evidence:
                need_ref(f"regimens/{key}.evidence.{ev.id}.reference", [ev.reference])
            for jur, av in reg.availability.items():
                need_ref(f"regimens/{key}.availability.{jur}.source", av.source)
        for wid, w in self.warnings.items():
            need_ref(f"warnings/{wid}.source", w.source)
        for rid, r in self.rules.items():
            need_ref(f"rules/{rid}.source", r.source)
        for mid, m in self.monitoring.items():
            need_ref(f"monitoring/{mid}.source", m.source)
            for rid in m.regimens:
                if rid not in self.regimens:
                    problems.append(f"monitoring/{mid}.regimens: unknown regimen '{rid}'")
        for row in self.parameters.venetoclax_inhibitors:
            need_ref(f"parameters.venetoclax_inhibitors.{row.inhibitor}.source", row.source)
        need_ref("parameters.crcl_weight.source", self.parameters.crcl_weight.source)
        for row in self.parameters.organ_dose_rules:
            need_ref(f"parameters.organ_dose_rules.{row.drug}.source", row.source)
        for name, ref_ids in self.parameters.sources.items():
            need_ref(f"parameters.sources.{name}", ref_ids)
        need_ref("parameters.epi.source", self.parameters.epi.source)
        conditional = self.parameters.conditional_warnings
        for name, ref_ids in conditional.source.items():
            need_ref(f"parameters.conditional_warnings.source.{name}", ref_ids)
        for row in conditional.qtc:
            need_ref(f"parameters.conditional_warnings.qtc.{row.drug}.source", row.source)
            if row.warning not in self.warnings:
                problems.append(f"parameters.conditional_warnings.qtc.{row.drug}: unknown warning '{row.warning}'")
            for rid in row.regimens:
                if rid not in self.regimens:
                    problems.append(f"parameters.conditional_warnings.qtc.{row.drug}: unknown regimen '{rid}'")
        inhibitor_rows = {row.inhibitor for row in self.parameters.venetoclax_inhibitors}
        for med in self.codes.medications:
            need_ref(f"codes.medications.{med.name}.source", med.source)
            if med.cyp3a is not None and med.cyp3a not in inhibitor_rows:
                problems.append(f"codes.medications.{med.name}: no venetoclax_inhibitors row '{med.cyp3a}'")
        evidence_ids = [ev.id for reg in self.regimens.values() for ev in reg.evidence]
        dupes = {e for e in evidence_ids if evidence_ids.count(e) > 1}
        if dupes:
            problems.append(f"evidence ids used twice: {sorted(dupes)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class KnowledgeError(Exception):
    """The knowledge base is missing, unreadable or invalid: the engine must not give partial advice."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("knowledge base invalid:\n" + "\n".join(f"  - {p}" for p in problems))


# libyaml's parser (PyYAML built against it, as the wheels are) reads the knowledge base much faster than the
# pure-Python one; both build the same plain data with the same safe constructor, so validation
# is unchanged.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path, problems: list[str]):
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_YAML_LOADER)
    except FileNotFoundError:
        problems.append(f"{path}: file missing")
    except yaml.YAMLError as exc:
        problems.append(f"{path}: not valid YAML ({exc})")
    return None


def _keyed(items, kind: str, path: Path, problems: list[str]) -> dict:
    if not isinstance(items, list):
        problems.append(f"{path}: expected a list of {kind}")
        return {}
    out = {}
    for i, item in enumerate(items):
        key = item.get("id") if isinstance(item, dict) else None
        if not key:
            problems.append(f"{path}[{i}]: {kind} without id")
            continue
        if key in out:
            problems.append(f"{path}: {kind} '{key}' defined twice")
        out[key] = item
    return out


def _format_validation(exc: ValidationError, prefix: str) -> list[str]:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        lines.append(f"{prefix}{'.' + loc if loc else ''}: {err['msg']}")
    return lines


def knowledge_load(directory: Path) -> KnowledgeBase:
    """Read and validate every file; raise KnowledgeError listing all problems found."""
    directory = Path(directory)
    problems: list[str] = []
    if not directory.is_dir():
        raise KnowledgeError([f"{directory}: knowledge base directory missing"])
    raw = {
        "meta": _read_yaml(directory / "meta.yaml", problems),
        "references": _keyed(_read_yaml(directory / "references.yaml", problems) or [], "reference",
                             directory / "references.yaml", problems),
        "warnings": _keyed(_read_yaml(directory / "warnings.yaml", problems) or [], "warning",
                           directory / "warnings.yaml", problems),
        "rules": _keyed(_read_yaml(directory / "rules.yaml", problems) or [], "rule",
                        directory / "rules.yaml", problems),
        "parameters": _read_yaml(directory / "parameters.yaml", problems),
        "codes": _read_yaml(directory / "codes.yaml", problems),
        "regimens": {},
        # Optional: a knowledge base without it prints "no monitoring item" for every category.
        "monitoring": _keyed(_read_yaml(directory / "monitoring.yaml", problems) or [], "monitoring item",
                             directory / "monitoring.yaml", problems)
        if (directory / "monitoring.yaml").exists() else {},
    }
    reg_dir = directory / "regimens"
    for path in sorted(reg_dir.glob("*.yaml")) if reg_dir.is_dir() else []:
        data = _read_yaml(path, problems)
        if data is not None:
            raw["regimens"][path.stem] = data
    if problems:
        raise KnowledgeError(problems)
    # Validate record by record first so that one bad record does not hide the others.
    for key, model in (("meta", Meta), ("parameters", Parameters), ("codes", Codes)):
        try:
            model.model_validate(raw[key])
        except ValidationError as exc:
            problems.extend(_format_validation(exc, key))
    for key, model in (("references", Reference), ("warnings", WarningRecord), ("rules", RuleRecord),
                       ("regimens", Regimen), ("monitoring", MonitoringRecord)):
        for record_id, record in raw[key].items():
            try:
                model.model_validate(record)
            except ValidationError as exc:
                problems.extend(_format_validation(exc, f"{key}/{record_id}"))
    missing_ids = [i for i in OPTION_IDS if i not in raw["regimens"]]
    if missing_ids:
        problems.append(f"regimens: missing option ids {missing_ids}")
    if problems:
        raise KnowledgeError(problems)
    try:
        return KnowledgeBase.model_validate(raw)
    except ValidationError as exc:
        raise KnowledgeError(
            [p for line in _format_validation(exc, "knowledge") for p in line.split("; ")]
        ) from None


_PLACEHOLDER = re.compile(r"{(\w+)}")


def rule_placeholders(rule: RuleRecord) -> set[str]:
    return set(_PLACEHOLDER.findall(rule.reason))


# --- label currency ---------------------------------------------------------------------------------------

class CurrencyItem(BaseModel):
    """One record whose currency a maintainer should look at: checked too long ago, or label date unverified."""

    model_config = ConfigDict(frozen=True)

    record: str  # 'references/label-revuforj', 'regimens/revumenib.availability.US'
    checked: dt.date | None
    detail: str


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day of the month `months` earlier (the last day of the month when that day does not exist)."""
    year, month_index = divmod(day.year * 12 + (day.month - 1) - months, 12)
    month = month_index + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def knowledge_stale(kb: KnowledgeBase, *, today: dt.date, months: int) -> list[CurrencyItem]:
    """Label-derived records not checked within `months` of `today`: label and monograph references
    (their `checked` date) and the availability records (their `as_of` date)."""
    cutoff = months_before(today, months)
    stale: list[CurrencyItem] = []
    for ref in kb.references.values():
        if ref.kind in LABEL_KINDS and ref.checked is not None and ref.checked < cutoff:
            stale.append(CurrencyItem(record=f"references/{ref.id}", checked=ref.checked,
                                      detail=f"{ref.short}: checked {ref.checked.isoformat()}"))
    for reg in kb.regimens.values():
        for jur, av in reg.availability.items():
            if av.as_of < cutoff:
                stale.append(CurrencyItem(record=f"regimens/{reg.id}.availability.{jur}", checked=av.as_of,
                                          detail=f"{reg.name} ({jur}, {av.status}): as of {av.as_of.isoformat()}"))
    return stale


def knowledge_label_dates_unverified(kb: KnowledgeBase) -> list[CurrencyItem]:
    """Label and monograph references whose revision date is not known (label_date empty, with its note)."""
    return [
        CurrencyItem(record=f"references/{ref.id}", checked=ref.checked,
                     detail=f"{ref.short}: {ref.label_date_note}")
        for ref in kb.references.values()
        if ref.kind in LABEL_KINDS and ref.label_date is None
    ]
