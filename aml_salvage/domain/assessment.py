"""Disease assessment: status (DT20 Table 1), remission duration, EPI, BSA and CrCl.

Plain functions over the validated workup and the knowledge base; no Django.
"""

from __future__ import annotations

import math

from .knowledge import CrclWeightRule, EpiTable, KnowledgeBase
from .result import Assessment, CrclWeightOut, EpiResult
from .workup import LAB_UNIT_WORDS, Workup

STATUS_LABELS = {
    "primary_refractory": "Primary refractory (primary induction failure)",
    "relapse": "Hematologic relapse",
    "mrd_relapse": "MRD relapse",
}
# DT20 Table 1 (modified from ELN 2017), in the article's words.
STATUS_DEFINITIONS = {
    "primary_refractory": "Lack of CR or CRi following at least 2 cycles of intensive chemotherapy (DT20 Table 1)",
    "relapse": "≥5% blasts in the bone marrow, circulating blasts, or new extramedullary disease after CR "
    "(DT20 Table 1)",
    "mrd_relapse": "MRD detected by molecular techniques or multiparameter flow cytometry after an MRD-negative "
    "CR, without hematologic relapse (DT20 Table 1)",
}


def bsa_mosteller(height_cm: float, weight_kg: float) -> float:
    """Mosteller: √(height cm × weight kg / 3600)."""
    return math.sqrt(height_cm * weight_kg / 3600.0)


def bsa_dubois(height_cm: float, weight_kg: float) -> float:
    """DuBois: 0.007184 × height^0.725 × weight^0.425."""
    return 0.007184 * height_cm**0.725 * weight_kg**0.425


BSA_FORMULAS = {"mosteller": bsa_mosteller, "dubois": bsa_dubois}
BSA_FORMULA_LABELS = {"mosteller": "Mosteller", "dubois": "DuBois"}


def crcl_cockcroft_gault(*, age_years: int, weight_kg: float, sex: str, creatinine_mg_dl: float) -> float:
    """Cockcroft–Gault creatinine clearance in mL/min with the body weight given (see crcl_body_weight);
    ×0.85 for women."""
    value = (140 - age_years) * weight_kg / (72.0 * creatinine_mg_dl)
    return value * 0.85 if sex == "female" else value


def ideal_body_weight(*, height_cm: float, sex: str, rule: CrclWeightRule) -> float:
    """Devine ideal body weight, kg [Devine 1974]: a base weight at 5 ft plus a weight per inch over it."""
    inches_over = height_cm / rule.cm_per_inch - rule.ibw_base_height_in
    return rule.ibw_base_kg[sex] + rule.ibw_kg_per_inch * inches_over


def crcl_body_weight(*, choice: str, height_cm: float, weight_kg: float, sex: str, bmi: float,
                     rule: CrclWeightRule) -> tuple[str, float, str]:
    """(basis, kg, why) of the body weight Cockcroft–Gault uses.

    An explicit choice is honoured. 'auto' uses adjusted weight in obesity (rule in parameters.yaml,
    [Winter 2012]) and actual weight otherwise. Devine's formula starts at 5 ft: below that height no ideal
    (and so no adjusted) weight is defined, and actual weight is used whatever the choice, saying so."""
    shortest_cm = rule.ibw_base_height_in * rule.cm_per_inch
    if height_cm < shortest_cm:
        asked = "" if choice in ("auto", "actual") else f" ({choice} weight was asked for and cannot be computed)"
        return "actual", weight_kg, (
            f"actual body weight {_kg(weight_kg)} kg: Devine's ideal body weight is not defined below "
            f"{shortest_cm:.0f} cm (5 ft), so neither ideal nor adjusted weight can be used{asked}")
    ibw = ideal_body_weight(height_cm=height_cm, sex=sex, rule=rule)
    adjusted = ibw + rule.adjusted_fraction * (weight_kg - ibw)
    pct_ibw = 100 * weight_kg / ibw
    described = f"ideal {ibw:.1f} kg (Devine), actual {_kg(weight_kg)} kg = {pct_ibw:.0f}% of ideal, BMI {bmi:.1f}"
    if choice == "actual":
        return "actual", weight_kg, f"actual body weight {_kg(weight_kg)} kg, as chosen ({described})"
    if choice == "ideal":
        return "ideal", ibw, f"ideal body weight {_kg(ibw)} kg, as chosen ({described})"
    if choice == "adjusted":
        return "adjusted", adjusted, (
            f"adjusted body weight {_kg(adjusted)} kg = IBW + {rule.adjusted_fraction:g} × (actual − IBW), as chosen "
            f"({described})")
    obese = bmi >= rule.obese_bmi or pct_ibw >= rule.obese_pct_ibw
    if obese and weight_kg > ibw:
        return "adjusted", adjusted, (
            f"adjusted body weight {_kg(adjusted)} kg = IBW + {rule.adjusted_fraction:g} × (actual − IBW), "
            f"automatic: BMI ≥"
            f"{rule.obese_bmi:g} or actual ≥{rule.obese_pct_ibw:g}% of ideal ({described}; Winter 2012)")
    return "actual", weight_kg, f"actual body weight {_kg(weight_kg)} kg, automatic: not obese ({described})"


def _kg(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _band(bands, value, attr):
    for band in bands:
        limit = getattr(band, attr)
        if limit is None or value <= limit:
            return band
    raise ValueError(f"no EPI band for {value}")  # the table's last band is open-ended


def epi_compute(workup: Workup, table: EpiTable) -> tuple[EpiResult | None, str | None]:
    """European Prognostic Index (Breems 2005). None, with the reason, where it does not apply."""
    disease = workup.disease
    if disease.status == "primary_refractory":
        return None, "EPI not computed: it applies to relapse, not to primary refractory disease."
    cytogenetics = workup.genetics.diagnosis_cytogenetics
    if cytogenetics is None:
        return None, "EPI not computed: cytogenetics at diagnosis not entered."
    rfi = _band(table.rfi, disease.cr1_duration_months, "max_months")
    age = _band(table.age, workup.patient.age_years, "max_age")
    return _epi_build(workup, table, rfi, age, cytogenetics), None


def _epi_build(workup: Workup, table: EpiTable, rfi, age, cytogenetics: str) -> EpiResult:
    disease = workup.disease
    points = {
        "rfi": rfi.points,
        "cytogenetics": table.cytogenetics[cytogenetics],
        "age": age.points,
        "prior_sct": table.prior_sct if disease.prior_allo_hct else 0,
    }
    score = sum(points.values())
    group = next(g for g in table.groups if g.min_score <= score <= g.max_score)
    caveats = [table.caveats["pre_targeted"]]
    if workup.patient.age_years > table.derivation_age_max:
        caveats.append(table.caveats["age_over_60"])
    if (disease.relapse_number or 1) > 1:
        caveats.append(table.caveats["not_first_relapse"])
    if disease.status == "mrd_relapse":
        caveats.append(table.caveats["mrd_relapse"])
    cyto_words = {"inv16_t16_16": "inv(16)/t(16;16)", "t8_21": "t(8;21)", "other": "other"}
    return EpiResult(
        score=score,
        group=group.group,
        points=points,
        bands={
            "rfi": rfi.label,
            "cytogenetics": cyto_words[cytogenetics],
            "age": age.label,
            "prior_sct": "yes" if disease.prior_allo_hct else "no",
        },
        os_1y_pct=group.os_1y_pct,
        os_5y_pct=group.os_5y_pct,
        caveats=caveats,
        sources=list(table.source),
    )


def _targets(workup: Workup) -> list[str]:
    g = workup.genetics
    found = [
        ("FLT3-ITD", g.flt3_itd), ("FLT3-TKD", g.flt3_tkd), ("IDH1", g.idh1), ("IDH2", g.idh2),
        ("NPM1", g.npm1), ("KMT2A rearrangement", g.kmt2a_rearranged), ("CD33-positive", g.cd33_positive),
    ]
    return [name for name, present in found if present]


def assessment_compute(*, workup: Workup, kb: KnowledgeBase, bsa_cap_m2: float | None = None) -> Assessment:
    p = workup.patient
    d = workup.disease
    params = kb.parameters
    formula = workup.context.bsa_formula
    bsa = round(BSA_FORMULAS[formula](p.height_cm, p.weight_kg), 2)
    bsa_used = min(bsa, bsa_cap_m2) if bsa_cap_m2 else bsa

    bmi = round(p.weight_kg / (p.height_cm / 100) ** 2, 1)
    crcl_by_weight: dict[str, float] = {}
    if p.creatinine is None:
        crcl = None
        crcl_weight = None
        crcl_note = "Creatinine not entered: CrCl and renal adjustments not assessed."
    else:
        basis, crcl_kg, why = crcl_body_weight(
            choice=workup.context.crcl_weight, height_cm=p.height_cm, weight_kg=p.weight_kg, sex=p.sex,
            bmi=bmi, rule=params.crcl_weight,
        )
        crcl = round(
            crcl_cockcroft_gault(
                age_years=p.age_years, weight_kg=crcl_kg, sex=p.sex, creatinine_mg_dl=p.creatinine.mg_dl
            ),
            1,
        )
        crcl_weight = CrclWeightOut(basis=basis, kg=round(crcl_kg, 1))
        crcl_note = (
            f"Cockcroft–Gault: {why}; creatinine "
            f"{p.creatinine.value:g} {LAB_UNIT_WORDS[p.creatinine.unit]} ({p.creatinine.mg_dl:.2f} mg/dL)"
        )
        # The same creatinine with every body weight that can be computed: the clinician sees how much the
        # choice matters (a renal dose band can depend on it; consult.py warns when it does).
        for other in ("actual", "ideal", "adjusted"):
            other_basis, other_kg, _ = crcl_body_weight(
                choice=other, height_cm=p.height_cm, weight_kg=p.weight_kg, sex=p.sex, bmi=bmi,
                rule=params.crcl_weight)
            if other_basis == other:
                crcl_by_weight[other] = round(crcl_cockcroft_gault(
                    age_years=p.age_years, weight_kg=other_kg, sex=p.sex, creatinine_mg_dl=p.creatinine.mg_dl), 1)
        others = [f"{b} weight {v:.0f}" for b, v in crcl_by_weight.items() if b != basis]
        if others and abs(max(crcl_by_weight.values()) - min(crcl_by_weight.values())) >= 1:
            crcl_note += f" (CrCl with {', '.join(others)} mL/min)"

    cr1 = d.cr1_duration_months
    early = None if cr1 is None else cr1 < params.early_relapse_months
    cr1_le_12 = None if cr1 is None else cr1 <= params.cr1_adverse_months
    epi, epi_note = epi_compute(workup, params.epi)

    notes: list[str] = []
    if early:
        notes.append(
            f"Early relapse: first remission under {params.early_relapse_months:g} months (DT20 Fig 2; DT20 calls "
            "the 6-month cut arbitrary)."
        )
    if cr1_le_12:
        notes.append(
            f"First remission ≤{params.cr1_adverse_months:g} months: adverse prognostic factor (DT20 Fig 1B; 5-year "
            "OS from relapse about 10% overall)."
        )
    if d.status == "primary_refractory" and d.intensive_induction_cycles is None:
        notes.append("Number of intensive induction cycles not entered: PIF requires at least 2 (DT20 Table 1).")
    if (d.relapse_number or 0) >= 2:
        notes.append("Second or later relapse: multiple relapses steer toward non-intensive therapy (DT20).")
    if not workup.genetics.retested_at_relapse:
        notes.append(
            "Genetics not re-tested at relapse: about 10% of patients change FLT3 status at relapse (FRC25); "
            "targeted options are provisional."
        )
    if workup.active_infection:
        notes.append("Active infection: a reason to prefer less intensive therapy (FRC25).")

    g = workup.genetics
    adverse = g.eln2022_risk == "adverse" or g.tp53
    return Assessment(
        status=d.status,
        status_label=STATUS_LABELS[d.status],
        status_definition=STATUS_DEFINITIONS[d.status],
        relapse_number=d.relapse_number,
        cr1_duration_months=cr1,
        early_relapse=early,
        cr1_le_12_months=cr1_le_12,
        post_hct=d.prior_allo_hct,
        months_since_hct=d.months_since_hct,
        epi=epi,
        epi_note=epi_note,
        height_cm=p.height_cm,
        weight_kg=p.weight_kg,
        bsa_m2=bsa,
        bsa_formula=formula,
        bsa_used_m2=round(bsa_used, 2),
        bsa_cap_m2=bsa_cap_m2 if bsa_cap_m2 and bsa > bsa_cap_m2 else None,
        crcl_ml_min=crcl,
        crcl_note=crcl_note,
        bmi=bmi,
        crcl_weight=crcl_weight,
        crcl_by_weight=crcl_by_weight,
        targets=_targets(workup),
        adverse_risk=adverse,
        notes=notes,
    )
