"""The relapse workup: the JSON contract of ../shared/workup-schema.md as strict pydantic models.

These models are the single definition of the workup, shared by the web form, the saved consult,
the PDF and the command line. Unknown fields, out-of-range values and contradictions are errors that
name the field (see ``errors.py`` for the words a clinician reads).
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from . import errors as E
from . import limits as L


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _contradiction(message: str) -> PydanticCustomError:
    return PydanticCustomError("contradiction", message)


LabUnit = Literal["umol/L", "mg/dL"]
# How a reader sees each unit (the contract's ASCII "umol/L" is for typing JSON): the form, the pages, the PDF
# and the domain's own sentences write µmol/L the same way (presentation.labels.LAB_UNIT is this).
LAB_UNIT_WORDS: dict[str, str] = {"umol/L": "µmol/L", "mg/dL": "mg/dL"}
CreatinineUnit = LabUnit
BilirubinUnit = LabUnit
Sex = Literal["female", "male"]
GoalsOfCare = Literal["curative", "disease_control", "comfort"]
DiseaseStatus = Literal["primary_refractory", "relapse", "mrd_relapse"]
ElnRisk = Literal["favorable", "intermediate", "adverse"]
DiagnosisCytogenetics = Literal["inv16_t16_16", "t8_21", "other"]
Jurisdiction = Literal["CA", "US"]
Cyp3a4Inhibitor = Literal["none", "posaconazole", "strong", "moderate", "pgp"]
BsaFormula = Literal["mosteller", "dubois"]
ChildPugh = Literal["A", "B", "C"]
CrclWeight = Literal["auto", "actual", "ideal", "adjusted"]
PendingGene = Literal["flt3_itd", "flt3_tkd", "idh1", "idh2", "npm1", "kmt2a_rearranged", "tp53", "cd33_positive"]
# APL is not AML Salvage's disease: a PML::RARA fusion anywhere in the workup is refused (workup-schema.md).
_APL_FUSION = re.compile(r"PML\s*(?:::|-|/|_|\s)\s*RARA|t\(15;17\)", re.IGNORECASE)


class _LabValue(_Strict):
    """A serum concentration in µmol/L or mg/dL, refused outside the plausible range for its unit (a typing
    or unit error is far likelier than such a patient)."""

    ANALYTE: ClassVar[str]
    LIMITS: ClassVar[dict[str, tuple[float, float]]]
    UMOL_PER_MG_DL: ClassVar[float]

    value: float = Field(gt=0, description="in `unit`")
    unit: LabUnit = Field(description="umol/L or mg/dL")

    @model_validator(mode="after")
    def _plausible(self):
        low, high = self.LIMITS[self.unit]
        if not low <= self.value <= high:
            raise PydanticCustomError(
                f"{self.ANALYTE}_range",
                "{analyte} {value} {unit} is outside {low}–{high} {unit}; check the value and the unit",
                {"analyte": self.ANALYTE, "value": self.value, "unit": LAB_UNIT_WORDS[self.unit], "low": low,
                 "high": high},
            )
        return self

    @property
    def mg_dl(self) -> float:
        if self.unit == "mg/dL":
            return self.value
        return self.value / self.UMOL_PER_MG_DL


class Creatinine(_LabValue):
    ANALYTE = "creatinine"
    LIMITS = L.CREATININE_LIMITS
    UMOL_PER_MG_DL = L.UMOL_PER_MG_DL_CREATININE


class Bilirubin(_LabValue):
    """Total serum bilirubin (contract v2)."""

    ANALYTE = "bilirubin"
    LIMITS = L.BILIRUBIN_LIMITS
    UMOL_PER_MG_DL = L.UMOL_PER_MG_DL_BILIRUBIN


class Patient(_Strict):
    age_years: int = Field(ge=L.AGE_MIN_YEARS, le=L.AGE_MAX_YEARS, description="years; adults only")
    sex: Sex
    height_cm: float = Field(ge=L.HEIGHT_MIN_CM, le=L.HEIGHT_MAX_CM, description="cm")
    weight_kg: float = Field(ge=L.WEIGHT_MIN_KG, le=L.WEIGHT_MAX_KG, description="kg, actual body weight")
    ecog: int = Field(ge=L.ECOG_MIN, le=L.ECOG_MAX)
    creatinine: Creatinine | None = None
    # Contract v2: organ function and heart, all optional (absent = not assessed).
    bilirubin: Bilirubin | None = None
    child_pugh: ChildPugh | None = Field(default=None, description="Child-Pugh class, where a label uses it")
    lvef_pct: int | None = Field(default=None, ge=L.LVEF_MIN_PCT, le=L.LVEF_MAX_PCT, description="%")
    qtcf_ms: int | None = Field(default=None, ge=L.QTCF_MIN_MS, le=L.QTCF_MAX_MS, description="ms, Fridericia")


class Disease(_Strict):
    status: DiseaseStatus
    relapse_number: int | None = Field(default=None, ge=1, le=L.RELAPSE_NUMBER_MAX, validate_default=True)
    cr1_duration_months: float | None = Field(
        default=None, ge=0, le=L.CR1_DURATION_MAX_MONTHS, validate_default=True, description="months"
    )
    prior_allo_hct: bool = False
    months_since_hct: float | None = Field(default=None, ge=0, le=L.MONTHS_SINCE_HCT_MAX, validate_default=True)
    marrow_blasts_pct: float | None = Field(default=None, ge=0, le=L.MARROW_BLASTS_MAX_PCT)
    circulating_blasts: bool | None = None
    extramedullary: bool | None = Field(default=None, validate_default=True)
    wbc_10e9_per_l: float | None = Field(default=None, ge=0, le=L.WBC_MAX_10E9_PER_L)
    needs_urgent_cytoreduction: bool = False
    intensive_induction_cycles: int | None = Field(default=None, ge=0, le=L.INDUCTION_CYCLES_MAX)

    # Cross-field rules sit on the later field so that each error names the field to correct.

    @field_validator("relapse_number", "cr1_duration_months")
    @classmethod
    def _remission_fields(cls, value, info):
        status = info.data.get("status")
        if status == "primary_refractory" and value is not None:
            raise _contradiction(
                "primary refractory disease never reached remission (DT20 Table 1): leave this empty, "
                "or record the status as relapse"
            )
        if status in ("relapse", "mrd_relapse") and value is None:
            what = "1 for first relapse" if info.field_name == "relapse_number" else "months in first remission"
            raise PydanticCustomError(
                "missing_for_status", "required for {status} ({what})",
                {"status": status.replace("_", " "), "what": what},
            )
        return value

    @field_validator("months_since_hct")
    @classmethod
    def _hct_interval_needs_hct(cls, value, info):
        prior = info.data.get("prior_allo_hct")
        if value is not None and prior is False:
            raise _contradiction("months since HCT is given but prior allogeneic HCT is not ticked")
        if value is None and prior is True:
            raise PydanticCustomError("missing", "required after an allogeneic HCT (months since the transplant)")
        return value

    @field_validator("marrow_blasts_pct")
    @classmethod
    def _mrd_relapse_blasts(cls, value, info):
        if info.data.get("status") == "mrd_relapse" and value is not None and value >= 5:
            raise _contradiction(
                "marrow blasts ≥5% is a hematologic relapse, not an MRD relapse (DT20 Table 1): change "
                "the status or the blast percentage"
            )
        return value

    @field_validator("extramedullary")
    @classmethod
    def _mrd_relapse_overt_disease(cls, value, info):
        if info.data.get("status") == "mrd_relapse" and (value or info.data.get("circulating_blasts")):
            raise _contradiction(
                "circulating blasts or extramedullary disease define a hematologic relapse, not an MRD "
                "relapse (DT20 Table 1): change the status or these findings"
            )
        return value

    @field_validator("intensive_induction_cycles")
    @classmethod
    def _pif_needs_two_cycles(cls, value, info):
        if info.data.get("status") == "primary_refractory" and value is not None and value < 2:
            raise _contradiction(
                "primary refractory disease means no CR/CRi after at least 2 cycles of intensive "
                "induction (ELN 2017, DT20 Table 1); with fewer cycles record the status as relapse "
                "or complete induction first"
            )
        return value


GeneSymbol = Annotated[
    str, Field(min_length=1, max_length=L.GENE_SYMBOL_MAX_LEN, pattern=r"^[A-Za-z0-9][A-Za-z0-9\-\.]*$")
]


class Genetics(_Strict):
    retested_at_relapse: bool
    flt3_itd: bool = False
    flt3_tkd: bool = False
    idh1: bool = False
    idh2: bool = False
    npm1: bool = False
    kmt2a_rearranged: bool = False
    tp53: bool = False
    cd33_positive: bool | None = None
    eln2022_risk: ElnRisk | None = None
    diagnosis_cytogenetics: DiagnosisCytogenetics | None = None
    other_mutations: tuple[GeneSymbol, ...] = Field(default=(), max_length=L.OTHER_MUTATIONS_MAX)
    # Contract v2: results not back yet, per gene. Declared last so that its check sees every flag.
    pending: tuple[PendingGene, ...] = Field(default=(), description="genes whose result is awaited")

    @field_validator("other_mutations", "pending", mode="before")
    @classmethod
    def _list_to_tuple(cls, value, info):
        if info.field_name == "other_mutations" and isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, str) and _APL_FUSION.search(item):
                    raise PydanticCustomError("apl", E.MSG_APL, {"found": item})
        # JSON arrays arrive as lists; strict mode would refuse them for a tuple.
        if isinstance(value, list):
            return tuple(value)
        return value

    @field_validator("pending")
    @classmethod
    def _pending_not_positive(cls, value: tuple[str, ...], info) -> tuple[str, ...]:
        for gene in value:
            if info.data.get(gene) is True:
                raise PydanticCustomError("contradiction", E.MSG_PENDING_AND_POSITIVE, {"sibling": gene})
        return tuple(dict.fromkeys(value))

    @field_validator("other_mutations")
    @classmethod
    def _normalise_symbols(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for symbol in value:
            seen.setdefault(symbol.upper(), None)
        return tuple(seen)


_AnthracyclineDose = Annotated[float, Field(ge=0, le=L.ANTHRACYCLINE_MAX_MG_M2, description="mg/m², cumulative")]


class Anthracyclines(_Strict):
    """Cumulative prior exposure per agent, mg/m² (an agent not given is 0)."""

    daunorubicin: _AnthracyclineDose = 0
    idarubicin: _AnthracyclineDose = 0
    mitoxantrone: _AnthracyclineDose = 0
    doxorubicin: _AnthracyclineDose = 0
    epirubicin: _AnthracyclineDose = 0


class PriorTherapy(_Strict):
    intensive_chemo: bool = False
    hma: bool = False
    venetoclax: bool = False
    venetoclax_failure: bool = False
    gilteritinib: bool = False
    other_flt3_inhibitor: bool = False
    idh_inhibitor: bool = False
    menin_inhibitor: bool = False
    gemtuzumab: bool = False
    anthracyclines_mg_m2: Anthracyclines | None = Field(default=None, description="None: not known")

    @field_validator("venetoclax_failure")
    @classmethod
    def _failure_needs_exposure(cls, value, info):
        if value and info.data.get("venetoclax") is False:
            raise _contradiction("venetoclax failure is ticked but prior venetoclax is not")
        return value


class Transplant(_Strict):
    candidate: bool | None = None
    donor_available: bool | None = None


class Context(_Strict):
    jurisdiction: Jurisdiction
    clinical_trial_available: bool = False
    cyp3a4_inhibitor: Cyp3a4Inhibitor = "none"
    bsa_formula: BsaFormula = Field(default="mosteller", description="added field: BSA formula for dosing")
    crcl_weight: CrclWeight = Field(
        default="auto", description="body weight used in Cockcroft–Gault; auto avoids actual weight in obesity"
    )


class Workup(_Strict):
    patient: Patient
    fit_for_intensive_chemo: bool
    # Declared before active_infection so that the contradiction is reported on active_infection.
    infection_uncontrolled: bool = False
    active_infection: bool = False
    goals_of_care: GoalsOfCare
    disease: Disease
    genetics: Genetics
    prior_therapy: PriorTherapy = Field(default=PriorTherapy(), validate_default=True)
    transplant: Transplant = Transplant()
    context: Context

    @model_validator(mode="before")
    @classmethod
    def _no_apl(cls, data):
        """An APL fusion typed anywhere (a gene list, an unknown field) is named before anything else."""
        found = _apl_anywhere(data, ())
        if found is not None:
            path, text = found
            raise PydanticCustomError("apl", E.MSG_APL, {"found": text, "sibling": ".".join(path)})
        return data

    @field_validator("active_infection")
    @classmethod
    def _uncontrolled_needs_active(cls, value, info):
        if info.data.get("infection_uncontrolled") and not value:
            raise _contradiction(E.MSG_UNCONTROLLED_NEEDS_ACTIVE)
        return value

    @field_validator("disease")
    @classmethod
    def _remission_within_life(cls, value, info):
        patient = info.data.get("patient")
        months = value.cr1_duration_months
        if patient is not None and months is not None and months > patient.age_years * L.MONTHS_PER_YEAR:
            raise PydanticCustomError("contradiction", E.MSG_CR1_LONGER_THAN_LIFE, {
                "months": f"{months:g}", "age": patient.age_years, "life": patient.age_years * L.MONTHS_PER_YEAR,
                "field": "cr1_duration_months"})
        return value

    @field_validator("prior_therapy")
    @classmethod
    def _pif_after_intensive_induction(cls, value, info):
        disease = info.data.get("disease")
        if disease is not None and disease.status == "primary_refractory" and not value.intensive_chemo:
            raise PydanticCustomError(
                "contradiction",
                "primary refractory disease is defined after intensive induction (DT20 Table 1), but "
                "prior intensive chemotherapy is not ticked",
                {"field": "intensive_chemo"},
            )
        return value


def _apl_anywhere(data, path: tuple[str, ...]) -> tuple[tuple[str, ...], str] | None:
    """The first key or string value of the raw input that names an APL fusion, with its path."""
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and _APL_FUSION.search(key):
                return (*path, key), key
            found = _apl_anywhere(value, (*path, str(key)))
            if found is not None:
                return found
    elif isinstance(data, (list, tuple)):
        for value in data:
            found = _apl_anywhere(value, path)  # a list element is reported at the list's path
            if found is not None:
                return found
    elif isinstance(data, str) and _APL_FUSION.search(data):
        return path, data
    return None
