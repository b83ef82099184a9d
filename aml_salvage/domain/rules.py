"""Treatment selection: workup + knowledge base → every option with a tier and its reasons.

Structure, in the order the phases run:

1. **Lane** — the strategy DT20 Fig 2 and FRC25 assign to the patient (palliative, MRD relapse,
   post-transplant, fit/curative intensive, or low-intensity) sets a base tier for every option.
2. **Targets** — a targetable lesion brings its inhibitor forward [DT20 Fig 2; FRC25].
3. **Modifiers** — early relapse, infection, uncertain transplant eligibility, TP53, cytoreduction.
4. **Caps** — safety limits applied last so nothing earlier can undo them: comfort goals, fitness,
   availability, prior exposure, renal function, MRD relapse, missing targets.

Every change names a rule id; the sentence and sources of each rule live in ``rules.yaml`` so a
clinician can read them and an auditor can trace them. Where the two articles differ, both views
are attached to the option (``views``), attributed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .dosing import fludarabine_band, withheld_drugs
from .knowledge import JURISDICTIONS, OPTION_IDS, KnowledgeBase
from .memo import IdentityMemo
from .result import TIERS, Action, Assessment, Reason, View
from .workup import Workup

P, A, C, N = TIERS  # preferred, alternative, consider, not_recommended
_ORDER = {t: i for i, t in enumerate(TIERS)}

INTENSIVE = ("flag-ida", "flag-ida-ven", "mec", "hidac", "clag-m", "gclac")
FLUDARABINE = ("flag-ida", "flag-ida-ven")
VEN_LOW = ("aza-ven", "dec-ven", "ldac-ven")
CYTOREDUCTION = ("hydroxyurea", "ldac")
PALLIATIVE_KEEP = ("hydroxyurea", "bsc", "ldac")
TARGET_OPTIONS = {
    # option: (targets it needs, words for the reason)
    "gilteritinib": (("flt3_itd", "flt3_tkd"), "a FLT3 mutation (ITD or TKD D835/I836)"),
    "gilteritinib-ven-aza": (("flt3_itd", "flt3_tkd"), "a FLT3 mutation (ITD or TKD)"),
    "quizartinib": (("flt3_itd",), "a FLT3-ITD mutation"),
    "ivosidenib": (("idh1",), "an IDH1 mutation"),
    "olutasidenib": (("idh1",), "an IDH1 mutation"),
    "enasidenib": (("idh2",), "an IDH2 mutation"),
    "revumenib": (("npm1", "kmt2a_rearranged"), "an NPM1 mutation or a KMT2A rearrangement"),
    "ziftomenib": (("npm1",), "an NPM1 mutation"),
    "bleximenib": (("npm1", "kmt2a_rearranged"), "an NPM1 mutation or a KMT2A rearrangement"),
    "gemtuzumab": (("cd33_positive",), "CD33-positive blasts"),
}
_TARGET_NEEDS = tuple((oid, needs) for oid, (needs, _) in TARGET_OPTIONS.items())
STRATEGIES = ("clinical-trial", "allo-hct", "dli", "second-hct")
GENE_WORDS = {"flt3_itd": "FLT3-ITD", "flt3_tkd": "FLT3-TKD", "idh1": "IDH1", "idh2": "IDH2", "npm1": "NPM1",
              "kmt2a_rearranged": "KMT2A rearrangement", "tp53": "TP53", "cd33_positive": "CD33"}
TUMOR_SUPPRESSOR_MUTATIONS = ("WT1", "FBXW7", "PHF6")  # FRC25: lower CRc with FLAG-IDA + venetoclax


_DISPLAY: dict[int, tuple[Reason, str]] = {}
_MAX_REASONS = 50_000  # distinct (rule, format values) kept; beyond that the cache starts again


class _KbRules:
    """What the rules read from one knowledge base, prepared once: regimens with venetoclax, the
    availability caps of each jurisdiction, and the reasons and views built so far.

    Reasons and views are immutable and recur across workups, so one object per (rule id, format
    values) is shared by every result (the result assembly relies on their identity for its cache).
    """

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.reasons: dict = {}
        self.venetoclax = tuple(o for o, r in kb.regimens.items() if r.contains_venetoclax)
        # The availability caps of each jurisdiction, reasons built: (option, tier, rule id, reason).
        self.availability_caps: dict[str, tuple] = {}
        for jur in JURISDICTIONS:
            caps = []
            for oid in OPTION_IDS:
                av = kb.regimens[oid].availability[jur]
                fmt = {"jurisdiction": jur, "note": av.note or ""}
                if av.status == "restricted":
                    caps.append((oid, C, "R-AVAIL-01", self.reason("R-AVAIL-01", fmt)))
                elif av.status == "unavailable":
                    caps.append((oid, N, "R-AVAIL-02", self.reason("R-AVAIL-02", fmt)))
            self.availability_caps[jur] = tuple(caps)
        # R-TGT-00 for each targeted option without its target, re-tested at relapse or not (caps, every workup).
        self.no_target = {
            (oid, retested): self.reason("R-TGT-00", {
                "target": words, "retest": "" if retested else " (genetics not re-tested at relapse: re-test first)"})
            for oid, (_, words) in TARGET_OPTIONS.items() for retested in (True, False)
        }

    def reason(self, rule_id: str, fmt: dict) -> Reason:
        key = (rule_id, tuple(fmt.items())) if fmt else rule_id
        found = self.reasons.get(key)
        if found is None:
            if len(self.reasons) >= _MAX_REASONS:
                self.reasons.clear()
                _DISPLAY.clear()
            rule = self.kb.rules[rule_id]
            found = self.reasons[key] = Reason.build(
                rule_id=rule_id, text=rule.reason.format(**fmt) if fmt else rule.reason,
                sources=list(rule.source), attribution=rule.attribution,
            )
            _DISPLAY[id(found)] = (found, f"{rule_id}: {found.text} [{rule.attribution}]")
        return found

    def view(self, rule_id: str, fmt: dict) -> View:
        key = ("view", rule_id, tuple(fmt.items()))
        found = self.reasons.get(key)
        if found is None:
            rule = self.kb.rules[rule_id]
            found = self.reasons[key] = View.build(source=rule.attribution, text=rule.reason.format(**fmt),
                                                   rule_id=rule_id)
        return found


_KB_RULES = IdentityMemo()


def _kb_rules(kb: KnowledgeBase) -> _KbRules:
    return _KB_RULES.get(kb, lambda: _KbRules(kb))


def reason_display(reason: Reason) -> str:
    """'R-ID: sentence [attribution]' — the contract's plain form of a reason."""
    entry = _DISPLAY.get(id(reason))
    if entry is not None and entry[0] is reason:
        return entry[1]
    return f"{reason.rule_id}: {reason.text} [{reason.attribution}]"


class Draft:
    """One option while the rules run: its tier so far, the reasons that set it, and its views."""

    __slots__ = ("id", "tier", "priority", "reasons", "views", "provisional", "rule_ids", "reason_ids")

    def __init__(self, id: str):
        self.id = id
        self.tier: str = N
        self.priority = 100
        self.reasons: list[Reason] = []
        self.views: list[View] | tuple = ()  # a list once a view is attached (rare)
        self.provisional = False
        self.rule_ids: set[str] = set()  # of ``reasons``: a rule is noted once per option
        self.reason_ids: tuple[int, ...] = ()  # id() of each of ``reasons`` (interned objects): a cheap key

    def note(self, rule_id: str, reason: Reason) -> None:
        """Attach a rule's reason once per option."""
        if rule_id not in self.rule_ids:
            self.rule_ids.add(rule_id)
            self.reasons.append(reason)
            self.reason_ids += (id(reason),)

    def __repr__(self) -> str:
        return f"Draft({self.id!r}, tier={self.tier!r}, priority={self.priority}, rules={sorted(self.rule_ids)})"


@dataclass(slots=True)
class Profile:
    """The facts of the workup the rules read, named as a hematologist would. Read, never changed
    (not ``frozen``: a frozen dataclass costs a few microseconds per workup to build)."""

    comfort: bool
    curative: bool
    fit: bool
    pif: bool
    mrd: bool
    post_hct: bool
    months_since_hct: float | None
    multiple_relapses: bool
    early: bool
    adverse: bool
    tp53: bool
    suppressor_mutations: tuple[str, ...]
    flt3: bool
    idh1: bool
    idh2: bool
    npm1: bool
    kmt2a: bool
    cd33: bool | None
    venetoclax_sensitive: bool
    any_target: bool
    retested: bool
    candidate: bool | None
    trial_available: bool
    jurisdiction: str
    urgent: bool
    wbc: float | None
    infection: bool
    infection_uncontrolled: bool
    crcl: float | None
    age: int
    older: bool  # at or above the knowledge base's older_age_years [DT20 Conclusions]
    ecog: int
    ecog_conflict: bool  # 'fit' ticked with ECOG at or above ecog_intensive_conflict_min [FRC25]
    pending: tuple[str, ...]  # genes whose result is awaited
    lvef: int | None

    @classmethod
    def of(cls, w: Workup, a: Assessment, kb: KnowledgeBase) -> Profile:
        g, d, params = w.genetics, w.disease, kb.parameters
        flt3 = g.flt3_itd or g.flt3_tkd
        return cls(
            comfort=w.goals_of_care == "comfort",
            curative=w.goals_of_care == "curative",
            fit=w.fit_for_intensive_chemo,
            pif=d.status == "primary_refractory",
            mrd=d.status == "mrd_relapse",
            post_hct=d.prior_allo_hct,
            months_since_hct=d.months_since_hct,
            multiple_relapses=(d.relapse_number or 0) >= 2,
            early=bool(a.early_relapse),
            adverse=a.adverse_risk,
            tp53=g.tp53,
            suppressor_mutations=tuple(m for m in g.other_mutations if m in TUMOR_SUPPRESSOR_MUTATIONS),
            flt3=flt3,
            idh1=g.idh1,
            idh2=g.idh2,
            npm1=g.npm1,
            kmt2a=g.kmt2a_rearranged,
            cd33=g.cd33_positive,
            venetoclax_sensitive=g.npm1 or g.idh1 or g.idh2,
            any_target=flt3 or g.idh1 or g.idh2 or g.npm1 or g.kmt2a_rearranged,
            retested=g.retested_at_relapse,
            candidate=w.transplant.candidate,
            trial_available=w.context.clinical_trial_available,
            jurisdiction=w.context.jurisdiction,
            urgent=d.needs_urgent_cytoreduction,
            wbc=d.wbc_10e9_per_l,
            infection=w.active_infection,
            infection_uncontrolled=w.infection_uncontrolled,
            crcl=a.crcl_ml_min,
            age=w.patient.age_years,
            older=w.patient.age_years >= params.older_age_years,
            ecog=w.patient.ecog,
            ecog_conflict=w.fit_for_intensive_chemo and w.patient.ecog >= params.ecog_intensive_conflict_min,
            pending=g.pending,
            lvef=w.patient.lvef_pct,
        )


class Selection:
    """One run of the rules over one workup."""

    def __init__(self, *, workup: Workup, assessment: Assessment, kb: KnowledgeBase):
        self.w = workup
        self.a = assessment
        self.kb = kb
        self.p = Profile.of(workup, assessment, kb)
        self.d = {oid: Draft(oid) for oid in OPTION_IDS}
        self._kb = _kb_rules(kb)
        # Whether the workup has the target each targeted option needs.
        genetics = workup.genetics.__dict__  # the validated model's field values
        self.has_target = {oid: any(map(genetics.__getitem__, needs)) for oid, needs in _TARGET_NEEDS}
        self.actions: list[Action] = []
        self.lane = ""

    # -- primitives ------------------------------------------------------------------------------
    def reason(self, rule_id: str, **fmt) -> Reason:
        return self._kb.reason(rule_id, fmt)

    def _note(self, ids, rule_id: str, fmt: dict) -> None:
        r = self._kb.reason(rule_id, fmt)
        drafts = self.d
        for oid in ids:
            draft = drafts[oid]
            draft.note(rule_id, r)

    def set(self, ids, tier: str, rule_id: str, priority: int | None = None, **fmt) -> None:
        """Base assignment of a tier (lane and target rules)."""
        r = self._kb.reason(rule_id, fmt)
        drafts = self.d
        for oid in ((ids,) if isinstance(ids, str) else ids):
            draft = drafts[oid]
            draft.tier = tier
            if priority is not None:
                draft.priority = priority
            draft.note(rule_id, r)

    def _set_one(self, oid: str, tier: str, rule_id: str, r: Reason) -> None:
        """``set`` of one option with a reason already built."""
        draft = self.d[oid]
        draft.tier = tier
        draft.note(rule_id, r)

    def _cap_one(self, oid: str, tier: str, rule_id: str, r: Reason) -> None:
        """``cap`` of one option with a reason already built."""
        draft = self.d[oid]
        if _ORDER[tier] > _ORDER[draft.tier]:
            draft.tier = tier
        draft.note(rule_id, r)

    def lift(self, ids, tier: str, rule_id: str, priority: int | None = None, **fmt) -> None:
        """Raise to at least ``tier`` (never lowers)."""
        r = self._kb.reason(rule_id, fmt)
        order = _ORDER[tier]
        drafts = self.d
        for oid in ((ids,) if isinstance(ids, str) else ids):
            draft = drafts[oid]
            if order < _ORDER[draft.tier]:
                draft.tier = tier
                if priority is not None:
                    draft.priority = priority
            draft.note(rule_id, r)

    def cap(self, ids, tier: str, rule_id: str, **fmt) -> None:
        """Lower to at most ``tier`` (never raises). Applied last: safety limits."""
        r = self._kb.reason(rule_id, fmt)
        order = _ORDER[tier]
        drafts = self.d
        for oid in ((ids,) if isinstance(ids, str) else ids):
            draft = drafts[oid]
            if order > _ORDER[draft.tier]:
                draft.tier = tier
            draft.note(rule_id, r)

    def note(self, ids, rule_id: str, **fmt) -> None:
        self._note((ids,) if isinstance(ids, str) else ids, rule_id, fmt)

    def view(self, ids, rule_id: str, **fmt) -> None:
        """Attach one article's position (both articles' views are attached where they differ)."""
        v = self._kb.view(rule_id, fmt)
        for oid in ((ids,) if isinstance(ids, str) else ids):
            draft = self.d[oid]
            if all(existing.rule_id != rule_id for existing in draft.views):
                draft.views = [*draft.views, v]
        self._note((ids,) if isinstance(ids, str) else ids, rule_id, fmt)

    def action(self, action_id: str, priority: str, rule_id: str, **fmt) -> None:
        r = self._kb.reason(rule_id, fmt)
        self.actions.append(Action.build(
            id=action_id, priority=priority, text=r.text, rule_id=rule_id, sources=r.sources,
        ))

    def availability(self, oid: str) -> str:
        return self.kb.regimens[oid].availability[self.p.jurisdiction].status

    def usable(self, oid: str, prior: bool) -> bool:
        return self.availability(oid) == "available" and not prior

    # -- phase 1: lanes --------------------------------------------------------------------------
    def choose_lane(self) -> str:
        p = self.p
        if p.comfort:
            return "palliative"
        if p.mrd:
            return "mrd"
        if p.post_hct:
            return "post_hct"
        if self.intensive_candidate() and not self.intensive_held_back():
            return "intensive"
        return "low_intensity"

    def intensive_candidate(self) -> bool:
        """Fit, curative intent, first salvage: the profile DT20 Fig 2 treats with cytotoxic chemotherapy."""
        p = self.p
        return p.fit and p.curative and not p.pif and not p.multiple_relapses

    def intensive_held_back(self) -> bool:
        """Reasons the articles give to prefer HMA/LDAC + venetoclax even so: age [DT20 Conclusions], no
        transplant plan [FRC25], performance status in conflict with 'fit' [FRC25 General Approach]."""
        p = self.p
        return p.older or p.candidate is False or p.ecog_conflict

    def lane_palliative(self) -> None:
        self.set(("hydroxyurea", "bsc"), P, "R-GOAL-01", priority=10)
        self.set("ldac", A, "R-GOAL-01", priority=20)

    def lane_intensive(self) -> None:
        p = self.p
        self.set(("flag-ida", "mec"), P, "R-IC-01", priority=20)
        self.set("flag-ida-ven", A, "R-IC-02", priority=15)
        self.set("hidac", A, "R-IC-04", priority=30)
        self.set(("clag-m", "gclac"), C, "R-IC-05", priority=60)
        self.set(VEN_LOW, A, "R-IC-06", priority=40)
        self.set("hma", C, "R-VEN-04", priority=70)
        self.set("ldac", N, "R-IC-08")
        self.set("hydroxyurea", C, "R-CYTO-02", priority=80)
        self.set("bsc", C, "R-GEN-02", priority=90)
        if p.venetoclax_sensitive and not p.tp53 and not p.suppressor_mutations:
            self.lift("flag-ida-ven", P, "R-IC-03", priority=10)
            self.cap(("flag-ida", "mec"), A, "R-IC-03")
        if p.early and p.adverse:
            self.early_adverse()
        elif p.early:
            self.note(("flag-ida", "mec", "flag-ida-ven"), "R-EARLY-02",
                      months=f"{self.a.cr1_duration_months:g}")
        if p.candidate is None:
            self.lift("aza-ven", P, "R-IC-07", priority=18)
        if p.infection:
            self.cap(INTENSIVE, A, "R-INF-01")
            self.lift("aza-ven", P, "R-INF-01", priority=12)

    def early_adverse(self) -> None:
        """DT20 and FRC25 differ here: attach both views, and let the plan decide which leads."""
        months = f"{self.a.cr1_duration_months:g}"
        both = ("flag-ida", "mec", "flag-ida-ven") + VEN_LOW
        self.view(both, "R-EARLY-01", months=months)
        self.view(both, "R-EARLY-03")
        if self.p.urgent and self.p.candidate is True:
            # FRC25: rapid cytoreduction with a clear plan for HCT → IC ± venetoclax leads.
            self.lift("flag-ida-ven", P, "R-EARLY-03", priority=14)
            return
        # DT20 Fig 2: an inhibitor if a usable one matches, else HMA/LDAC + venetoclax, rather than IC.
        self.cap(INTENSIVE, A, "R-EARLY-01", months=months)
        if not self.usable_inhibitor():
            self.lift("aza-ven", P, "R-EARLY-01", priority=10, months=months)
            self.lift(("dec-ven", "ldac-ven"), A, "R-EARLY-01", months=months)

    def mrd_to_transplant(self) -> bool:
        """MRD relapse in an untransplanted HCT candidate with curative goals: HCT is the preferred strategy
        [FRC25 Conclusion: 'referred for HSCT at the earliest opportunity']."""
        p = self.p
        return p.mrd and not p.post_hct and p.candidate is True and p.curative and not p.comfort

    def usable_inhibitor(self) -> bool:
        """A matching targeted inhibitor that is available here and not previously given."""
        prior = self.w.prior_therapy
        p = self.p
        candidates = []
        if p.flt3:
            candidates.append(("gilteritinib", prior.gilteritinib))
        if p.idh1:
            candidates.append(("ivosidenib", prior.idh_inhibitor))
        if p.idh2:
            candidates.append(("enasidenib", prior.idh_inhibitor))
        if p.npm1 or p.kmt2a:
            candidates.append(("revumenib", prior.menin_inhibitor))
        return any(self.usable(oid, exposed) for oid, exposed in candidates)

    def lane_low_intensity(self) -> None:
        p = self.p
        self.set("aza-ven", P, "R-LI-01", priority=20)
        self.set("dec-ven", P, "R-LI-01", priority=21)
        self.set("ldac-ven", P, "R-LI-01", priority=22)
        self.set("hma", C, "R-VEN-04", priority=50)
        self.set("ldac", C, "R-CYTO-03", priority=55)
        self.set("hydroxyurea", C, "R-CYTO-03", priority=60)
        self.set("bsc", A, "R-GEN-03", priority=90)
        self.set(INTENSIVE, C, "R-LI-02")
        if p.pif:
            self.note(VEN_LOW, "R-PIF-01")
            self.cap(INTENSIVE, C, "R-PIF-02")
        if p.multiple_relapses:
            self.note(VEN_LOW, "R-MULT-01")
            self.cap(INTENSIVE, C, "R-MULT-01")
        if p.fit and not p.curative:
            self.cap(INTENSIVE, C, "R-GOAL-03")
        if self.intensive_candidate():
            self.held_back()

    def held_back(self) -> None:
        """Fit and curative, but older, not a transplant candidate, or ECOG in conflict: HMA/LDAC + venetoclax
        leads; intensive salvage stays an alternative (the clinician's judgement of fitness), except when the
        ECOG conflicts with that judgement."""
        p, params = self.p, self.kb.parameters
        main = ("flag-ida", "mec", "flag-ida-ven")
        if p.older:
            self.note(VEN_LOW, "R-AGE-01", age=p.age, limit=params.older_age_years)
            self.lift(main, A, "R-AGE-01", age=p.age, limit=params.older_age_years)
        if p.candidate is False:
            self.note(VEN_LOW, "R-ALLO-06")
            self.lift(main, A, "R-ALLO-06")
        if p.ecog_conflict:
            self.note(VEN_LOW, "R-FIT-02", ecog=p.ecog, limit=params.ecog_intensive_conflict_min)
            self.cap(INTENSIVE, C, "R-FIT-02", ecog=p.ecog, limit=params.ecog_intensive_conflict_min)

    def lane_post_hct(self) -> None:
        p = self.p
        self.set(("hma", "dli"), A, "R-HCT-02", priority=30)
        self.set(("aza-ven", "dec-ven"), A, "R-HCT-05", priority=35)
        self.set("ldac-ven", C, "R-HCT-05", priority=45)
        self.set("second-hct", C, "R-HCT-03", priority=60)
        self.set(INTENSIVE, C, "R-HCT-06")
        self.set("ldac", C, "R-CYTO-03", priority=70)
        self.set("hydroxyurea", C, "R-CYTO-03", priority=75)
        self.set("bsc", C if p.fit else A, "R-GEN-03", priority=90)
        if not p.any_target and not p.trial_available:
            self.lift(("hma", "dli"), P, "R-HCT-07", priority=20)
        if not p.fit or p.candidate is False:
            self.cap("second-hct", N, "R-HCT-08")

    def lane_mrd(self) -> None:
        p = self.p
        self.set(VEN_LOW + ("hma",), C, "R-MRD-01", priority=40)
        self.set(INTENSIVE, C, "R-MRD-01", priority=50)
        self.set(("ldac", "hydroxyurea"), N, "R-MRD-02")
        self.set("bsc", C, "R-GEN-02", priority=90)
        if p.post_hct:
            self.set("dli", C, "R-MRD-03", priority=20)
            self.set("second-hct", C, "R-HCT-03", priority=60)

    # -- strategies ------------------------------------------------------------------------------
    def strategies(self) -> None:
        p = self.p
        # Clinical trial [FRC25 "General Approach"; DT20 post-HCT]
        prioritised = []
        if p.tp53:
            prioritised.append("TP53-mutated disease")
        if p.adverse and not p.tp53:
            prioritised.append("adverse-risk disease")
        if self.w.prior_therapy.venetoclax_failure:
            prioritised.append("failure of a venetoclax regimen")
        if p.post_hct and not p.any_target:
            prioritised.append("relapse after allogeneic HCT without a targetable mutation")
        if p.comfort:
            self.set("clinical-trial", N, "R-GOAL-02")
        elif p.trial_available:
            self.set("clinical-trial", A, "R-TRIAL-01", priority=5)
            if prioritised:
                self.lift("clinical-trial", P, "R-TRIAL-02", priority=1, why="; ".join(prioritised))
        else:
            self.set("clinical-trial", C, "R-TRIAL-03", priority=5)
            if prioritised:
                self.note("clinical-trial", "R-TRIAL-02", why="; ".join(prioritised))

        # First allogeneic HCT [both articles]
        if p.comfort:
            self.set("allo-hct", N, "R-GOAL-02")
        elif p.post_hct:
            self.set("allo-hct", N, "R-HCT-09")
        elif p.candidate is False:
            self.set("allo-hct", N, "R-ALLO-03")
        elif p.candidate is None:
            self.set("allo-hct", C, "R-ALLO-02", priority=95)
        elif p.curative:
            self.set("allo-hct", P, "R-ALLO-01", priority=95)
            if self.mrd_to_transplant():
                self.set("allo-hct", P, "R-MRD-04", priority=1)
            if p.pif:
                self.note("allo-hct", "R-ALLO-04")
        else:
            self.set("allo-hct", C, "R-ALLO-05", priority=95)
        if self.w.genetics.flt3_itd and not p.comfort and p.candidate is not False:
            self.note("allo-hct", "R-FLT3-04")

        if not p.post_hct:
            self.set(("dli", "second-hct"), N, "R-HCT-10")
        self.set("venetoclax-mono", N, "R-VEN-03")

    # -- phase 2: targets ------------------------------------------------------------------------
    def targets(self) -> None:
        p, prior, lane = self.p, self.w.prior_therapy, self.lane
        if p.comfort:
            return
        fit_curative_first = lane == "intensive" and not (p.early and p.adverse)

        if p.flt3:
            if prior.gilteritinib:
                self.set("gilteritinib", C, "R-FLT3-02", priority=8)
            else:
                self.set("gilteritinib", P, "R-FLT3-01", priority=1)
                if lane == "intensive":
                    if p.urgent:
                        self.note(("flag-ida", "mec", "flag-ida-ven"), "R-FLT3-03")
                    else:
                        self.cap(INTENSIVE, A, "R-FLT3-05")
                elif lane in ("low_intensity", "post_hct"):
                    self.cap(VEN_LOW, A, "R-TGT-02", inhibitor="gilteritinib")
            self.set("gilteritinib-ven-aza", C, "R-FLT3-06", priority=70)
            if self.w.genetics.flt3_itd:
                self.set("quizartinib", C, "R-FLT3-07", priority=75)

        for gene, inhibitors, prior_flag in (
            ("IDH1", ("ivosidenib", "olutasidenib"), prior.idh_inhibitor),
            ("IDH2", ("enasidenib",), prior.idh_inhibitor),
        ):
            if not (p.idh1 if gene == "IDH1" else p.idh2):
                continue
            first = inhibitors[0]
            if prior_flag:
                self.set(inhibitors, C, "R-IDH-06", gene=gene)
            elif fit_curative_first:
                self.set(inhibitors, A, "R-IDH-04", priority=25, gene=gene)
            else:
                self.set(first, P, "R-IDH-01", priority=2, gene=gene)
                if len(inhibitors) > 1:
                    self.set(inhibitors[1], A, "R-IDH-02", priority=3)
                if self.usable(first, prior_flag) and lane in ("low_intensity", "post_hct"):
                    self.cap(VEN_LOW, A, "R-TGT-02", inhibitor=self.kb.regimens[first].name)
                    self.note(VEN_LOW, "R-IDH-05")
            if not self.usable(first, prior_flag) and not fit_curative_first:
                # Fallback where the inhibitor cannot be had [DT20 Patient 3; FRC25].
                if not prior.venetoclax and lane != "mrd":
                    self.lift("aza-ven", P, "R-IDH-03", priority=10, gene=gene)
                    self.note(("dec-ven", "ldac-ven"), "R-IDH-03", gene=gene)
            if gene == "IDH2":
                self.view("enasidenib", "R-IDH-07")
                self.view("enasidenib", "R-IDH-08")

        if p.npm1 or p.kmt2a:
            lesion = " and ".join(x for x, on in (("NPM1 mutation", p.npm1), ("KMT2A rearrangement", p.kmt2a)) if on)
            menin = ["revumenib"] + (["ziftomenib"] if p.npm1 else [])
            if prior.menin_inhibitor:
                self.set(menin, C, "R-MENIN-03")
            elif fit_curative_first:
                self.set(menin, A, "R-MENIN-02", priority=26, lesion=lesion)
            else:
                self.set(menin, P, "R-MENIN-01", priority=23, lesion=lesion)
            if not p.npm1:
                self.set("ziftomenib", N, "R-MENIN-04")
            self.set("bleximenib", C, "R-MENIN-05", priority=72)
            usable = self.usable("revumenib", prior.menin_inhibitor)
            if p.npm1:
                # The articles differ: DT20's "appropriate inhibitor" vs FRC25's venetoclax-sensitive biology.
                # Both stay preferred (HMA/LDAC + venetoclax ranked first while venetoclax-naive), both views shown.
                self.view(menin + list(VEN_LOW), "R-MENIN-06")
                self.view(menin + list(VEN_LOW) + ["flag-ida-ven"], "R-NPM1-01")
            elif usable and lane in ("low_intensity", "post_hct"):
                # KMT2A-r is not venetoclax-sensitive biology (FRC25): the menin inhibitor leads [DT20 Conclusions].
                self.cap(VEN_LOW, A, "R-TGT-02", inhibitor=self.kb.regimens["revumenib"].name)

        if p.cd33 is True:
            self.set("gemtuzumab", C, "R-CD33-01", priority=65)
            if p.post_hct and (p.months_since_hct or 0) < self.kb.parameters.gemtuzumab_vod_window_months:
                self.cap("gemtuzumab", N, "R-CD33-02",
                         window=f"{self.kb.parameters.gemtuzumab_vod_window_months:g}")
            elif p.post_hct:
                self.note("gemtuzumab", "R-CD33-03")

        if p.post_hct and p.any_target:
            self.note(self.present_target_options(), "R-HCT-01")

        if not p.retested:
            for oid in self.present_target_options():
                self.d[oid].provisional = True
                self.note(oid, "R-GEN-01")

    def present_target_options(self) -> list[str]:
        return [oid for oid, present in self.has_target.items() if present]

    # -- phase 3: modifiers ----------------------------------------------------------------------
    def modifiers(self) -> None:
        p = self.p
        if p.tp53 or p.suppressor_mutations:
            genes = ", ".join((["TP53"] if p.tp53 else []) + list(p.suppressor_mutations))
            self.cap("flag-ida-ven", A, "R-TP53-02", genes=genes)
        if p.tp53 and not p.comfort:
            self.note(("flag-ida", "mec", "flag-ida-ven") + VEN_LOW, "R-TP53-01")
        if p.urgent and not p.comfort:
            self.lift("hydroxyurea", A, "R-CYTO-01", priority=6)

    # -- phase 4: caps ---------------------------------------------------------------------------
    def caps(self) -> None:
        p, prior = self.p, self.w.prior_therapy
        g = self.w.genetics
        no_target = self._kb.no_target
        for oid, (needs, words) in TARGET_OPTIONS.items():
            awaited = [gene for gene in needs if gene in p.pending]
            if not self.has_target[oid] and awaited and not p.comfort:
                # A pending target keeps its option visible as provisional, never absent [clinical-spec v2].
                self.set(oid, C, "R-GEN-04", genes=" and ".join(GENE_WORDS[x] for x in awaited), target=words)
                self.d[oid].provisional = True
            elif not self.has_target[oid]:
                if oid == "gemtuzumab" and g.cd33_positive is None:
                    self.set(oid, N, "R-CD33-04")
                else:  # R-TGT-00, target=<words>, retest=<note when not re-tested>
                    self._set_one(oid, N, "R-TGT-00", no_target[(oid, p.retested)])
        if p.comfort:
            others = [o for o in OPTION_IDS if o not in PALLIATIVE_KEEP]
            self.cap(others, N, "R-GOAL-02")
            return
        if not p.fit:
            self.cap(INTENSIVE, N, "R-FIT-01")
        if p.infection_uncontrolled:
            self.cap(INTENSIVE, N, "R-INF-02")
        if prior.venetoclax:
            ven = [o for o in self._kb.venetoclax if o != "venetoclax-mono"]
            self.cap(ven, C, "R-VEN-01")
            if prior.venetoclax_failure:
                self.lift("hma", A, "R-VEN-02", priority=45)
        if p.mrd:
            keep = ("clinical-trial", "bsc") + (("allo-hct",) if self.mrd_to_transplant() else ())
            self.cap([o for o in OPTION_IDS if o not in keep], C, "R-MRD-01")
        if p.crcl is not None and fludarabine_band(self.kb.parameters, p.crcl).factor == 0:
            self.cap(FLUDARABINE, N, "R-RENAL-01", crcl=f"{p.crcl:.0f}")
        self.organ_caps()
        for oid, tier, rule_id, reason in self._kb.availability_caps[p.jurisdiction]:
            self._cap_one(oid, tier, rule_id, reason)  # R-AVAIL-01/02, jurisdiction=<jur>, note=<note>

    def organ_caps(self) -> None:
        """Heart, liver and kidneys change tiers, not only text [ESC 2022 cardio-oncology; drug labels]."""
        p, params = self.p, self.kb.parameters
        if p.lvef is not None and p.lvef < params.lvef_anthracycline_min_pct:
            for oid, drugs in self.regimens_with(set(params.anthracycline_drugs)).items():
                self.cap(oid, C, "R-CARD-01", lvef=p.lvef, limit=params.lvef_anthracycline_min_pct,
                         drugs=" and ".join(sorted(drugs)))
        for drug, sentence in withheld_drugs(kb=self.kb, workup=self.w, assessment=self.a).items():
            if drug == "fludarabine":
                continue  # R-RENAL-01, above
            for oid in self.regimens_with({drug}):
                self.cap(oid, N, "R-ORGAN-01", drug=drug, sentence=sentence)
        if p.crcl is not None and p.crcl < params.renal_severe_crcl_ml_min:
            self.cap(self.high_dose_cytarabine(), A, "R-RENAL-02", crcl=f"{p.crcl:.0f}",
                     limit=f"{params.renal_severe_crcl_ml_min:g}")

    def regimens_with(self, drugs: set[str]) -> dict[str, set[str]]:
        """Regimens any of whose dose steps gives one of ``drugs``, with the drugs found."""
        found: dict[str, set[str]] = {}
        for oid, regimen in self.kb.regimens.items():
            hit = {step.drug for sched in regimen.schedules for step in sched.steps if step.drug in drugs}
            if hit:
                found[oid] = hit
        return found

    def high_dose_cytarabine(self) -> list[str]:
        """Regimens with cytarabine at or above the cerebellar-toxicity dose (parameters.yaml)."""
        limit = self.kb.parameters.cytarabine_high_dose_mg_m2
        return [oid for oid, regimen in self.kb.regimens.items()
                if any(step.drug == "cytarabine" and step.unit == "mg/m2" and (step.dose or 0) >= limit
                       for sched in regimen.schedules for step in sched.steps)]

    # -- actions ---------------------------------------------------------------------------------
    def plan_actions(self) -> None:
        p = self.p
        if not p.retested:
            self.action("retest-genetics", "high", "R-ACT-01")
        if p.pending:
            self.action("retest-genetics", "high", "R-ACT-08",
                        genes=", ".join(GENE_WORDS[gene] for gene in p.pending))
        # An action never contradicts a tier: "refer now" only when transplant is preferred or an alternative.
        if not p.comfort and p.candidate is not False and (p.curative or p.candidate is True):
            if p.post_hct:
                self.action("allo-hct-referral", "high", "R-ACT-03")
            elif p.candidate is None:
                self.action("allo-hct-referral", "high", "R-ACT-06")
            elif self.d["allo-hct"].tier in (P, A):
                self.action("allo-hct-referral", "high", "R-ACT-02")
        if p.urgent:
            self.action("urgent-cytoreduction", "high", "R-ACT-05")
        elif p.wbc is not None and p.wbc >= self.kb.parameters.venetoclax_wbc_max and any(
            self.d[o].tier in (P, A) for o in self._kb.venetoclax
        ):
            self.action("urgent-cytoreduction", "medium", "R-ACT-07", wbc=f"{p.wbc:g}",
                        limit=f"{self.kb.parameters.venetoclax_wbc_max:g}")
        high = p.comfort or not p.fit or p.pif or p.multiple_relapses
        self.action("palliative-care", "high" if high else "routine", "R-ACT-04")

    # -- run -------------------------------------------------------------------------------------
    def run(self) -> Selection:
        self.lane = self.choose_lane()
        getattr(self, f"lane_{self.lane}")()
        self.strategies()
        self.targets()
        self.modifiers()
        self.caps()
        self.plan_actions()
        for draft in self.d.values():
            if not draft.reasons:  # a defect in the rules, never shown silently
                raise RuntimeError(f"option {draft.id} has no reason")
        return self


def selection_run(*, workup: Workup, assessment: Assessment, kb: KnowledgeBase) -> Selection:
    return Selection(workup=workup, assessment=assessment, kb=kb).run()
