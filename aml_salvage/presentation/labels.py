"""One vocabulary: the words for every enumeration a clinician reads, used by the form's choices, the live
panel, the saved consult page and the PDF. A value is spelled here once; nothing else spells it.

Each dict is keyed by the values of one ``Literal`` of the workup or result contract (a test checks that
every value has its word). Clinical numbers never appear in a label: thresholds come from the knowledge
base's parameters.
"""

from __future__ import annotations

from ..domain.result import TIER_LABELS
from ..domain.workup import LAB_UNIT_WORDS

# --- the workup (form choices and the workup rows) ---------------------------------------------------------
SEX = {"female": "Female", "male": "Male"}
GOALS_OF_CARE = {"curative": "Curative", "disease_control": "Disease control", "comfort": "Comfort care"}
DISEASE_STATUS = {
    "relapse": "Hematologic relapse",
    "primary_refractory": "Primary refractory",
    "mrd_relapse": "MRD relapse (molecular or flow)",
}
ELN_RISK = {"favorable": "Favorable", "intermediate": "Intermediate", "adverse": "Adverse"}
CYTOGENETICS = {"inv16_t16_16": "inv(16) / t(16;16)", "t8_21": "t(8;21)", "other": "Other"}
JURISDICTION = {"CA": "Canada", "US": "United States"}
CYP3A4_INHIBITOR = {
    "none": "None",
    "posaconazole": "Posaconazole",
    "strong": "Other strong CYP3A4 inhibitor",
    "moderate": "Moderate CYP3A4 inhibitor",
    "pgp": "P-gp inhibitor",
}
BSA_FORMULA = {"mosteller": "Mosteller", "dubois": "DuBois"}
LAB_UNIT = LAB_UNIT_WORDS
CHILD_PUGH = {"A": "Class A", "B": "Class B", "C": "Class C"}
CRCL_WEIGHT = {
    "auto": "Automatic",
    "actual": "Actual body weight",
    "ideal": "Ideal body weight",
    "adjusted": "Adjusted body weight",
}
GENE = {
    "flt3_itd": "FLT3-ITD", "flt3_tkd": "FLT3-TKD", "idh1": "IDH1", "idh2": "IDH2", "npm1": "NPM1",
    "kmt2a_rearranged": "KMT2A-r", "tp53": "TP53", "cd33_positive": "CD33",
}
PRIOR_THERAPY = {
    "intensive_chemo": "Intensive chemotherapy",
    "hma": "Hypomethylating agent",
    "venetoclax": "Venetoclax",
    "venetoclax_failure": "Relapsed on / refractory to venetoclax",
    "gilteritinib": "Gilteritinib",
    "other_flt3_inhibitor": "Other FLT3 inhibitor",
    "idh_inhibitor": "IDH inhibitor",
    "menin_inhibitor": "Menin inhibitor",
    "gemtuzumab": "Gemtuzumab ozogamicin",
}
# What an unanswered yes/no question reads, where the form words it for that question.
HCT_CANDIDATE_UNKNOWN = "Uncertain"
DONOR_UNKNOWN = "Unknown / search under way"
ECOG = {
    0: "0 — fully active", 1: "1 — restricted in strenuous activity", 2: "2 — ambulatory, self-care",
    3: "3 — limited self-care", 4: "4 — completely disabled",
}

# --- the result ------------------------------------------------------------------------------------------
TIER = TIER_LABELS
# A shape per tier, beside the always-present text label: colour is never the only signal.
TIER_ICON = {"preferred": "★", "alternative": "◆", "consider": "○", "not_recommended": "✕"}
TIER_DESCRIPTION = {
    "preferred": "The rules' first choice for this workup.",
    "alternative": "Reasonable instead of, or after, a preferred option.",
    "consider": "Limited evidence, investigational, restricted access, or appropriate only in some patients.",
    "not_recommended": "Considered and set aside — each with its reason.",
}
AVAILABILITY = {"available": "Available", "restricted": "Restricted", "unavailable": "Unavailable"}
OPTION_KIND = {  # in the regimen library's order
    "intensive": "Intensive chemotherapy",
    "low-intensity": "Low-intensity therapy",
    "targeted": "Targeted therapy",
    "investigational": "Investigational",
    "cytoreduction": "Cytoreduction",
    "supportive": "Supportive care",
    "strategy": "Strategies (trial, transplant, cellular therapy)",
}
ACTION = {
    "retest-genetics": "Re-test genetics at relapse",
    "allo-hct-referral": "Transplant referral",
    "palliative-care": "Palliative care",
    "urgent-cytoreduction": "Cytoreduction",
}
SEVERITY = {"boxed": "Boxed warning", "major": "Major", "monitor": "Monitor"}
DOSE_UNIT = {"mg/m2": "mg/m²"}
# The inputs a dose line can lack (DoseLine.not_assessed).
NOT_ASSESSED_INPUT = {
    "creatinine": "creatinine", "bilirubin": "bilirubin", "child_pugh": "Child-Pugh class", "lvef_pct": "LVEF",
    "qtcf_ms": "QTcF", "anthracyclines_mg_m2": "prior anthracycline doses",
}

YES, NO = "Yes", "No"
NOT_RECORDED = "not recorded"
NOT_ENTERED = "not entered"  # an optional input of contract v2 left empty
AWAITED = "result awaited"

# --- the monitoring plan (knowledge base monitoring.yaml) ----------------------------------------------
MONITORING_CATEGORY = {
    "tls_labs": "Tumour lysis laboratory schedule",
    "ecg_qtc": "ECG / QTc schedule",
    "differentiation_syndrome": "Differentiation syndrome: signs and action",
    "marrow_assessment": "Marrow assessment timing",
    "organ_labs": "Organ function laboratory schedule",
}
