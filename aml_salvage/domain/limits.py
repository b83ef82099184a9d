"""Named limits of the relapse workup (workup-schema.md).

Kept in one module so the pydantic models, the Django form widgets and the tests all read the same
numbers. These are input-plausibility limits, not clinical thresholds: clinical thresholds (early
relapse, EPI bands, CrCl cut-offs) live in the knowledge base, with their sources.
"""

AGE_MIN_YEARS = 18  # the tool is for adults only [clinical-spec]
AGE_MAX_YEARS = 120
HEIGHT_MIN_CM = 100
HEIGHT_MAX_CM = 250
WEIGHT_MIN_KG = 25
WEIGHT_MAX_KG = 350
# Unit definitions, for the hints beside a height typed in metres or a weight in pounds.
CM_PER_M = 100
KG_PER_LB = 0.45359237
ECOG_MIN = 0
ECOG_MAX = 4
# Serum creatinine plausibility per unit; beyond these a typing error is far likelier than a patient.
CREATININE_LIMITS = {"umol/L": (10.0, 2000.0), "mg/dL": (0.1, 25.0)}
UMOL_PER_MG_DL_CREATININE = 88.4
MARROW_BLASTS_MAX_PCT = 100
WBC_MAX_10E9_PER_L = 1000
CR1_DURATION_MAX_MONTHS = 600
MONTHS_SINCE_HCT_MAX = 600
RELAPSE_NUMBER_MAX = 20
INDUCTION_CYCLES_MAX = 20
OTHER_MUTATIONS_MAX = 50
GENE_SYMBOL_MAX_LEN = 20

# Contract v2 (workup-schema.md "Contract v2")
# Total bilirubin plausibility per unit; 1 mg/dL = 17.1 µmol/L.
BILIRUBIN_LIMITS = {"umol/L": (1.0, 1000.0), "mg/dL": (0.05, 60.0)}
UMOL_PER_MG_DL_BILIRUBIN = 17.1
LVEF_MIN_PCT = 10
LVEF_MAX_PCT = 85
QTCF_MIN_MS = 300
QTCF_MAX_MS = 700
# Cumulative prior anthracycline per agent, mg/m²: a plausibility bound, not a clinical threshold.
ANTHRACYCLINE_MAX_MG_M2 = 3000
MONTHS_PER_YEAR = 12
