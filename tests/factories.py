"""Named patient archetypes (from the worked cases) and a builder that overrides dotted paths."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

CASES_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "cases"
LOCAL_CASES_DIR = Path(__file__).resolve().parent / "cases"

# DT20 Patient 1: 30-year-old fit woman, first relapse, HCT candidate (CR1 set per test).
YOUNG_FIT = {
    "patient": {"age_years": 30, "sex": "female", "height_cm": 165, "weight_kg": 60, "ecog": 0,
                "creatinine": {"value": 80, "unit": "umol/L"}},
    "fit_for_intensive_chemo": True,
    "active_infection": False,
    "goals_of_care": "curative",
    "disease": {"status": "relapse", "relapse_number": 1, "cr1_duration_months": 9, "prior_allo_hct": False,
                "months_since_hct": None, "marrow_blasts_pct": 30, "circulating_blasts": True,
                "extramedullary": False, "wbc_10e9_per_l": 8, "needs_urgent_cytoreduction": False,
                "intensive_induction_cycles": 1},
    "genetics": {"retested_at_relapse": True, "flt3_itd": False, "flt3_tkd": False, "idh1": False, "idh2": False,
                 "npm1": False, "kmt2a_rearranged": False, "tp53": False, "cd33_positive": None,
                 "eln2022_risk": "intermediate", "diagnosis_cytogenetics": "other", "other_mutations": []},
    "prior_therapy": {"intensive_chemo": True, "hma": False, "venetoclax": False, "venetoclax_failure": False,
                      "gilteritinib": False, "other_flt3_inhibitor": False, "idh_inhibitor": False,
                      "menin_inhibitor": False, "gemtuzumab": False},
    "transplant": {"candidate": True, "donor_available": None},
    "context": {"jurisdiction": "CA", "clinical_trial_available": False, "cyp3a4_inhibitor": "none"},
}

# DT20 Patient 3 (US): 86-year-old, unfit, disease-control goals, not a transplant candidate.
OLDER_UNFIT = copy.deepcopy(YOUNG_FIT)
OLDER_UNFIT["patient"].update({"age_years": 86, "height_cm": 158, "weight_kg": 55, "ecog": 2})
OLDER_UNFIT.update({"fit_for_intensive_chemo": False, "goals_of_care": "disease_control"})
OLDER_UNFIT["disease"].update({"cr1_duration_months": 24, "intensive_induction_cycles": 0})
OLDER_UNFIT["prior_therapy"].update({"intensive_chemo": False, "hma": True})
OLDER_UNFIT["transplant"] = {"candidate": False, "donor_available": None}
OLDER_UNFIT["context"]["jurisdiction"] = "US"


def build(base: dict = YOUNG_FIT, **overrides) -> dict:
    """Copy ``base`` and set dotted paths: build(**{"genetics.flt3_itd": True})."""
    data = copy.deepcopy(base)
    for path, value in overrides.items():
        node = data
        *parents, leaf = path.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    return data


def case_files() -> list[Path]:
    """Every worked case: ../shared/cases when it exists, and the repository's copy in tests/cases (so a
    clone without ../shared still checks them). A case in both is read from ../shared (the newer one)."""
    by_name = {p.name: p for p in sorted(LOCAL_CASES_DIR.glob("*.json"))}
    by_name.update({p.name: p for p in sorted(CASES_DIR.glob("*.json"))})
    return [by_name[name] for name in sorted(by_name)]


def load_case(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def card_body(html: str) -> str:
    """What a live card's keyed element (aml_salvage/live_cards.py) holds."""
    match = re.fullmatch(r'<div class="card-body" id="card-([0-9a-f]{16})" data-card-key="\1">(.*)</div>', html, re.S)
    assert match, html[:200]
    return match.group(2)
