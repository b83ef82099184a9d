"""Workup → consult result: assessment, rules, doses, evidence, warnings and references in one object.

The one producer of the result that the page, the PDF, the JSON and the command line all show.
"""

from __future__ import annotations

from operator import attrgetter

from .assessment import assessment_compute
from .dosing import DoseCalculator, DosingConfig, dosing_basis, fludarabine_band
from .knowledge import KnowledgeBase, Regimen
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
        self.drug_flags = {rid: self._drug_flags(reg, kb.parameters.cytarabine_high_dose_mg_m2)
                           for rid, reg in kb.regimens.items()}

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

    def _warning(self, w) -> WarningOut:
        shorts = "; ".join(self.kb.references[s].short for s in w.source)
        return WarningOut.build(id=w.id, text=f"{w.text} [{shorts}]", severity=w.severity,
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
    def _drug_flags(reg: Regimen, high_cytarabine_mg_m2: float) -> dict[str, bool]:
        steps = [s for sched in reg.schedules for s in sched.steps]
        return {
            "fludarabine": any(s.drug == "fludarabine" for s in steps),
            "high_cytarabine": any(
                s.drug == "cytarabine" and s.unit == "mg/m2" and s.dose is not None
                and s.dose >= high_cytarabine_mg_m2
                for s in steps
            ),
        }


_STATIC = IdentityMemo()


def _static_for(kb: KnowledgeBase) -> _Static:
    """Built once per loaded knowledge base."""
    return _STATIC.get(kb, lambda: _Static(kb))


def _conditional_warnings(reg: Regimen, flags, workup: Workup, assessment, kb: KnowledgeBase) -> list[str]:
    params = kb.parameters
    ids: list[str] = []
    crcl = assessment.crcl_ml_min
    if crcl is None and (flags["fludarabine"] or flags["high_cytarabine"]):
        ids.append("renal-not-assessed")
    if flags["fludarabine"] and crcl is not None:
        factor = fludarabine_band(params, crcl).factor
        if factor == 0:
            ids.append("fludarabine-renal-avoid")
        elif factor < 1:
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


_DEFAULT_CONFIG = DosingConfig()
_MAX_CACHED = 8192


def _warning_profile(reg: Regimen, flags: dict[str, bool]) -> tuple | None:
    """What ``_conditional_warnings`` reads of a regimen; None when no warning of it can depend on the workup."""
    own = reg.id if reg.id in ("gemtuzumab", "gilteritinib", "gilteritinib-ven-aza") else None
    if not (flags["fludarabine"] or flags["high_cytarabine"] or reg.contains_venetoclax or own):
        return None
    return flags["fludarabine"], flags["high_cytarabine"], reg.contains_venetoclax, own


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
    not reused while its entry lives) and its conditional warnings. Rule outcomes recur across workups,
    so distinct keys are few and most options are a lookup; an option without doses (not recommended,
    strategies, supportive care) is then one shared object per rank. The numbered reference list is
    kept by the entries it numbers (and the EPI's and actions' sources), which it holds. Shared objects
    are never mutated, like the knowledge base's own records.
    """

    def __init__(self, static: _Static):
        self.static = static
        self.entries: dict[tuple, _Entry] = {}  # across jurisdictions (the key names the jurisdiction)
        self.references: dict[tuple, tuple[list[ReferenceOut], list[_Entry]]] = {}
        self.warning_profile = {
            rid: _warning_profile(reg, static.drug_flags[rid]) for rid, reg in static.kb.regimens.items()
        }

    def entry(self, key: tuple, reg: Regimen, jurisdiction: str, draft, conditional: list[str]) -> _Entry:
        if len(self.entries) >= _MAX_CACHED:
            self.entries.clear()
        static = self.static
        warning_ids = list(dict.fromkeys(reg.warnings + conditional)) if conditional else reg.warnings
        warnings = [static.warnings[w] for w in warning_ids]
        availability = static.availability[(reg.id, jurisdiction)]
        sources = dict.fromkeys(s for r in draft.reasons for s in r.sources)
        sources.update(dict.fromkeys(static.option_sources[(reg.id, jurisdiction)]))
        for w in conditional:
            sources.update(dict.fromkeys(static.warnings[w].sources))
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
    profiles = assembly.warning_profile
    entries = assembly.entries
    build_option = OptionResult.from_values
    conditional_by_profile: dict[tuple, tuple[str, ...]] = {}

    options = []
    used: list[_Entry] = []
    for rank, draft in enumerate(_ranked(selection.d.values()), start=1):
        rid = draft.id
        profile = profiles[rid]
        if profile is None:
            conditional = ()
        else:
            conditional = conditional_by_profile.get(profile)
            if conditional is None:
                conditional = conditional_by_profile[profile] = tuple(_conditional_warnings(
                    regimens[rid], static.drug_flags[rid], workup, assessment, kb))
        key = (rid, jurisdiction, draft.tier, draft.provisional, draft.reason_ids,
               tuple(map(id, draft.views)) if draft.views else (), conditional)
        entry = entries.get(key)
        if entry is None:
            entry = assembly.entry(key, regimens[rid], jurisdiction, draft, list(conditional))
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
