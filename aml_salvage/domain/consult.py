"""Workup → consult result: assessment, rules, doses, evidence, warnings and references in one object.

The one producer of the result that the page, the PDF, the JSON and the command line all show.
"""

from __future__ import annotations

from .assessment import assessment_compute
from .dosing import DoseCalculator, DosingConfig, dosing_basis
from .knowledge import OPTION_IDS, KnowledgeBase, Regimen
from .result import (
    TIERS,
    AvailabilityOut,
    ConsultResult,
    EvidenceOut,
    OptionResult,
    ReferenceOut,
    SecondaryFigureOut,
    WarningOut,
)
from .rules import selection_run
from .workup import Workup

DISCLAIMER = (
    "AML Salvage supports and does not replace clinical judgement. Every recommendation shows the rule "
    "that produced it and its sources: check them, the current drug labels and institutional protocols "
    "before prescribing. Doses must be verified by a second clinician and a pharmacist."
)
_TIER_ORDER = {t: i for i, t in enumerate(TIERS)}
_OPTION_ORDER = {o: i for i, o in enumerate(OPTION_IDS)}


class _Static:
    """Per-knowledge-base parts of every option, built once (evidence, availability, warnings)."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.evidence = {rid: [self._evidence(e) for e in reg.evidence] for rid, reg in kb.regimens.items()}
        self.availability = {
            (rid, jur): AvailabilityOut.model_construct(
                jurisdiction=jur, status=av.status, sources=list(av.source), as_of=av.as_of.isoformat(),
                note=av.note,
            )
            for rid, reg in kb.regimens.items()
            for jur, av in reg.availability.items()
        }
        self.warnings = {wid: self._warning(w) for wid, w in kb.warnings.items()}
        self.option_sources = {rid: self._static_sources(reg) for rid, reg in kb.regimens.items()}
        self.drug_flags = {rid: self._drug_flags(reg) for rid, reg in kb.regimens.items()}

    @staticmethod
    def _evidence(e) -> EvidenceOut:
        return EvidenceOut.model_construct(
            id=e.id, study=e.study, reference=e.reference, reported_in=list(e.reported_in), design=e.design,
            population=e.population, setting=e.setting, n=e.n, metric=e.metric,
            metric_definition=e.metric_definition, value_pct=e.value_pct, numerator=e.numerator,
            denominator=e.denominator, comparator=e.comparator, median_os_months=e.median_os_months,
            median_os_detail=e.median_os_detail,
            secondary=[SecondaryFigureOut.model_construct(label=s.label, value=s.value, source=s.source)
                       for s in e.secondary],
            notes=list(e.notes), uncertain=e.uncertain,
        )

    def _warning(self, w) -> WarningOut:
        shorts = "; ".join(self.kb.references[s].short for s in w.source)
        return WarningOut.model_construct(id=w.id, text=f"{w.text} [{shorts}]", severity=w.severity,
                                          sources=list(w.source))

    @staticmethod
    def _static_sources(reg: Regimen) -> list[str]:
        ids: list[str] = []
        for sched in reg.schedules:
            ids.extend(sched.source)
        ids.extend(e.reference for e in reg.evidence)
        ids.extend(reg.references)
        return ids

    @staticmethod
    def _drug_flags(reg: Regimen) -> dict[str, bool]:
        steps = [s for sched in reg.schedules for s in sched.steps]
        return {
            "fludarabine": any(s.drug == "fludarabine" for s in steps),
            "high_cytarabine": any(
                s.drug == "cytarabine" and s.unit == "mg/m2" and s.dose is not None and s.dose >= 1000
                for s in steps
            ),
        }


_STATIC: dict[int, tuple[KnowledgeBase, _Static]] = {}


def _static_for(kb: KnowledgeBase) -> _Static:
    """Built once per loaded knowledge base (the KB object is kept alive so its id is not reused)."""
    entry = _STATIC.get(id(kb))
    if entry is None or entry[0] is not kb:
        if len(_STATIC) > 4:
            _STATIC.clear()
        entry = _STATIC[id(kb)] = (kb, _Static(kb))
    return entry[1]


def _conditional_warnings(reg: Regimen, flags, workup: Workup, assessment, kb: KnowledgeBase) -> list[str]:
    params = kb.parameters
    ids: list[str] = []
    crcl = assessment.crcl_ml_min
    if crcl is None and (flags["fludarabine"] or flags["high_cytarabine"]):
        ids.append("renal-not-assessed")
    if flags["fludarabine"] and crcl is not None:
        if crcl < 30:
            ids.append("fludarabine-renal-avoid")
        elif crcl < 70:
            ids.append("fludarabine-renal-reduced")
    if flags["high_cytarabine"]:
        creat = workup.patient.creatinine
        if creat is not None and creat.mg_dl >= params.cytarabine_renal_creatinine_mg_dl:
            ids.append("cytarabine-cerebellar-renal")
    wbc = workup.disease.wbc_10e9_per_l
    inhibitor = workup.context.cyp3a4_inhibitor
    if reg.contains_venetoclax:
        if wbc is not None and wbc >= params.venetoclax_wbc_max:
            ids.append("venetoclax-wbc")
        if inhibitor != "none":
            ids.append("venetoclax-cyp3a4")
    if reg.id == "gemtuzumab":
        if wbc is not None and wbc >= params.gemtuzumab_wbc_cytoreduce:
            ids.append("gemtuzumab-wbc")
        if workup.transplant.candidate and not workup.disease.prior_allo_hct:
            ids.append("hct-after-go")
    if reg.id in ("gilteritinib", "gilteritinib-ven-aza") and inhibitor in params.strong_cyp3a4_inhibitors:
        ids.append("gilteritinib-strong-cyp3a4")
    return ids


def consult_build(*, workup: Workup, kb: KnowledgeBase, config: DosingConfig = DosingConfig()) -> ConsultResult:
    static = _static_for(kb)
    assessment = assessment_compute(workup=workup, kb=kb, bsa_cap_m2=config.bsa_cap_m2)
    selection = selection_run(workup=workup, assessment=assessment, kb=kb)
    dosing = DoseCalculator(kb=kb, workup=workup, assessment=assessment, config=config)
    basis = dosing_basis(workup=workup, assessment=assessment)
    jurisdiction = workup.context.jurisdiction

    drafts = sorted(
        selection.d.values(), key=lambda d: (_TIER_ORDER[d.tier], d.priority, _OPTION_ORDER[d.id])
    )
    options = []
    cited: dict[str, None] = {}
    for source in (assessment.epi.sources if assessment.epi else []):
        cited.setdefault(source, None)
    for rank, draft in enumerate(drafts, start=1):
        reg = kb.regimens[draft.id]
        warning_ids = list(dict.fromkeys(reg.warnings + _conditional_warnings(
            reg, static.drug_flags[reg.id], workup, assessment, kb)))
        warnings = [static.warnings[w] for w in warning_ids]
        doses = dosing.regimen(reg) if reg.schedules else []
        availability = static.availability[(reg.id, jurisdiction)]
        sources: dict[str, None] = {}
        for r in draft.reasons:
            for s in r.sources:
                sources.setdefault(s, None)
        for s in static.option_sources[reg.id]:
            sources.setdefault(s, None)
        for s in availability.sources:
            sources.setdefault(s, None)
        for w in warnings:
            for s in w.sources:
                sources.setdefault(s, None)
        cited.update(sources)
        options.append(OptionResult.model_construct(
            id=reg.id, name=reg.name, kind=reg.kind, summary=reg.summary, tier=draft.tier, rank=rank,
            availability=availability.status, availability_detail=availability, targets=list(reg.targets),
            provisional=draft.provisional,
            reasons=[f"{r.rule_id}: {r.text} [{r.attribution}]" for r in draft.reasons],
            rules=draft.reasons, views=draft.views, sources=list(sources),
            evidence=static.evidence[reg.id], evidence_note=reg.evidence_note,
            doses=doses, dosing_note=reg.dosing_note, dosing_basis=basis if doses else None,
            duration_notes=list(reg.duration_notes),
            warnings=[w.text for w in warnings], warning_details=warnings,
        ))
    for act in selection.actions:
        for s in act.sources:
            cited.setdefault(s, None)
    references = []
    for number, ref_id in enumerate(cited, start=1):
        ref = kb.references[ref_id]
        references.append(ReferenceOut.model_construct(
            id=ref.id, number=number, short=ref.short, citation=ref.citation, doi=ref.doi, pmid=ref.pmid,
            url=ref.url,
        ))
    return ConsultResult.model_construct(
        kb_version=kb.version, assessment=assessment, options=options, actions=selection.actions,
        references=references, disclaimer=DISCLAIMER,
    )
