"""Workup → consult result: assessment, rules, doses, evidence, warnings and references in one object.

The one producer of the result that the page, the PDF, the JSON and the command line all show.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .assessment import assessment_compute
from .dosing import DoseCalculator, DosingConfig, dosing_basis, fludarabine_band, renal_dose_band
from .knowledge import KnowledgeBase, Parameters, Regimen, WarningRecord
from .regimen_facts import has_anthracycline, has_high_dose_cytarabine, regimen_drugs
from .result import (
    TIERS,
    Assessment,
    AvailabilityOut,
    ConsultResult,
    DosingBasis,
    EvidenceOut,
    OptionResult,
    ReferenceOut,
    WarningOut,
)
from .rules import NOT_RECOMMENDED, Draft, reason_display, selection_run
from .workup import Workup

DISCLAIMER = (
    "AML Salvage supports and does not replace clinical judgement. Every recommendation shows the rule "
    "that produced it and its sources: check them, the current drug labels and institutional protocols "
    "before prescribing. Doses must be verified by a second clinician and a pharmacist."
)
NOT_DOSED_NOTE = (
    "Not dosed for this patient: not recommended for this workup (see the reasons). The regimen's "
    "doses are in the regimen library."
)


# Option kinds that treat the leukaemia and so lower the blast count: tumour lysis follows any effective
# cytoreduction [Cairo 2010], and leukostasis is a risk until the WBC falls. Strategies (transplant, trial,
# DLI) and supportive care are not treatments given now.
_CYTOREDUCTIVE_KINDS = ("intensive", "low-intensity", "targeted", "cytoreduction", "investigational")
_DAY_RANGE = re.compile(r"D(\d+)(?:-(\d+))?")
_DOSES_PER_DAY = {"once daily": 1, "single dose": 1, "twice daily": 2}


def _course_days(days: str) -> int | None:
    """Number of dosing days in 'D1-6', 'D4-5', 'D1, D4, D7'; None when the text is not a list of days."""
    ranges = _DAY_RANGE.findall(days)
    if not ranges or _DAY_RANGE.sub("", days).strip(" ,") != "":
        return None
    return sum(int(last or first) - int(first) + 1 for first, last in ranges)


def _anthracycline_course(reg: Regimen, equivalence: dict) -> dict[str, float] | None:
    """mg/m² of each anthracycline or anthracenedione in one course of the regimen's first schedule."""
    if not reg.schedules:
        return None
    course: dict[str, float] = {}
    for step in reg.schedules[0].steps:
        if step.drug not in equivalence:
            continue
        days = _course_days(step.days)
        per_day = _DOSES_PER_DAY.get(step.frequency)
        if step.unit != "mg/m2" or step.dose is None or days is None or per_day is None:
            return None
        course[step.drug] = course.get(step.drug, 0) + step.dose * days * per_day
    return course


def _drug_flags(reg: Regimen, params: Parameters) -> dict:
    """What the conditional warnings need to know of a regimen (regimen_facts.py: the same facts the rules read)."""
    equivalence = params.conditional_warnings.doxorubicin_equivalence
    qtc = [row for row in params.conditional_warnings.qtc if reg.id in row.regimens]
    course = _anthracycline_course(reg, equivalence)
    return MappingProxyType({
        "fludarabine": "fludarabine" in regimen_drugs(reg),
        "high_cytarabine": has_high_dose_cytarabine(reg, params),
        "anthracycline": has_anthracycline(reg, params),
        "cytoreductive": reg.kind in _CYTOREDUCTIVE_KINDS,
        "qtc": qtc[0] if qtc else None,
        # mg/m² of each anthracycline in one course of the first (standard) schedule; None: not computable
        "anthracycline_course": MappingProxyType(course) if course is not None else None,
    })


def _number(value: float) -> str:
    return f"{value:g}"


def _conditional_warnings(reg: Regimen, facts: RegimenFacts, workup: Workup, assessment,
                          kb: KnowledgeBase) -> list[tuple[str, dict[str, str]]]:
    """The workup-dependent warnings of one option: (warning id, values for the text's placeholders)."""
    params = kb.parameters
    flags = facts.flags
    cw = params.conditional_warnings
    patient = workup.patient
    found: list[tuple[str, dict[str, str]]] = []

    def warn(warning_id: str, **values) -> None:
        found.append((warning_id, {k: v if isinstance(v, str) else _number(v) for k, v in values.items()}))

    crcl = assessment.crcl_ml_min
    creat = patient.creatinine
    if crcl is None and (flags["fludarabine"] or flags["high_cytarabine"]):
        warn("renal-not-assessed")
    if flags["fludarabine"] and crcl is not None:
        factor = fludarabine_band(params, crcl).factor
        if factor == 0:
            warn("fludarabine-renal-avoid")
        elif factor < 1:
            warn("fludarabine-renal-reduced")
    if crcl is not None and workup.context.crcl_weight == "auto":
        _crcl_weight_warning(warn, facts.renal_banded_drugs, assessment, params, workup.context.jurisdiction)
    if flags["high_cytarabine"]:
        # Rubin 1992 gives the renal risk factor as creatinine; the clearance cut-off (KDIGO) catches a low
        # clearance behind a 'normal' creatinine. Either one warns.
        by_creatinine = creat is not None and creat.mg_dl >= params.cytarabine_renal_creatinine_mg_dl
        by_clearance = crcl is not None and crcl < cw.cytarabine_cerebellar_crcl_ml_min
        if by_creatinine or by_clearance:
            warn("cytarabine-cerebellar-renal")
            warn("cytarabine-cerebellar-crcl", crcl=crcl, creatinine=f"{creat.mg_dl:.2f}",
                 creatinine_limit=params.cytarabine_renal_creatinine_mg_dl,
                 crcl_limit=cw.cytarabine_cerebellar_crcl_ml_min)
        if patient.age_years >= cw.cytarabine_cerebellar_age_years:
            warn("cytarabine-cerebellar-age", age=patient.age_years, age_limit=cw.cytarabine_cerebellar_age_years)

    disease = workup.disease
    wbc = disease.wbc_10e9_per_l
    inhibitor = workup.context.cyp3a4_inhibitor
    if flags["cytoreductive"]:
        _tumour_lysis_warnings(warn, wbc, disease.needs_urgent_cytoreduction, cw)
    if reg.contains_venetoclax:
        if wbc is not None and wbc >= params.venetoclax_wbc_max:
            warn("venetoclax-wbc")
        if inhibitor != "none":
            warn("venetoclax-cyp3a4")
        if crcl is not None and crcl < cw.venetoclax_crcl_no_data_ml_min:
            warn("venetoclax-crcl-no-data", crcl=crcl, crcl_limit=cw.venetoclax_crcl_no_data_ml_min)
    if reg.id == "gemtuzumab":
        if wbc is not None and wbc >= params.gemtuzumab_wbc_cytoreduce:
            warn("gemtuzumab-wbc")
        if workup.transplant.candidate and not disease.prior_allo_hct:
            warn("hct-after-go")
    if reg.id in ("gilteritinib", "gilteritinib-ven-aza") and inhibitor in params.strong_cyp3a4_inhibitors:
        warn("gilteritinib-strong-cyp3a4")

    qtc_row = flags["qtc"]
    if qtc_row is not None:
        qtcf = patient.qtcf_ms
        if qtcf is None:
            warn("qtc-not-entered")
        elif qtc_row.threshold_ms is None:
            warn(qtc_row.warning, qtcf=qtcf)  # no label threshold in our sources: says so, compares nothing
        elif qtcf > qtc_row.threshold_ms:
            warn(qtc_row.warning, qtcf=qtcf, threshold=qtc_row.threshold_ms)
        if inhibitor in cw.qt_prolonging_inhibitors:
            warn("qtc-azole-combination")

    if flags["anthracycline"]:
        _heart_warnings(warn, flags["anthracycline_course"], workup, cw)
    return found


def _renal_banded_drugs(reg: Regimen, params: Parameters) -> tuple[str, ...]:
    """The regimen's drugs whose dose a CrCl band reduces or withholds (fludarabine's bands, organ_dose_rules)."""
    banded = {"fludarabine"} | {r.drug for r in params.organ_dose_rules
                                if r.measure == "crcl" and r.action in ("reduce", "withhold")}
    return tuple(sorted(regimen_drugs(reg) & banded))


def _crcl_weight_warning(warn, drugs: tuple[str, ...], assessment, params: Parameters, jurisdiction: str) -> None:
    """When the body weight chosen automatically for Cockcroft–Gault decides a renal dose band, say so: the
    labels do not say which weight their CrCl bands assume [Winter 2012]."""
    used = assessment.crcl_ml_min
    if len(set(assessment.crcl_by_weight.values())) < 2:
        return  # every body weight gives the same clearance
    clearances = [used, *assessment.crcl_by_weight.values()]
    changed = [drug for drug in drugs
               if len({renal_dose_band(params, drug, crcl, jurisdiction) for crcl in clearances}) > 1]
    if changed:
        others = ", ".join(f"{basis} weight {value:.0f} mL/min" for basis, value in assessment.crcl_by_weight.items()
                           if basis != assessment.crcl_weight.basis)
        warn("crcl-weight-changes-dose", drugs=" and ".join(changed), crcl=f"{used:.0f}",
             basis=assessment.crcl_weight.basis, others=others)


def _tumour_lysis_warnings(warn, wbc: float | None, urgent: bool, cw) -> None:
    """Tumour lysis by the AML risk class of Cairo 2010, or by the clinician's urgent-cytoreduction flag;
    leukostasis at hyperleukocytosis [Röllig 2015]."""
    limits = {"tls": cw.tls_intermediate_wbc_10e9_per_l, "hyper": cw.hyperleukocytosis_wbc_10e9_per_l}
    if wbc is not None and wbc >= cw.hyperleukocytosis_wbc_10e9_per_l:
        warn("tls-high-risk", wbc=wbc, **limits)
        warn("leukostasis", wbc=wbc, **limits)
    elif wbc is not None and wbc >= cw.tls_intermediate_wbc_10e9_per_l:
        warn("tls-intermediate-risk", wbc=wbc, **limits)
    elif urgent:
        warn("tls-urgent-cytoreduction")


def _heart_warnings(warn, course: dict[str, float] | None, workup: Workup, cw) -> None:
    """LVEF not entered, and cumulative anthracycline in doxorubicin equivalents [Feijen 2019] against the
    doxorubicin label's guidance. Idarubicin has no ratio: it is named, never converted."""
    if workup.patient.lvef_pct is None:
        warn("lvef-not-assessed")
    prior = workup.prior_therapy.anthracyclines_mg_m2
    if prior is None:
        warn("anthracycline-prior-not-entered")
        return
    ratios = cw.doxorubicin_equivalence
    prior_dox = sum(getattr(prior, agent) * ratio for agent, ratio in ratios.items() if ratio is not None)
    if prior.idarubicin > 0:
        warn("anthracycline-idarubicin-uncertain", idarubicin=prior.idarubicin)
    if course is None:
        planned, added = ["an amount not computed here (schedule per institutional protocol)"], 0.0
    else:
        planned, added = [], 0.0
        for agent, mg in course.items():
            ratio = ratios[agent]
            if ratio is None:
                planned.append(f"{agent} {_number(mg)} mg/m² (not converted: equivalence uncertain)")
            else:
                planned.append(f"{agent} {_number(mg)} mg/m² (≈{mg * ratio:.0f} mg/m² doxorubicin equivalents)")
                added += mg * ratio
    total = prior_dox + added
    if total > cw.anthracycline_doxorubicin_limit_risk_mg_m2:
        warn("anthracycline-cumulative-high", prior=f"{prior_dox:.0f}", planned=", ".join(planned),
             total=f"{total:.0f}", limit=cw.anthracycline_doxorubicin_limit_mg_m2,
             limit_risk=cw.anthracycline_doxorubicin_limit_risk_mg_m2,
             ratios=", ".join(f"{agent} {_number(r)}" for agent, r in ratios.items()
                              if r is not None and agent != "doxorubicin"))


_DEFAULT_CONFIG = DosingConfig()


def _ranked(drafts: list[Draft]) -> list[Draft]:
    """Options by tier, then priority, then the order of OPTION_IDS (the drafts' own order, which the stable
    sort keeps)."""
    return sorted(drafts, key=lambda draft: (TIERS.index(draft.tier), draft.priority))


def _warning(kb: KnowledgeBase, record: WarningRecord, values: dict[str, str] | None = None) -> WarningOut:
    """A warning with its references' short names; a conditional one's {placeholders} filled with the
    patient's values."""
    shorts = "; ".join(kb.references[s].short for s in record.source)
    text = record.text.format_map(values) if values else record.text
    return WarningOut(id=record.id, text=f"{text} [{shorts}]", severity=record.severity, sources=list(record.source))


# --- What an option shows of its regimen whatever the workup: one precompute per knowledge base ---------------
#
# Built once when the knowledge base is loaded (services pins it beside the knowledge base), of immutable data
# only: frozen models whose sequences are tuples (the evidence records, availability and static warnings as a
# result shows them), mapping proxies and tuples. Each result holds these same records in lists of its own, so
# a result can change its own lists without touching the precompute or the next result, and cannot change the
# shared records (tests/unit/test_engine_isolation.py).

@dataclass(frozen=True)
class RegimenFacts:
    flags: Mapping  # _drug_flags: what the conditional warnings need to know of the regimen
    renal_banded_drugs: tuple[str, ...]  # _crcl_weight_warning
    evidence: tuple[EvidenceOut, ...]  # the regimen's evidence records as the result shows them
    warnings: tuple[WarningOut, ...]  # its static warnings (regimen.warnings), texts with their references
    availability: Mapping[str, AvailabilityOut]  # by jurisdiction
    # By jurisdiction, every reference the option cites whatever the workup, in order of first citation after
    # its reasons': its schedules', evidence, references, availability and static warnings'.
    cited: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class KnowledgeFacts:
    kb: KnowledgeBase  # the knowledge base these facts were built from (consult_build checks it is the one used)
    regimens: Mapping[str, RegimenFacts]
    # By jurisdiction, what every option cites whatever the workup (RegimenFacts.cited), in the knowledge base's
    # regimen order: the start of every result's reference numbering (consult_build).
    cited: Mapping[str, tuple[str, ...]]
    # The same references numbered from 1, as every result in the jurisdiction lists them first (_references).
    numbered: Mapping[str, tuple[ReferenceOut, ...]]


def _regimen_facts(kb: KnowledgeBase, regimen: Regimen) -> RegimenFacts:
    warnings = tuple(_warning(kb, kb.warnings[w]) for w in regimen.warnings)
    availability = {
        jurisdiction: AvailabilityOut(jurisdiction=jurisdiction, status=av.status, sources=list(av.source),
                                      as_of=av.as_of.isoformat(), note=av.note)
        for jurisdiction, av in regimen.availability.items()
    }
    before_availability = [s for schedule in regimen.schedules for s in schedule.source]
    before_availability += [e.reference for e in regimen.evidence]
    before_availability += regimen.references
    after_availability = [s for w in regimen.warnings for s in kb.warnings[w].source]
    return RegimenFacts(
        flags=_drug_flags(regimen, kb.parameters),
        renal_banded_drugs=_renal_banded_drugs(regimen, kb.parameters),
        # The evidence records as the knowledge base holds them (the result's model has the same fields).
        evidence=tuple(EvidenceOut.model_validate(e, from_attributes=True) for e in regimen.evidence),
        warnings=warnings,
        availability=MappingProxyType(availability),
        cited=MappingProxyType({
            jurisdiction: tuple(dict.fromkeys([*before_availability, *av.source, *after_availability]))
            for jurisdiction, av in regimen.availability.items()
        }),
    )


def knowledge_facts(kb: KnowledgeBase) -> KnowledgeFacts:
    """The per-knowledge-base precompute of the engine (see above)."""
    regimens = {rid: _regimen_facts(kb, reg) for rid, reg in kb.regimens.items()}
    jurisdictions = dict.fromkeys(j for facts in regimens.values() for j in facts.cited)
    cited = {j: tuple(dict.fromkeys(s for facts in regimens.values() for s in facts.cited.get(j, ())))
             for j in jurisdictions}
    numbered = {j: tuple(_references(kb, list(ids))) for j, ids in cited.items()}
    return KnowledgeFacts(kb=kb, regimens=MappingProxyType(regimens), cited=MappingProxyType(cited),
                          numbered=MappingProxyType(numbered))


def _option(*, rank: int, draft: Draft, regimen: Regimen, facts: RegimenFacts, kb: KnowledgeBase, workup: Workup,
            assessment: Assessment, dosing: DoseCalculator, basis: DosingBasis) -> OptionResult:
    """One option as the result shows it: tier and reasons from the rules, the regimen's evidence and
    availability, its warnings (static and for this patient), the patient's doses and every source cited."""
    jurisdiction = workup.context.jurisdiction
    availability = facts.availability[jurisdiction]
    conditional = _conditional_warnings(regimen, facts, workup, assessment, kb)
    warnings = list(facts.warnings)
    shown = set(regimen.warnings)
    for warning_id, values in conditional:
        if warning_id not in shown:
            shown.add(warning_id)
            warnings.append(_warning(kb, kb.warnings[warning_id], values))

    # Every reference the option cites, in order of first citation: its reasons', then its schedules',
    # evidence, references, availability and warnings' (a dict used as an ordered set).
    sources = dict.fromkeys(s for reason in draft.reasons for s in reason.sources)
    sources.update(dict.fromkeys(facts.cited[jurisdiction]))
    for warning_id, _ in conditional:
        sources.update(dict.fromkeys(kb.warnings[warning_id].source))

    # Patient doses only for options the clinician may use; a not-recommended option gets no patient dose
    # table (its reasons say why; the regimen library lists the regimen's doses).
    doses = dosing.regimen(regimen) if regimen.schedules and draft.tier != NOT_RECOMMENDED else []
    if doses:
        dosing_note = regimen.dosing_note
    else:
        dosing_note = NOT_DOSED_NOTE if regimen.schedules else regimen.dosing_note
    return OptionResult(
        id=regimen.id, name=regimen.name, kind=regimen.kind, summary=regimen.summary, tier=draft.tier, rank=rank,
        availability=availability.status,
        availability_detail=availability,
        targets=regimen.targets, provisional=draft.provisional,
        reasons=[reason_display(reason) for reason in draft.reasons], rules=draft.reasons, views=draft.views,
        sources=list(sources), evidence_note=regimen.evidence_note,
        evidence=facts.evidence,
        doses=doses, dosing_note=dosing_note, dosing_basis=basis if doses else None,
        duration_notes=regimen.duration_notes,
        warnings=[w.text for w in warnings], warning_details=warnings,
    )


def _references(kb: KnowledgeBase, cited_in_order: list[str],
                numbered_first: tuple[ReferenceOut, ...] = ()) -> list[ReferenceOut]:
    """The references cited, numbered in the order given (consult_build: the knowledge base's fixed citations
    first, then the workup's). ``numbered_first``: the start of that order already numbered (KnowledgeFacts)."""
    numbered = list(numbered_first)
    ids = dict.fromkeys(cited_in_order)
    for ref in numbered_first:
        ids.pop(ref.id, None)
    for number, ref_id in enumerate(ids, start=len(numbered) + 1):
        ref = kb.references[ref_id]
        numbered.append(ReferenceOut(id=ref_id, number=number, short=ref.short, citation=ref.citation,
                                     doi=ref.doi, pmid=ref.pmid, url=ref.url))
    return numbered


def consult_build(*, workup: Workup, kb: KnowledgeBase, config: DosingConfig = _DEFAULT_CONFIG,
                  facts: KnowledgeFacts | None = None) -> ConsultResult:
    """The whole consult for one workup, built afresh each time: nothing is kept between results. ``facts``:
    knowledge_facts(kb), built once when the knowledge base was loaded (computed here when not given)."""
    if facts is None:
        facts = knowledge_facts(kb)
    elif facts.kb is not kb:
        raise ValueError("consult_build: the facts given were built from another knowledge base")
    assessment = assessment_compute(workup=workup, kb=kb, bsa_cap_m2=config.bsa_cap_m2)
    selection = selection_run(workup=workup, assessment=assessment, kb=kb)
    dosing = DoseCalculator(kb=kb, workup=workup, assessment=assessment, config=config)
    basis = dosing_basis(workup=workup, assessment=assessment)
    options = [
        _option(rank=rank, draft=draft, regimen=kb.regimens[draft.id], facts=facts.regimens[draft.id], kb=kb,
                workup=workup, assessment=assessment, dosing=dosing, basis=basis)
        for rank, draft in enumerate(_ranked(list(selection.drafts.values())), start=1)
    ]
    actions = selection.actions
    # The numbering: first what the options cite whatever the workup, in the knowledge base's regimen order
    # (the same for every workup in a jurisdiction), then what this workup adds — the EPI's sources, each
    # option's reasons' and patient-specific warnings' in rank order, the actions'. So a reference keeps its
    # number from one keystroke to the next, and the page, the live panel and the PDF share it.
    jurisdiction = workup.context.jurisdiction
    cited = list(facts.cited.get(jurisdiction, ()))
    cited += assessment.epi.sources if assessment.epi else []
    for option in options:
        cited.extend(option.sources)
    for action in actions:
        cited.extend(action.sources)
    return ConsultResult(
        kb_version=kb.version, assessment=assessment, options=options, actions=actions,
        references=_references(kb, cited, facts.numbered.get(jurisdiction, ())), disclaimer=DISCLAIMER,
    )
