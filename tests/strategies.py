"""Hypothesis strategies: random *valid* relapse workups (contradiction-free by construction)."""

from hypothesis import strategies as st

from aml_salvage.domain import limits as L

opt_bool = st.one_of(st.none(), st.booleans())


@st.composite
def workups(draw):
    status = draw(st.sampled_from(["primary_refractory", "relapse", "mrd_relapse"]))
    prior_hct = draw(st.booleans())
    pif = status == "primary_refractory"
    mrd = status == "mrd_relapse"
    unit = draw(st.sampled_from(["umol/L", "mg/dL"]))
    low, high = L.CREATININE_LIMITS[unit]
    creatinine = draw(st.one_of(st.none(), st.builds(
        lambda v: {"value": v, "unit": unit}, st.floats(low, high, allow_nan=False).map(lambda x: round(x, 2)))))
    ven = draw(st.booleans())
    bili_unit = draw(st.sampled_from(["umol/L", "mg/dL"]))
    bili_low, bili_high = L.BILIRUBIN_LIMITS[bili_unit]
    bilirubin = draw(st.one_of(st.none(), st.builds(
        lambda v: {"value": v, "unit": bili_unit},
        st.floats(bili_low, bili_high, allow_nan=False).map(lambda x: round(x, 2)).filter(lambda x: x > 0))))
    flags = {k: draw(st.booleans()) for k in ("flt3_itd", "flt3_tkd", "idh1", "idh2", "npm1",
                                               "kmt2a_rearranged", "tp53")}
    cd33 = draw(opt_bool)
    not_positive = [k for k, v in flags.items() if not v] + ([] if cd33 else ["cd33_positive"])
    pending = draw(st.lists(st.sampled_from(not_positive), max_size=3, unique=True)) if not_positive else []
    active_infection = draw(st.booleans())
    anthracyclines = draw(st.one_of(st.none(), st.fixed_dictionaries({
        agent: st.floats(0, 900).map(lambda x: round(x))
        for agent in ("daunorubicin", "idarubicin", "mitoxantrone", "doxorubicin", "epirubicin")})))
    return {
        "patient": {
            "age_years": draw(st.integers(L.AGE_MIN_YEARS, L.AGE_MAX_YEARS)),
            "sex": draw(st.sampled_from(["female", "male"])),
            "height_cm": draw(st.floats(L.HEIGHT_MIN_CM, L.HEIGHT_MAX_CM).map(lambda x: round(x, 1))),
            "weight_kg": draw(st.floats(L.WEIGHT_MIN_KG, L.WEIGHT_MAX_KG).map(lambda x: round(x, 1))),
            "ecog": draw(st.integers(0, 4)),
            "creatinine": creatinine,
            "bilirubin": bilirubin,
            "child_pugh": draw(st.sampled_from([None, "A", "B", "C"])),
            "lvef_pct": draw(st.one_of(st.none(), st.integers(L.LVEF_MIN_PCT, L.LVEF_MAX_PCT))),
            "qtcf_ms": draw(st.one_of(st.none(), st.integers(L.QTCF_MIN_MS, L.QTCF_MAX_MS))),
        },
        "fit_for_intensive_chemo": draw(st.booleans()),
        "active_infection": active_infection,
        "infection_uncontrolled": draw(st.booleans()) if active_infection else False,
        "goals_of_care": draw(st.sampled_from(["curative", "disease_control", "comfort"])),
        "disease": {
            "status": status,
            "relapse_number": None if pif else draw(st.integers(1, 4)),
            "cr1_duration_months": None if pif else draw(st.floats(0, 120).map(lambda x: round(x, 1))),
            "prior_allo_hct": prior_hct,
            "months_since_hct": draw(st.floats(0, 60).map(lambda x: round(x, 1))) if prior_hct else None,
            "marrow_blasts_pct": draw(st.floats(0, 4.9) if mrd else st.floats(0, 100)),
            "circulating_blasts": False if mrd else draw(opt_bool),
            "extramedullary": False if mrd else draw(opt_bool),
            "wbc_10e9_per_l": draw(st.one_of(st.none(), st.floats(0, 300))),
            "needs_urgent_cytoreduction": draw(st.booleans()),
            "intensive_induction_cycles": draw(st.integers(2, 4)) if pif else draw(st.one_of(st.none(),
                                                                                            st.integers(0, 4))),
        },
        "genetics": {
            "retested_at_relapse": draw(st.booleans()),
            **flags,
            "cd33_positive": cd33,
            "pending": pending,
            "eln2022_risk": draw(st.sampled_from([None, "favorable", "intermediate", "adverse"])),
            "diagnosis_cytogenetics": draw(st.sampled_from([None, "inv16_t16_16", "t8_21", "other"])),
            "other_mutations": draw(st.lists(st.sampled_from(["WT1", "FBXW7", "PHF6", "DNMT3A", "ASXL1"]),
                                             max_size=3)),
        },
        "prior_therapy": {
            "intensive_chemo": True if pif else draw(st.booleans()),
            "hma": draw(st.booleans()),
            "venetoclax": ven,
            "venetoclax_failure": draw(st.booleans()) if ven else False,
            **{k: draw(st.booleans()) for k in ("gilteritinib", "other_flt3_inhibitor", "idh_inhibitor",
                                                 "menin_inhibitor", "gemtuzumab")},
            "anthracyclines_mg_m2": anthracyclines,
        },
        "transplant": {"candidate": draw(opt_bool), "donor_available": draw(opt_bool)},
        "context": {
            "jurisdiction": draw(st.sampled_from(["CA", "US"])),
            "clinical_trial_available": draw(st.booleans()),
            "cyp3a4_inhibitor": draw(st.sampled_from(["none", "posaconazole", "strong", "moderate", "pgp"])),
            "bsa_formula": draw(st.sampled_from(["mosteller", "dubois"])),
            "crcl_weight": draw(st.sampled_from(["auto", "actual", "ideal", "adjusted"])),
        },
    }
