"""Varied, valid relapse workups from a seed: the benchmarks' random workload (bench/workloads.py) and the
consults ``manage.py seed_growth`` saves. Plain dictionaries in the JSON contract (workup-schema.md), spread
over every branch of the rules; nothing clinical is decided here. No Django imports.
"""

from __future__ import annotations

import random


def random_workups(n: int, seed: int = 20261121) -> list[dict]:
    """Valid, contradiction-free workups spread over every branch of the rules."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        status = rng.choice(["primary_refractory", "relapse", "relapse", "mrd_relapse"])
        pif, mrd = status == "primary_refractory", status == "mrd_relapse"
        prior_hct = rng.random() < 0.25
        ven = rng.random() < 0.3
        out.append({
            "patient": {"age_years": rng.randint(18, 90), "sex": rng.choice(["female", "male"]),
                        "height_cm": round(rng.uniform(145, 200), 1), "weight_kg": round(rng.uniform(40, 140), 1),
                        "ecog": rng.randint(0, 3),
                        "creatinine": rng.choice([None, {"value": round(rng.uniform(40, 300)), "unit": "umol/L"},
                                                  {"value": round(rng.uniform(0.5, 3.5), 2), "unit": "mg/dL"}])},
            "fit_for_intensive_chemo": rng.random() < 0.6,
            "active_infection": rng.random() < 0.15,
            "goals_of_care": rng.choice(["curative", "curative", "disease_control", "comfort"]),
            "disease": {"status": status, "relapse_number": None if pif else rng.randint(1, 3),
                        "cr1_duration_months": None if pif else round(rng.uniform(1, 48), 1),
                        "prior_allo_hct": prior_hct,
                        "months_since_hct": round(rng.uniform(1, 36), 1) if prior_hct else None,
                        "marrow_blasts_pct": rng.uniform(0, 4) if mrd else rng.uniform(5, 95),
                        "circulating_blasts": False if mrd else rng.random() < 0.6,
                        "extramedullary": False if mrd else rng.random() < 0.1,
                        "wbc_10e9_per_l": round(rng.uniform(0.5, 80), 1),
                        "needs_urgent_cytoreduction": rng.random() < 0.1,
                        "intensive_induction_cycles": rng.randint(2, 3) if pif else rng.randint(0, 2)},
            "genetics": {"retested_at_relapse": rng.random() < 0.8,
                         **{k: rng.random() < 0.15 for k in ("flt3_itd", "flt3_tkd", "idh1", "idh2", "npm1",
                                                              "kmt2a_rearranged", "tp53")},
                         "cd33_positive": rng.choice([None, True, False]),
                         "eln2022_risk": rng.choice([None, "favorable", "intermediate", "adverse"]),
                         "diagnosis_cytogenetics": rng.choice([None, "inv16_t16_16", "t8_21", "other"]),
                         "other_mutations": rng.sample(["WT1", "FBXW7", "DNMT3A", "ASXL1", "RUNX1"],
                                                     rng.randint(0, 2))},
            "prior_therapy": {"intensive_chemo": True if pif else rng.random() < 0.7, "hma": rng.random() < 0.3,
                              "venetoclax": ven, "venetoclax_failure": ven and rng.random() < 0.5,
                              **{k: rng.random() < 0.1 for k in ("gilteritinib", "other_flt3_inhibitor",
                                                                  "idh_inhibitor", "menin_inhibitor", "gemtuzumab")}},
            "transplant": {"candidate": rng.choice([True, False, None]), "donor_available": rng.choice([True, None])},
            "context": {"jurisdiction": rng.choice(["CA", "US"]), "clinical_trial_available": rng.random() < 0.4,
                        "cyp3a4_inhibitor": rng.choice(["none", "none", "posaconazole", "strong", "moderate", "pgp"])},
        })
    return out
