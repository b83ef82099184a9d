"""The workup in words, section by section: one description of a consult's inputs for the saved consult
page and the PDF. Every field of the workup appears once; a gene whose result is awaited is listed as
awaited, never as not detected; an optional input left empty reads 'not entered'."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.workup import Workup
from . import labels as L
from .formatting import number


@dataclass(frozen=True)
class WorkupSection:
    title: str
    rows: list[tuple[str, str]]  # (label, value)


_LESIONS = ("flt3_itd", "flt3_tkd", "idh1", "idh2", "npm1", "kmt2a_rearranged", "tp53")


def _yes_no(value: bool | None, unknown: str = L.NOT_RECORDED) -> str:
    return unknown if value is None else (L.YES if value else L.NO)


def _or_none(items: list[str]) -> str:
    return ", ".join(items) if items else "none"


def _measured(value: float | None, unit: str, places: int = 1, absent: str = L.NOT_RECORDED) -> str:
    return absent if value is None else f"{number(value, places)}{unit}"


def _lab(m) -> str:
    return f"{number(m.value)} {L.LAB_UNIT[m.unit]}" if m is not None else L.NOT_ENTERED


def _anthracyclines(doses) -> str:
    """'daunorubicin 270 mg/m²'; 'none' when each agent is 0; not entered when unknown (None)."""
    if doses is None:
        return L.NOT_ENTERED
    given = [f"{agent} {number(dose, 1)} mg/m²" for agent, dose in doses.model_dump().items() if dose]
    return ", ".join(given) if given else "none"


def workup_sections(workup: Workup) -> list[WorkupSection]:
    p, d, g, t, c, prior = (workup.patient, workup.disease, workup.genetics, workup.transplant,
                            workup.context, workup.prior_therapy)
    pending = set(g.pending)
    lesions = {key: L.GENE[key] for key in _LESIONS}
    return [
        WorkupSection("Patient", [
            ("Age", f"{p.age_years} years"),
            ("Sex", L.SEX[p.sex]),
            ("Height / weight", f"{number(p.height_cm, 1)} cm / {number(p.weight_kg, 1)} kg"),
            ("ECOG", L.ECOG[p.ecog]),
            ("Fit for intensive chemotherapy", _yes_no(workup.fit_for_intensive_chemo)),
            ("Active infection", _yes_no(workup.active_infection)),
            ("Infection uncontrolled", _yes_no(workup.infection_uncontrolled)),
            ("Goals of care", L.GOALS_OF_CARE[workup.goals_of_care]),
        ]),
        WorkupSection("Organ function", [
            ("Creatinine", _lab(p.creatinine)),
            ("Bilirubin", _lab(p.bilirubin)),
            ("Child-Pugh", L.CHILD_PUGH[p.child_pugh] if p.child_pugh else L.NOT_ENTERED),
            ("CrCl body weight", L.CRCL_WEIGHT[c.crcl_weight]),
        ]),
        WorkupSection("Heart", [
            ("LVEF", _measured(p.lvef_pct, "%", absent=L.NOT_ENTERED)),
            ("QTcF", _measured(p.qtcf_ms, " ms", absent=L.NOT_ENTERED)),
            ("Prior anthracyclines", _anthracyclines(prior.anthracyclines_mg_m2)),
        ]),
        WorkupSection("Disease", [
            ("Status", L.DISEASE_STATUS[d.status]),
            ("Relapse number", str(d.relapse_number) if d.relapse_number else "—"),
            ("CR1 duration", _measured(d.cr1_duration_months, " months", absent="—")),
            ("Prior allogeneic HCT",
             f"Yes, {number(d.months_since_hct, 1)} months ago" if d.prior_allo_hct else L.NO),
            ("Marrow blasts", _measured(d.marrow_blasts_pct, "%")),
            ("Circulating blasts", _yes_no(d.circulating_blasts)),
            ("Extramedullary", _yes_no(d.extramedullary)),
            ("WBC", _measured(d.wbc_10e9_per_l, " ×10⁹/L")),
            ("Needs urgent cytoreduction", _yes_no(d.needs_urgent_cytoreduction)),
            ("Intensive induction cycles",
             str(d.intensive_induction_cycles) if d.intensive_induction_cycles is not None else L.NOT_RECORDED),
        ]),
        WorkupSection("Genetics", [
            ("Re-tested at relapse", _yes_no(g.retested_at_relapse)),
            ("Detected", _or_none([name for key, name in lesions.items() if getattr(g, key)])),
            ("Not detected",
             _or_none([name for key, name in lesions.items() if not getattr(g, key) and key not in pending])),
            ("Result awaited", _or_none([L.GENE[key] for key in L.GENE if key in pending])),
            ("CD33 positive", L.AWAITED if "cd33_positive" in pending else _yes_no(g.cd33_positive)),
            ("ELN 2022 risk", L.ELN_RISK[g.eln2022_risk] if g.eln2022_risk else L.NOT_RECORDED),
            ("Cytogenetics at diagnosis",
             L.CYTOGENETICS[g.diagnosis_cytogenetics] if g.diagnosis_cytogenetics else L.NOT_RECORDED),
            ("Other mutations", _or_none(list(g.other_mutations))),
        ]),
        WorkupSection("Prior therapy", [
            ("Received", _or_none([name for key, name in L.PRIOR_THERAPY.items() if getattr(prior, key)])),
            ("Not received", _or_none([name for key, name in L.PRIOR_THERAPY.items()
                                       if not getattr(prior, key) and key != "venetoclax_failure"])),
        ]),
        WorkupSection("Transplant", [
            ("HCT candidate", _yes_no(t.candidate, L.HCT_CANDIDATE_UNKNOWN)),
            ("Donor available", _yes_no(t.donor_available, L.DONOR_UNKNOWN)),
        ]),
        WorkupSection("Context", [
            ("Jurisdiction", L.JURISDICTION[c.jurisdiction]),
            ("Clinical trial available", _yes_no(c.clinical_trial_available)),
            ("CYP3A4/P-gp inhibitor", L.CYP3A4_INHIBITOR[c.cyp3a4_inhibitor]),
            ("BSA formula", L.BSA_FORMULA[c.bsa_formula]),
        ]),
    ]
