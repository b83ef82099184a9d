"""Workup → consult result: assessment, rules, doses, evidence, warnings and references in one object.

The one producer of the result that the page, the PDF, the JSON and the command line all show.
"""

from __future__ import annotations

import re
from operator import attrgetter

from .assessment import assessment_compute
from .dosing import DoseCalculator, DosingConfig, dosing_basis, fludarabine_band, renal_dose_band
from .knowledge import KnowledgeBase, Parameters, Regimen
from .memo import IdentityMemo
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
from .rules import reason_display, selection_run
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


class _Static:
    """Per-knowledge-base parts of every option, built once (evidence, availability, warnings)."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.evidence = {rid: [self._evidence(e) for e in reg.evidence] for rid, reg in kb.regimens.items()}
        self.availability = {
            (rid, jur): AvailabilityOut.build(
                jurisdiction=jur, status=av.status, sources=list(av.source), as_of=av.as_of.isoformat(),
                note=av.note,
            )
            for rid, reg in kb.regimens.items()
            for jur, av in reg.availability.items()
        }
        self.warnings = {wid: self._warning(w) for wid, w in kb.warnings.items()}
        # Sources every option cites whatever the workup: schedules, evidence, references,
        # availability in the jurisdiction and static warnings (reason sources are added per result).
        self.option_sources = {
            (rid, jur): list(dict.fromkeys(
                self._static_sources(reg) + list(reg.availability[jur].source)
                + [s for w in reg.warnings for s in kb.warnings[w].source]
            ))
            for rid, reg in kb.regimens.items() for jur in reg.availability
        }
        self._numbered: dict[tuple[str, int], ReferenceOut] = {}
        self.references = {
            rid: (ref.short, ref.citation, ref.doi, ref.pmid, ref.url) for rid, ref in kb.references.items()
        }
        self.drug_flags = {rid: self._drug_flags(reg, kb.parameters) for rid, reg in kb.regimens.items()}

    def reference(self, ref_id: str, number: int) -> ReferenceOut:
        """Numbered reference; the (id, number) pairs recur across results, so they are cached."""
        key = (ref_id, number)
        found = self._numbered.get(key)
        if found is None:
            short, citation, doi, pmid, url = self.references[ref_id]
            found = self._numbered[key] = ReferenceOut.build(
                id=ref_id, number=number, short=short, citation=citation, doi=doi, pmid=pmid, url=url)
        return found

    @staticmethod
    def _evidence(e) -> EvidenceOut:
        return EvidenceOut.build(
            id=e.id, study=e.study, reference=e.reference, reported_in=list(e.reported_in), design=e.design,
            population=e.population, setting=e.setting, n=e.n, metric=e.metric,
            metric_definition=e.metric_definition, value_pct=e.value_pct, numerator=e.numerator,
            denominator=e.denominator, comparator=e.comparator, median_os_months=e.median_os_months,
            median_os_detail=e.median_os_detail,
            secondary=[SecondaryFigureOut.build(label=s.label, value=s.value, source=s.source)
                       for s in e.secondary],
            notes=list(e.notes), uncertain=e.uncertain,
        )

    def _warning(self, w, values: dict[str, str] | None = None) -> WarningOut:
        shorts = "; ".join(self.kb.references[s].short for s in w.source)
        text = w.text.format_map(values) if values else w.text
        return WarningOut.build(id=w.id, text=f"{text} [{shorts}]", severity=w.severity, sources=list(w.source))

    def filled_warning(self, warning_id: str, values: dict[str, str]) -> WarningOut:
        """A conditional warning; its {placeholders}, if any, filled with the patient's values."""
        if not values:
            return self.warnings[warning_id]
        return self._warning(self.kb.warnings[warning_id], values)

    @staticmethod
    def _static_sources(reg: Regimen) -> list[str]:
        ids: list[str] = []
        for sched in reg.schedules:
            ids.extend(sched.source)
        ids.extend(e.reference for e in reg.evidence)
        ids.extend(reg.references)
        return ids

    @staticmethod
    def _drug_flags(reg: Regimen, params: Parameters) -> dict:
        """What the conditional warnings need to know of a regimen.

        A regimen without a schedule in our sources (CLAG-M, GCLAC) still carries the knowledge base's static
        cerebellar or cumulative-anthracycline warning: that warning is the knowledge base's statement that
        the regimen contains cytarabine ≥1 g/m² or an anthracycline, so it counts here too.
        """
        steps = [s for sched in reg.schedules for s in sched.steps]
        equivalence = params.conditional_warnings.doxorubicin_equivalence
        qtc = [row for row in params.conditional_warnings.qtc if reg.id in row.regimens]
        return {
            "fludarabine": any(s.drug == "fludarabine" for s in steps),
            "high_cytarabine": "cytarabine-cerebellar" in reg.warnings or any(
                s.drug == "cytarabine" and s.unit == "mg/m2" and s.dose is not None
                and s.dose >= params.cytarabine_high_dose_mg_m2
                for s in steps
            ),
            "anthracycline": "anthracycline-cumulative" in reg.warnings or any(s.drug in equivalence for s in steps),
            "cytoreductive": reg.kind in _CYTOREDUCTIVE_KINDS,
            "qtc": qtc[0] if qtc else None,
            # mg/m² of each anthracycline in one course of the first (standard) schedule; None: not computable
            "anthracycline_course": _anthracycline_course(reg, equivalence),
        }


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


_STATIC = IdentityMemo()


def _static_for(kb: KnowledgeBase) -> _Static:
    """Built once per loaded knowledge base."""
    return _STATIC.get(kb, lambda: _Static(kb))


def _number(value: float) -> str:
    return f"{value:g}"


def _conditional_warnings(reg: Regimen, flags, workup: Workup, assessment,
                          kb: KnowledgeBase) -> list[tuple[str, dict[str, str]]]:
    """The workup-dependent warnings of one option: (warning id, values for the text's placeholders)."""
    params = kb.parameters
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
        _crcl_weight_warning(warn, reg, assessment, params, workup.context.jurisdiction)
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


def _crcl_weight_warning(warn, reg: Regimen, assessment, params: Parameters, jurisdiction: str) -> None:
    """When the body weight chosen automatically for Cockcroft–Gault decides a renal dose band, say so: the
    labels do not say which weight their CrCl bands assume [Winter 2012]."""
    used = assessment.crcl_ml_min
    drugs = sorted({s.drug for sched in reg.schedules for s in sched.steps})
    changed = [drug for drug in drugs
               if any(renal_dose_band(params, drug, used, jurisdiction)
                      != renal_dose_band(params, drug, value, jurisdiction)
                      for value in assessment.crcl_by_weight.values())]
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
_MAX_CACHED = 8192


class _Entry:
    """One option's parts that depend neither on the patient's doses nor on its rank."""

    __slots__ = ("values", "sources", "ranked", "regimen", "dosed")

    def __init__(self, values: dict, sources: dict[str, None], regimen: Regimen, dosed: bool):
        self.values = values  # OptionResult fields, rank and dose fields to be filled in
        self.sources = sources  # reference ids the option cites, in order (a dict used as an ordered set)
        self.ranked: dict[int, OptionResult] = {}  # the whole option by rank, when it has no doses
        self.regimen = regimen
        # Patient doses only for options the clinician may use; a not-recommended option gets no
        # patient dose table (its reasons say why; the regimen library lists the regimen's doses).
        self.dosed = dosed


class _Assembly:
    """The result's assembly, cached per knowledge base.

    An option's entry is keyed by regimen, jurisdiction, tier, provisional flag, its reasons and views
    (the rules' cached, immutable Reason/View objects, by identity: each entry holds them, so an id is
    not reused while its entry lives) and its conditional warnings with the values their texts show
    (QTcF, WBC, anthracycline totals: two patients who differ there never share an entry). Rule outcomes
    recur across workups, so distinct keys are few and most options are a lookup; an option without doses
    (not recommended, strategies, supportive care) is then one shared object per rank. The numbered reference list is
    kept by the entries it numbers (and the EPI's and actions' sources), which it holds. Shared objects
    are never mutated, like the knowledge base's own records.
    """

    def __init__(self, static: _Static):
        self.static = static
        self.entries: dict[tuple, _Entry] = {}  # across jurisdictions (the key names the jurisdiction)
        self.references: dict[tuple, tuple[list[ReferenceOut], list[_Entry]]] = {}

    def entry(self, key: tuple, reg: Regimen, jurisdiction: str, draft, conditional: tuple) -> _Entry:
        if len(self.entries) >= _MAX_CACHED:
            self.entries.clear()
        static = self.static
        warnings = [static.warnings[w] for w in reg.warnings]
        shown = set(reg.warnings)
        for warning_id, values in conditional:
            if warning_id not in shown:
                shown.add(warning_id)
                warnings.append(static.filled_warning(warning_id, dict(values)))
        availability = static.availability[(reg.id, jurisdiction)]
        sources = dict.fromkeys(s for r in draft.reasons for s in r.sources)
        sources.update(dict.fromkeys(static.option_sources[(reg.id, jurisdiction)]))
        for warning_id, _ in conditional:
            sources.update(dict.fromkeys(static.warnings[warning_id].sources))
        values = dict(
            id=reg.id, name=reg.name, kind=reg.kind, summary=reg.summary, tier=draft.tier, rank=0,
            availability=availability.status, availability_detail=availability, targets=reg.targets,
            provisional=draft.provisional,
            reasons=[reason_display(r) for r in draft.reasons],
            rules=list(draft.reasons), views=list(draft.views), sources=list(sources),
            evidence=static.evidence[reg.id], evidence_note=reg.evidence_note,
            doses=[], dosing_note=reg.dosing_note, dosing_basis=None,
            duration_notes=reg.duration_notes,
            warnings=[w.text for w in warnings], warning_details=warnings,
        )
        dosed = bool(reg.schedules) and draft.tier != "not_recommended"
        found = self.entries[key] = _Entry(values, sources, reg, dosed)
        return found

    def reference_list(self, epi_sources: list[str], used: list[_Entry], actions) -> list[ReferenceOut]:
        """Every reference the result cites — the EPI's, each option's in rank order, the actions' — numbered
        in order of first citation."""
        key = (tuple(epi_sources), tuple(map(id, used)), tuple(s for act in actions for s in act.sources))
        found = self.references.get(key)
        if found is None:
            if len(self.references) >= _MAX_CACHED:
                self.references.clear()
            cited = dict.fromkeys(epi_sources)
            for entry in used:
                cited.update(entry.sources)
            for act in actions:
                cited.update(dict.fromkeys(act.sources))
            reference = self.static.reference
            # The entries are kept with the list: the key names them by identity.
            found = self.references[key] = (
                [reference(ref_id, number) for number, ref_id in enumerate(cited, start=1)], list(used))
        return list(found[0])


_ASSEMBLY = IdentityMemo()


def _assembly_for(static: _Static) -> _Assembly:
    return _ASSEMBLY.get(static, lambda: _Assembly(static))


_priority = attrgetter("priority")


def _ranked(drafts) -> list:
    """Options by tier, then priority, then the order of OPTION_IDS — which is the drafts' own order, kept by
    the stable sort within each tier."""
    by_tier: dict[str, list] = {t: [] for t in TIERS}
    for draft in drafts:
        by_tier[draft.tier].append(draft)
    ranked = []
    for tier in TIERS:
        if by_tier[tier]:
            ranked.extend(sorted(by_tier[tier], key=_priority))
    return ranked


def consult_build(*, workup: Workup, kb: KnowledgeBase, config: DosingConfig = _DEFAULT_CONFIG) -> ConsultResult:
    static = _static_for(kb)
    assembly = _assembly_for(static)
    assessment = assessment_compute(workup=workup, kb=kb, bsa_cap_m2=config.bsa_cap_m2)
    selection = selection_run(workup=workup, assessment=assessment, kb=kb)
    dosing = DoseCalculator(kb=kb, workup=workup, assessment=assessment, config=config)
    basis = None
    jurisdiction = workup.context.jurisdiction
    regimens = kb.regimens
    entries = assembly.entries
    build_option = OptionResult.from_values

    options = []
    used: list[_Entry] = []
    for rank, draft in enumerate(_ranked(selection.d.values()), start=1):
        rid = draft.id
        # Every option's workup-dependent warnings, with the values their texts show (hashable: part of the key).
        conditional = tuple(
            (warning_id, tuple(values.items()))
            for warning_id, values in _conditional_warnings(regimens[rid], static.drug_flags[rid], workup,
                                                            assessment, kb)
        )
        key = (rid, jurisdiction, draft.tier, draft.provisional, draft.reason_ids,
               tuple(map(id, draft.views)) if draft.views else (), conditional)
        entry = entries.get(key)
        if entry is None:
            entry = assembly.entry(key, regimens[rid], jurisdiction, draft, conditional)
        used.append(entry)
        doses = dosing.regimen(entry.regimen) if entry.dosed else None
        if doses:
            if basis is None:
                basis = dosing_basis(workup=workup, assessment=assessment)
            values = entry.values.copy()
            values["rank"] = rank
            values["doses"] = doses
            values["dosing_basis"] = basis
            options.append(build_option(values))
            continue
        option = entry.ranked.get(rank)
        if option is None:
            values = entry.values.copy()
            values["rank"] = rank
            if entry.regimen.schedules:
                values["dosing_note"] = NOT_DOSED_NOTE
            option = entry.ranked[rank] = build_option(values)
        options.append(option)
    actions = selection.actions
    references = assembly.reference_list(assessment.epi.sources if assessment.epi else [], used, actions)
    return ConsultResult.build(
        kb_version=kb.version, assessment=assessment, options=options, actions=actions,
        references=references, disclaimer=DISCLAIMER,
    )
