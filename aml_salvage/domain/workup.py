"""The relapse workup: the JSON contract of ../shared/workup-schema.md as strict pydantic models.

These models are the single definition of the workup, shared by the web form, the saved consult,
the PDF and the command line. Unknown fields, out-of-range values and contradictions are errors that
name the field (see ``errors.py`` for the words a clinician reads).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from . import limits as L


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _contradiction(message: str) -> PydanticCustomError:
    return PydanticCustomError("contradiction", message)


CreatinineUnit = Literal["umol/L", "mg/dL"]
Sex = Literal["female", "male"]
GoalsOfCare = Literal["curative", "disease_control", "comfort"]
DiseaseStatus = Literal["primary_refractory", "relapse", "mrd_relapse"]
ElnRisk = Literal["favorable", "intermediate", "adverse"]
DiagnosisCytogenetics = Literal["inv16_t16_16", "t8_21", "other"]
Jurisdiction = Literal["CA", "US"]
Cyp3a4Inhibitor = Literal["none", "posaconazole", "strong", "moderate", "pgp"]
BsaFormula = Literal["mosteller", "dubois"]


class Creatinine(_Strict):
    value: float = Field(gt=0, description="serum creatinine, in `unit`")
    unit: CreatinineUnit = Field(description="umol/L or mg/dL")

    @model_validator(mode="after")
    def _plausible(self) -> Creatinine:
        low, high = L.CREATININE_LIMITS[self.unit]
        if not low <= self.value <= high:
            raise PydanticCustomError(
                "creatinine_range",
                "creatinine {value} {unit} is outside {low}–{high} {unit}; check the value and the unit",
                {"value": self.value, "unit": self.unit, "low": low, "high": high},
            )
        return self

    @property
    def mg_dl(self) -> float:
        if self.unit == "mg/dL":
            return self.value
        return self.value / L.UMOL_PER_MG_DL_CREATININE


class Patient(_Strict):
    age_years: int = Field(ge=L.AGE_MIN_YEARS, le=L.AGE_MAX_YEARS, description="years; adults only")
    sex: Sex
    height_cm: float = Field(ge=L.HEIGHT_MIN_CM, le=L.HEIGHT_MAX_CM, description="cm")
    weight_kg: float = Field(ge=L.WEIGHT_MIN_KG, le=L.WEIGHT_MAX_KG, description="kg, actual body weight")
    ecog: int = Field(ge=L.ECOG_MIN, le=L.ECOG_MAX)
    creatinine: Creatinine | None = None


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

    @field_validator("other_mutations", mode="before")
    @classmethod
    def _list_to_tuple(cls, value):
        # JSON arrays arrive as lists; strict mode would refuse them for a tuple.
        if isinstance(value, list):
            return tuple(value)
        return value

    @field_validator("other_mutations")
    @classmethod
    def _normalise_symbols(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for symbol in value:
            seen.setdefault(symbol.upper(), None)
        return tuple(seen)


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


class Workup(_Strict):
    patient: Patient
    fit_for_intensive_chemo: bool
    active_infection: bool = False
    goals_of_care: GoalsOfCare
    disease: Disease
    genetics: Genetics
    prior_therapy: PriorTherapy = Field(default=PriorTherapy(), validate_default=True)
    transplant: Transplant = Transplant()
    context: Context

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
