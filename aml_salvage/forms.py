"""The relapse workup as a Django form, section by section. Forms convert, rules decide.

``clean_*`` turns text into typed values and units, nothing more. ``to_workup_data()`` builds the nested
dict of the JSON contract and ``parse_workup()`` hands it to ``services.workup_parse``: the pydantic
``Workup`` is the single definition of what is valid. Each ``FieldError.path`` it reports
('disease.relapse_number') is mapped back to its form field so the message shows beside the input.
Limits for widget hints come from ``domain/limits.py``; no clinical threshold lives here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, get_args

from django import forms
from django.conf import settings

from . import services
from .domain import limits as L
from .domain.workup import (
    BilirubinUnit,
    BsaFormula,
    ChildPugh,
    CrclWeight,
    CreatinineUnit,
    Cyp3a4Inhibitor,
    DiagnosisCytogenetics,
    DiseaseStatus,
    ElnRisk,
    GoalsOfCare,
    Jurisdiction,
    PendingGene,
    Sex,
    Workup,
)
from .models import PATIENT_IDENTIFIER_MAX, patient_identifier_validator
from .presentation import labels

BLANK_CHOOSE = "— choose —"
BLANK_NOT_RECORDED = "Not recorded"
_YES_NO = {"yes": True, "no": False}

# Messages a clinician reads beside an input (tests reuse them).
MSG_TRANSPLANT_UNANSWERED = (
    "answer yes, no or uncertain: transplant candidacy changes the tiers, so it is never assumed")
MSG_CHOSEN_OPTION_REQUIRED = "choose the option to save (“Choose this option” on a card fills this in)"
MSG_NUMBER_IN = "Enter a number. Unit: {unit}, digits only."
MSG_WHOLE_NUMBER_IN = "Enter a whole number. Unit: {unit}, digits only."
MSG_HEIGHT_IN_METRES = "{value:g} looks like metres: enter the height in centimetres ({cm:g})"
MSG_WEIGHT_IN_POUNDS = "{value:g} looks like pounds: enter the weight in kilograms ({value:g} lb = {kg:g} kg)"
MSG_LAB_RANGE = "{analyte} {value:g} {unit} is outside {low:g}–{high:g} {unit}; check the value and the unit"
MSG_LAB_OTHER_UNIT = "{value:g} looks like {other}: choose {other} as the unit"
# The unit of each numeric input, added to its range and number messages ("must be at least 100 cm").
FIELD_UNITS = {
    "age_years": "years", "height_cm": "cm", "weight_kg": "kg", "lvef_pct": "%", "qtcf_ms": "ms",
    "prior_daunorubicin_mg_m2": "mg/m²", "prior_idarubicin_mg_m2": "mg/m²", "prior_mitoxantrone_mg_m2": "mg/m²",
    "prior_doxorubicin_mg_m2": "mg/m²", "prior_epirubicin_mg_m2": "mg/m²", "cr1_duration_months": "months",
    "months_since_hct": "months", "marrow_blasts_pct": "%", "wbc_10e9_per_l": "×10⁹/L",
}
_RANGE_MESSAGE = re.compile(r"^must be (?:at least|at most|more than|less than) [0-9.]+$")


def _choices(literal, words: dict[str, str], blank: str | None = None) -> list[tuple[str, str]]:
    """The Literal's values with their words from the one vocabulary (presentation.labels)."""
    values = [(v, words[v]) for v in get_args(literal)]
    return ([("", blank)] if blank is not None else []) + values


def _tri(value: str) -> bool | None:
    return _YES_NO.get(value)


class TriStateField(forms.TypedChoiceField):
    """Yes / No / unknown as a select: unknown is a real answer (None in the workup), not a blank."""

    def __init__(self, *, yes: str = "Yes", no: str = "No", unknown: str = "Unknown", **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(
            choices=[("yes", yes), ("no", no), ("unknown", unknown)], coerce=_tri, empty_value=None,
            initial="unknown", **kwargs,
        )


class AnsweredTriStateField(forms.TypedChoiceField):
    """Yes / No / unknown with no default: "unknown" must be chosen, never assumed (it changes the result)."""

    def __init__(self, *, unknown: str, **kwargs):
        super().__init__(choices=[("", BLANK_CHOOSE), ("yes", "Yes"), ("no", "No"), ("unknown", unknown)],
                         coerce=_tri, empty_value=None, **kwargs)


class YesNoField(forms.TypedChoiceField):
    """A required yes/no judgement with no default: the clinician must answer it."""

    def __init__(self, **kwargs):
        super().__init__(choices=[("", BLANK_CHOOSE), ("yes", "Yes"), ("no", "No")], coerce=_tri,
                         empty_value=None, **kwargs)


def _number(minimum=None, maximum=None, step="any", **attrs) -> forms.NumberInput:
    # Hints for the spinner and assistive technology only: the limits are enforced by the Workup model,
    # which words the message (the form has `novalidate`, so the browser never pre-empts it).
    attrs = {"step": step, "inputmode": "decimal" if step == "any" else "numeric", **attrs}
    if minimum is not None:
        attrs["min"] = minimum
    if maximum is not None:
        attrs["max"] = maximum
    return forms.NumberInput(attrs=attrs)


# Form field name → path in the workup contract. Every leaf of Workup appears here once (tested).
FIELD_PATHS: dict[str, str] = {
    "age_years": "patient.age_years",
    "sex": "patient.sex",
    "height_cm": "patient.height_cm",
    "weight_kg": "patient.weight_kg",
    "bsa_formula": "context.bsa_formula",
    "ecog": "patient.ecog",
    "creatinine_value": "patient.creatinine.value",
    "creatinine_unit": "patient.creatinine.unit",
    "bilirubin_value": "patient.bilirubin.value",
    "bilirubin_unit": "patient.bilirubin.unit",
    "child_pugh": "patient.child_pugh",
    "crcl_weight": "context.crcl_weight",
    "lvef_pct": "patient.lvef_pct",
    "qtcf_ms": "patient.qtcf_ms",
    "prior_daunorubicin_mg_m2": "prior_therapy.anthracyclines_mg_m2.daunorubicin",
    "prior_idarubicin_mg_m2": "prior_therapy.anthracyclines_mg_m2.idarubicin",
    "prior_mitoxantrone_mg_m2": "prior_therapy.anthracyclines_mg_m2.mitoxantrone",
    "prior_doxorubicin_mg_m2": "prior_therapy.anthracyclines_mg_m2.doxorubicin",
    "prior_epirubicin_mg_m2": "prior_therapy.anthracyclines_mg_m2.epirubicin",
    "fit_for_intensive_chemo": "fit_for_intensive_chemo",
    "goals_of_care": "goals_of_care",
    "active_infection": "active_infection",
    "infection_uncontrolled": "infection_uncontrolled",
    "disease_status": "disease.status",
    "relapse_number": "disease.relapse_number",
    "cr1_duration_months": "disease.cr1_duration_months",
    "prior_allo_hct": "disease.prior_allo_hct",
    "months_since_hct": "disease.months_since_hct",
    "intensive_induction_cycles": "disease.intensive_induction_cycles",
    "marrow_blasts_pct": "disease.marrow_blasts_pct",
    "circulating_blasts": "disease.circulating_blasts",
    "extramedullary": "disease.extramedullary",
    "wbc_10e9_per_l": "disease.wbc_10e9_per_l",
    "needs_urgent_cytoreduction": "disease.needs_urgent_cytoreduction",
    "retested_at_relapse": "genetics.retested_at_relapse",
    "flt3_itd": "genetics.flt3_itd",
    "flt3_tkd": "genetics.flt3_tkd",
    "idh1": "genetics.idh1",
    "idh2": "genetics.idh2",
    "npm1": "genetics.npm1",
    "kmt2a_rearranged": "genetics.kmt2a_rearranged",
    "tp53": "genetics.tp53",
    "cd33_positive": "genetics.cd33_positive",
    "eln2022_risk": "genetics.eln2022_risk",
    "diagnosis_cytogenetics": "genetics.diagnosis_cytogenetics",
    "other_mutations": "genetics.other_mutations",
    "genetics_pending": "genetics.pending",
    "prior_intensive_chemo": "prior_therapy.intensive_chemo",
    "prior_hma": "prior_therapy.hma",
    "prior_venetoclax": "prior_therapy.venetoclax",
    "prior_venetoclax_failure": "prior_therapy.venetoclax_failure",
    "prior_gilteritinib": "prior_therapy.gilteritinib",
    "prior_other_flt3_inhibitor": "prior_therapy.other_flt3_inhibitor",
    "prior_idh_inhibitor": "prior_therapy.idh_inhibitor",
    "prior_menin_inhibitor": "prior_therapy.menin_inhibitor",
    "prior_gemtuzumab": "prior_therapy.gemtuzumab",
    "transplant_candidate": "transplant.candidate",
    "donor_available": "transplant.donor_available",
    "jurisdiction": "context.jurisdiction",
    "clinical_trial_available": "context.clinical_trial_available",
    "cyp3a4_inhibitor": "context.cyp3a4_inhibitor",
}
# A measurement entered as a value and a unit select: (value field, unit field, path of the {value, unit} object).
MEASUREMENTS = (
    ("creatinine_value", "creatinine_unit", "patient.creatinine"),
    ("bilirubin_value", "bilirubin_unit", "patient.bilirubin"),
)
# The five cumulative prior anthracycline inputs, by agent. All empty: the object is None (exposure unknown);
# any one filled: the object, an empty box counting as 0 (that agent not given).
ANTHRACYCLINE_PATH = "prior_therapy.anthracyclines_mg_m2"
ANTHRACYCLINE_FIELDS = {name: path.rsplit(".", 1)[1] for name, path in FIELD_PATHS.items()
                        if path.startswith(ANTHRACYCLINE_PATH + ".")}
# Errors about a measurement as a whole (its plausibility per unit) belong beside its value.
_ERROR_PATHS = {**{path: name for name, path in FIELD_PATHS.items()},
                **{path: value for value, _unit, path in MEASUREMENTS}}
_SECTION_KEYS = ("patient", "disease", "genetics", "prior_therapy", "transplant", "context")


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    fields: tuple[str, ...]
    layout: str = "fields"  # 'fields' (label above input) or 'checks' (a grid of checkboxes)
    note: str = ""  # one sentence under the legend, for what applies to the whole group


SECTIONS: tuple[Section, ...] = (
    Section("patient", "Patient", (
        "age_years", "sex", "height_cm", "weight_kg", "bsa_formula", "goals_of_care", "ecog",
        "fit_for_intensive_chemo")),
    Section("organ_function", "Organ function", (
        "creatinine_value", "bilirubin_value", "child_pugh", "crcl_weight"),
            note="Optional; a dose rule whose input is empty is marked “not assessed” on its dose line."),
    Section("heart", "Heart", (
        "lvef_pct", "qtcf_ms", "prior_daunorubicin_mg_m2", "prior_idarubicin_mg_m2", "prior_mitoxantrone_mg_m2",
        "prior_doxorubicin_mg_m2", "prior_epirubicin_mg_m2"),
            note="Cumulative prior anthracyclines, mg/m² per agent: leave all five empty if unknown; "
                 "an empty box beside a filled one counts as 0."),
    Section("infection", "Infection", ("active_infection", "infection_uncontrolled"), layout="checks"),
    Section("disease", "Disease status", (
        "disease_status", "relapse_number", "cr1_duration_months", "intensive_induction_cycles",
        "prior_allo_hct", "months_since_hct", "marrow_blasts_pct", "wbc_10e9_per_l", "circulating_blasts",
        "extramedullary", "needs_urgent_cytoreduction")),
    Section("genetics", "Genetics at relapse", (
        "retested_at_relapse", "flt3_itd", "flt3_tkd", "idh1", "idh2", "npm1", "kmt2a_rearranged", "tp53",
        "cd33_positive", "eln2022_risk", "diagnosis_cytogenetics", "other_mutations")),
    Section("genetics_pending", "Genetics pending", ("genetics_pending",),
            note="Tick each gene whose result is awaited; leave its result above unticked."),
    Section("prior_therapy", "Prior therapy", (
        "prior_intensive_chemo", "prior_hma", "prior_venetoclax", "prior_venetoclax_failure",
        "prior_gilteritinib", "prior_other_flt3_inhibitor", "prior_idh_inhibitor", "prior_menin_inhibitor",
        "prior_gemtuzumab"), layout="checks"),
    Section("transplant", "Transplant", ("transplant_candidate", "donor_available")),
    Section("context", "Context", ("jurisdiction", "cyp3a4_inhibitor", "clinical_trial_available")),
)

_GENE_SPLIT = re.compile(r"[,;\s]+")


class WorkupForm(forms.Form):
    # --- patient -------------------------------------------------------------------------------
    age_years = forms.IntegerField(label="Age", help_text="years", widget=_number(
        L.AGE_MIN_YEARS, L.AGE_MAX_YEARS, step="1"))
    sex = forms.ChoiceField(label="Sex", choices=_choices(Sex, labels.SEX, BLANK_CHOOSE),
                            help_text="for Cockcroft–Gault")
    height_cm = forms.FloatField(label="Height", help_text="cm", widget=_number(L.HEIGHT_MIN_CM, L.HEIGHT_MAX_CM))
    weight_kg = forms.FloatField(label="Weight", help_text="kg, actual body weight",
                                 widget=_number(L.WEIGHT_MIN_KG, L.WEIGHT_MAX_KG))
    bsa_formula = forms.ChoiceField(label="BSA formula", choices=_choices(BsaFormula, labels.BSA_FORMULA),
                                    initial="mosteller")
    ecog = forms.TypedChoiceField(
        label="ECOG performance status", coerce=int, empty_value=None,
        choices=[("", BLANK_CHOOSE)] + [(str(k), v) for k, v in labels.ECOG.items()],
    )
    creatinine_value = forms.FloatField(label="Serum creatinine", required=False,
                                        help_text="optional; without it renal adjustments are not assessed",
                                        widget=_number(0))
    creatinine_unit = forms.ChoiceField(label="Creatinine unit", choices=_choices(CreatinineUnit, labels.LAB_UNIT),
                                        initial="umol/L")
    fit_for_intensive_chemo = YesNoField(label="Fit for intensive chemotherapy", help_text="your judgement")
    goals_of_care = forms.ChoiceField(label="Goals of care",
                                      choices=_choices(GoalsOfCare, labels.GOALS_OF_CARE, BLANK_CHOOSE))

    # --- organ function ---------------------------------------------------------------------------
    bilirubin_value = forms.FloatField(label="Total bilirubin", required=False,
                                       help_text="optional; without it hepatic adjustments are not assessed",
                                       widget=_number(0))
    bilirubin_unit = forms.ChoiceField(label="Bilirubin unit", choices=_choices(BilirubinUnit, labels.LAB_UNIT),
                                       initial="umol/L")
    child_pugh = forms.ChoiceField(label="Child-Pugh class", required=False,
                                   choices=_choices(ChildPugh, labels.CHILD_PUGH, BLANK_NOT_RECORDED),
                                   help_text="where a label uses it (e.g. venetoclax)")
    crcl_weight = forms.ChoiceField(
        label="Body weight for CrCl", choices=_choices(CrclWeight, labels.CRCL_WEIGHT), initial="auto",
        help_text="Cockcroft–Gault; automatic does not use actual weight in obesity")

    # --- heart --------------------------------------------------------------------------------------
    lvef_pct = forms.IntegerField(label="LVEF (%)", required=False,
                                  widget=_number(L.LVEF_MIN_PCT, L.LVEF_MAX_PCT, step="1"))
    qtcf_ms = forms.IntegerField(label="Baseline QTcF (ms)", required=False, help_text="Fridericia",
                                 widget=_number(L.QTCF_MIN_MS, L.QTCF_MAX_MS, step="1"))
    prior_daunorubicin_mg_m2 = forms.FloatField(label="Daunorubicin (mg/m²)", required=False,
                                                widget=_number(0, L.ANTHRACYCLINE_MAX_MG_M2))
    prior_idarubicin_mg_m2 = forms.FloatField(label="Idarubicin (mg/m²)", required=False,
                                              widget=_number(0, L.ANTHRACYCLINE_MAX_MG_M2))
    prior_mitoxantrone_mg_m2 = forms.FloatField(label="Mitoxantrone (mg/m²)", required=False,
                                                widget=_number(0, L.ANTHRACYCLINE_MAX_MG_M2))
    prior_doxorubicin_mg_m2 = forms.FloatField(label="Doxorubicin (mg/m²)", required=False,
                                               widget=_number(0, L.ANTHRACYCLINE_MAX_MG_M2))
    prior_epirubicin_mg_m2 = forms.FloatField(label="Epirubicin (mg/m²)", required=False,
                                              widget=_number(0, L.ANTHRACYCLINE_MAX_MG_M2))

    # --- infection ----------------------------------------------------------------------------------
    active_infection = forms.BooleanField(label="Active infection", required=False)
    infection_uncontrolled = forms.BooleanField(label="Infection uncontrolled", required=False,
                                                help_text="despite treatment; tick active infection too")

    # --- disease -------------------------------------------------------------------------------
    disease_status = forms.ChoiceField(label="Disease status", choices=_choices(DiseaseStatus, labels.DISEASE_STATUS),
                                       initial="relapse")
    relapse_number = forms.IntegerField(label="Relapse number", required=False, initial=1,
                                        help_text="1 = first relapse; empty if primary refractory",
                                        widget=_number(1, L.RELAPSE_NUMBER_MAX, step="1"))
    cr1_duration_months = forms.FloatField(label="First remission (CR1) duration", required=False,
                                           help_text="months; empty if primary refractory",
                                           widget=_number(0, L.CR1_DURATION_MAX_MONTHS))
    intensive_induction_cycles = forms.IntegerField(label="Intensive induction cycles received", required=False,
                                                    widget=_number(0, L.INDUCTION_CYCLES_MAX, step="1"))
    prior_allo_hct = forms.BooleanField(label="Relapse after allogeneic HCT", required=False)
    months_since_hct = forms.FloatField(label="Months since allogeneic HCT", required=False,
                                        help_text="months; only after an HCT",
                                        widget=_number(0, L.MONTHS_SINCE_HCT_MAX))
    marrow_blasts_pct = forms.FloatField(label="Marrow blasts", required=False, help_text="%",
                                         widget=_number(0, L.MARROW_BLASTS_MAX_PCT))
    wbc_10e9_per_l = forms.FloatField(label="WBC", required=False, help_text="×10⁹/L",
                                      widget=_number(0, L.WBC_MAX_10E9_PER_L))
    circulating_blasts = TriStateField(label="Circulating blasts", unknown=BLANK_NOT_RECORDED)
    extramedullary = TriStateField(label="Extramedullary disease", unknown=BLANK_NOT_RECORDED)
    needs_urgent_cytoreduction = forms.BooleanField(label="Needs urgent cytoreduction", required=False)

    # --- genetics at relapse ----------------------------------------------------------------------
    retested_at_relapse = forms.BooleanField(
        label="Genetics re-tested at relapse", required=False,
        help_text="if not, targeted options are provisional and re-testing is advised")
    flt3_itd = forms.BooleanField(label="FLT3-ITD", required=False)
    flt3_tkd = forms.BooleanField(label="FLT3-TKD", required=False)
    idh1 = forms.BooleanField(label="IDH1", required=False)
    idh2 = forms.BooleanField(label="IDH2", required=False)
    npm1 = forms.BooleanField(label="NPM1", required=False)
    kmt2a_rearranged = forms.BooleanField(label="KMT2A rearranged", required=False)
    tp53 = forms.BooleanField(label="TP53", required=False)
    cd33_positive = TriStateField(label="CD33 on blasts", yes="Positive", no="Negative")
    eln2022_risk = forms.ChoiceField(label="ELN 2022 risk", required=False,
                                     choices=_choices(ElnRisk, labels.ELN_RISK, BLANK_NOT_RECORDED))
    diagnosis_cytogenetics = forms.ChoiceField(label="Cytogenetics at diagnosis", required=False,
                                               choices=_choices(DiagnosisCytogenetics, labels.CYTOGENETICS,
                                                                BLANK_NOT_RECORDED),
                                               help_text="for the EPI")
    other_mutations = forms.CharField(label="Other mutations", required=False, max_length=1000,
                                      help_text="gene symbols, comma-separated (e.g. DNMT3A, WT1)")
    # "FLT3-ITD awaited": a pending box never shares its name with the result box above it.
    genetics_pending = forms.MultipleChoiceField(
        label="Result awaited", required=False,
        choices=[(value, f"{label} awaited") for value, label in _choices(PendingGene, labels.GENE)],
        widget=forms.CheckboxSelectMultiple)

    # --- prior therapy ------------------------------------------------------------------------------
    prior_intensive_chemo = forms.BooleanField(label=labels.PRIOR_THERAPY["intensive_chemo"], required=False)
    prior_hma = forms.BooleanField(label=labels.PRIOR_THERAPY["hma"], required=False)
    prior_venetoclax = forms.BooleanField(label=labels.PRIOR_THERAPY["venetoclax"], required=False)
    prior_venetoclax_failure = forms.BooleanField(label=labels.PRIOR_THERAPY["venetoclax_failure"], required=False)
    prior_gilteritinib = forms.BooleanField(label=labels.PRIOR_THERAPY["gilteritinib"], required=False)
    prior_other_flt3_inhibitor = forms.BooleanField(label=labels.PRIOR_THERAPY["other_flt3_inhibitor"], required=False)
    prior_idh_inhibitor = forms.BooleanField(label=labels.PRIOR_THERAPY["idh_inhibitor"], required=False)
    prior_menin_inhibitor = forms.BooleanField(label=labels.PRIOR_THERAPY["menin_inhibitor"], required=False)
    prior_gemtuzumab = forms.BooleanField(label=labels.PRIOR_THERAPY["gemtuzumab"], required=False)

    # --- transplant ---------------------------------------------------------------------------------
    # An explicit answer: an uncertain candidacy changes the tiers (transplant is weighed, not assumed).
    transplant_candidate = AnsweredTriStateField(
        label="Transplant candidate", unknown=labels.HCT_CANDIDATE_UNKNOWN, help_text="your judgement",
        error_messages={"required": MSG_TRANSPLANT_UNANSWERED})
    donor_available = TriStateField(label="Donor available", unknown=labels.DONOR_UNKNOWN)

    # --- context ------------------------------------------------------------------------------------
    jurisdiction = forms.ChoiceField(label="Jurisdiction", choices=_choices(Jurisdiction, labels.JURISDICTION),
                                     help_text="drug availability")
    cyp3a4_inhibitor = forms.ChoiceField(label="Concomitant CYP3A4 / P-gp inhibitor",
                                         choices=_choices(Cyp3a4Inhibitor, labels.CYP3A4_INHIBITOR), initial="none",
                                         help_text="e.g. azole prophylaxis; adjusts venetoclax and others")
    clinical_trial_available = forms.BooleanField(label="Clinical trial available", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Per instance through `initial`, never on the field: the fields are shared (_SharedFields below).
        self.initial = {"jurisdiction": settings.AML_SALVAGE_DEFAULT_JURISDICTION, **self.initial}

    # --- conversion only ----------------------------------------------------------------------------

    def clean_other_mutations(self) -> list[str]:
        text = self.cleaned_data.get("other_mutations") or ""
        return [symbol for symbol in _GENE_SPLIT.split(text.strip()) if symbol]

    def to_workup_data(self) -> dict[str, Any]:
        """The nested workup dict from the fields that converted; empty fields are left out so that the
        Workup model applies its default or says what is required."""
        cleaned = getattr(self, "cleaned_data", {})
        data: dict[str, Any] = {key: {} for key in _SECTION_KEYS}
        composite = {name for value, unit, _path in MEASUREMENTS for name in (value, unit)} | set(ANTHRACYCLINE_FIELDS)
        for name, path in FIELD_PATHS.items():
            if name in composite or name not in cleaned:
                continue
            value = cleaned[name]
            if value is None or value == "" or value == []:
                continue
            _set_path(data, path, value)
        for value_name, unit_name, path in MEASUREMENTS:
            if cleaned.get(value_name) is not None:
                _set_path(data, path, {"value": cleaned[value_name],
                                       "unit": cleaned.get(unit_name) or self.fields[unit_name].initial})
        doses = {agent: cleaned.get(name) for name, agent in ANTHRACYCLINE_FIELDS.items()}
        if any(dose is not None for dose in doses.values()):
            _set_path(data, ANTHRACYCLINE_PATH, {agent: 0 if dose is None else dose for agent, dose in doses.items()})
        return data

    def parse_workup(self) -> Workup | None:
        """Validate with the one Workup model; put each problem beside its field. None if anything is wrong."""
        self.is_valid()  # runs the conversions (field errors stand on their own)
        try:
            workup = services.workup_parse(data=self.to_workup_data())
        except services.WorkupInvalid as exc:
            for error in exc.errors:
                self._add_workup_error(error)
            return None
        return workup if not self.errors else None

    def _add_workup_error(self, error: services.FieldError) -> None:
        name, rest = _field_for_path(error.path)
        if name is None:
            self.add_error(None, str(error))
            return
        if name in self.errors:
            return  # the field did not convert: that message already says what to fix
        message = self._with_unit_hint(name, rest, error.message)
        if name == "other_mutations" and rest and rest[0].isdigit():
            symbols = self.cleaned_data.get("other_mutations") or []
            index = int(rest[0])
            if index < len(symbols):
                message = f"‘{symbols[index]}’: {message}"
        self.add_error(name, message)

    def _with_unit_hint(self, name: str, rest: list[str], message: str) -> str:
        """The message with its unit, and a hint when the value looks typed in another unit."""
        value = self.cleaned_data.get(name)
        measurement = next(((unit, path) for v, unit, path in MEASUREMENTS if v == name), None)
        if measurement and not rest and value is not None:
            unit_name, path = measurement
            return _lab_message(path, value, self.cleaned_data.get(unit_name) or self.fields[unit_name].initial,
                                message)
        if name in FIELD_UNITS and _RANGE_MESSAGE.match(message):
            message = f"{message} {FIELD_UNITS[name]}"
        if not isinstance(value, (int, float)):
            return message
        if name == "height_cm" and L.HEIGHT_MIN_CM <= value * L.CM_PER_M <= L.HEIGHT_MAX_CM:
            message += " — " + MSG_HEIGHT_IN_METRES.format(value=value, cm=round(value * L.CM_PER_M, 1))
        elif name == "weight_kg" and value > L.WEIGHT_MAX_KG and value * L.KG_PER_LB <= L.WEIGHT_MAX_KG:
            message += " — " + MSG_WEIGHT_IN_POUNDS.format(value=value, kg=round(value * L.KG_PER_LB, 1))
        return message

    # --- what to show where ---------------------------------------------------------------------------

    def is_blank(self, name: str) -> bool:
        """True when the clinician has not entered anything in this input yet. An unticked checkbox is an
        answer (no), never blank: a contradiction about it (uncontrolled infection without active infection)
        is shown beside it while typing too."""
        if not self.is_bound:
            return True
        if isinstance(self.fields[name], forms.BooleanField):
            return False
        value = self.data.get(self.add_prefix(name), "")
        return str(value).strip() == ""

    def error_placement(self, *, defer_blank: bool) -> tuple[dict[str, list[str]], list[dict]]:
        """Errors to show beside each field, and the ones listed as still needed in the result panel.

        While the clinician types (HTMX updates), a field still empty is not flagged beside the input:
        it is listed under "still needed". A plain submit shows every error beside its field.
        """
        beside: dict[str, list[str]] = {name: [] for name in self.fields}
        pending: list[dict] = []
        if not self.is_bound:
            return beside, pending
        for name, messages in self.errors.items():
            if name == forms.forms.NON_FIELD_ERRORS:
                continue
            if defer_blank and self.is_blank(name):
                pending.append({"name": name, "id": self[name].id_for_label, "label": self.fields[name].label,
                                "messages": list(messages)})
            else:
                beside[name] = list(messages)
        return beside, pending


class _SharedFields(dict):
    """WorkupForm's fields, shared by every form instead of deep-copied for each (Django's default costs about
    0.5 ms for these ~50 fields on every live update). Safe because nothing changes a field per instance:
    per-request values go through ``form.initial`` and the widget attributes are set once, here."""

    def __deepcopy__(self, memo):
        return dict(self)


for _name, _field in WorkupForm.base_fields.items():
    # Tie each input to its help text and to the error container the HTMX update fills.
    _field.widget.attrs["aria-describedby"] = " ".join(
        [f"err-{_name}"] + ([f"help-{_name}"] if _field.help_text else []))
for _name, _unit in FIELD_UNITS.items():  # "Enter a number. Unit: cm": the unit with the conversion message
    _field = WorkupForm.base_fields[_name]
    _message = MSG_NUMBER_IN if isinstance(_field, forms.FloatField) else MSG_WHOLE_NUMBER_IN
    _field.error_messages["invalid"] = _message.format(unit=_unit)
for _value, _unit, _path in MEASUREMENTS:  # a unit select has no help text of its own
    WorkupForm.base_fields[_unit].widget.attrs["aria-describedby"] = f"err-{_unit}"
WorkupForm.base_fields = _SharedFields(WorkupForm.base_fields)


def _lab_message(path: str, value: float, unit: str, message: str) -> str:
    """A lab value out of range for its unit, in the page's unit words (µmol/L), with the other unit when the
    value is plausible in it (creatinine 1.2 "µmol/L" is 1.2 mg/dL; 95 "mg/dL" is 95 µmol/L)."""
    limits = {"patient.creatinine": ("creatinine", L.CREATININE_LIMITS),
              "patient.bilirubin": ("bilirubin", L.BILIRUBIN_LIMITS)}.get(path)
    if limits is None or unit not in limits[1]:
        return message
    analyte, by_unit = limits
    low, high = by_unit[unit]
    if low <= value <= high:
        return message  # another problem than the range: the model's own words
    words = labels.LAB_UNIT
    text = MSG_LAB_RANGE.format(analyte=analyte, value=value, unit=words[unit], low=low, high=high)
    for other, (other_low, other_high) in by_unit.items():
        if other != unit and other_low <= value <= other_high:
            text += " — " + MSG_LAB_OTHER_UNIT.format(value=value, other=words[other])
    return text


def _set_path(data: dict, path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value


def _field_for_path(path: str) -> tuple[str | None, list[str]]:
    """'disease.relapse_number' → ('relapse_number', []); 'genetics.other_mutations.2' → (..., ['2'])."""
    parts = path.split(".") if path else []
    for cut in range(len(parts), 0, -1):
        name = _ERROR_PATHS.get(".".join(parts[:cut]))
        if name:
            return name, parts[cut:]
    return None, parts


def _get_path(data: dict, path: str) -> Any:
    node: Any = data
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def form_data_from_workup(workup: dict) -> dict[str, str | list[str]]:
    """The POST data that reproduces a saved workup in the form (revise): the inverse of to_workup_data."""
    try:  # the model fills in the defaults of fields the dict leaves out (e.g. bsa_formula)
        workup = services.workup_parse(data=workup).model_dump(mode="json")
    except services.WorkupInvalid:
        pass  # shown as it is; the form will say what is wrong
    data: dict[str, str | list[str]] = {}
    form = WorkupForm()
    units = {unit: path for _value, unit, path in MEASUREMENTS}
    for name, path in FIELD_PATHS.items():
        field = form.fields[name]
        if name in units:  # the unit select always has a value; absent measurement: its default
            measurement = _get_path(workup, units[name])
            data[name] = measurement["unit"] if isinstance(measurement, dict) else str(field.initial)
            continue
        value = _get_path(workup, path)
        if isinstance(field, forms.MultipleChoiceField):
            data[name] = list(value or [])
        elif isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
        elif isinstance(field, (TriStateField, AnsweredTriStateField, YesNoField)):
            unknown = "" if isinstance(field, YesNoField) else "unknown"
            data[name] = {True: "yes", False: "no"}.get(value, unknown)
        elif name == "other_mutations":
            data[name] = ", ".join(value or [])
        else:
            data[name] = "" if value is None else _as_text(value)
    return data


class ConsultSaveForm(forms.Form):
    """What the clinician adds when saving: an identifier (never a name), the choice, the override reason."""

    patient_identifier = forms.CharField(
        label="Patient identifier", required=False, max_length=PATIENT_IDENTIFIER_MAX,
        help_text="MRN or initials — letters, digits and '-', no spaces; never the patient's name",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        # Checked here too (the service checks it again), so a failed save reports it with the workup's problems.
        validators=[patient_identifier_validator],
    )
    chosen_option_id = forms.ChoiceField(label="Chosen option", choices=(),
                                         error_messages={"required": MSG_CHOSEN_OPTION_REQUIRED})
    override_reason = forms.CharField(
        label="Reason for choosing a non-preferred option", required=False, max_length=2000,
        help_text="required when the chosen option is not preferred for this workup (override)",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    notes = forms.CharField(label="Notes", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    revision_of = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, option_choices: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["chosen_option_id"].choices = [("", BLANK_CHOOSE), *option_choices]
        for name, field in self.fields.items():
            described = [f"err-{name}"] + ([f"help-{name}"] if field.help_text else [])
            field.widget.attrs["aria-describedby"] = " ".join(described)


def option_choices() -> list[tuple[str, str]]:
    """Every option of the knowledge base by name, for the chosen-option select."""
    kb = services.knowledge_get()
    return sorted(((rid, reg.name) for rid, reg in kb.regimens.items()), key=lambda c: c[1].lower())
