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

from dataclasses import dataclass, field

from .dosing import fludarabine_band, withheld_drugs
from .knowledge import OPTION_IDS, KnowledgeBase
from .regimen_facts import anthracyclines_in, has_anthracycline, has_high_dose_cytarabine, regimen_drugs
from .result import TIERS, Action, Assessment, Reason, View
from .workup import Workup

PREFERRED, ALTERNATIVE, CONSIDER, NOT_RECOMMENDED = TIERS
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
STRATEGIES = ("clinical-trial", "allo-hct", "dli", "second-hct")
GENE_WORDS = {"flt3_itd": "FLT3-ITD", "flt3_tkd": "FLT3-TKD", "idh1": "IDH1", "idh2": "IDH2", "npm1": "NPM1",
              "kmt2a_rearranged": "KMT2A rearrangement", "tp53": "TP53", "cd33_positive": "CD33"}
TUMOR_SUPPRESSOR_MUTATIONS = ("WT1", "FBXW7", "PHF6")  # FRC25: lower CRc with FLAG-IDA + venetoclax


def reason_display(reason: Reason) -> str:
    """'R-ID: sentence [attribution]' — the contract's plain form of a reason."""
    return f"{reason.rule_id}: {reason.text} [{reason.attribution}]"


@dataclass
class Draft:
    """One option while the rules run: its tier so far, the reasons that set it (each rule once), its views."""

    id: str
    tier: str = NOT_RECOMMENDED
    priority: int = 100
    reasons: list[Reason] = field(default_factory=list)
    views: list[View] = field(default_factory=list)
    provisional: bool = False

    def note(self, reason: Reason) -> None:
        """Attach a rule's reason once per option."""
        if all(existing.rule_id != reason.rule_id for existing in self.reasons):
            self.reasons.append(reason)


@dataclass(frozen=True)
class Profile:
    """The facts of the workup the rules read, named as a hematologist would."""

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
    def of(cls, workup: Workup, assessment: Assessment, kb: KnowledgeBase) -> Profile:
        genetics, disease, params = workup.genetics, workup.disease, kb.parameters
        flt3 = genetics.flt3_itd or genetics.flt3_tkd
        return cls(
            comfort=workup.goals_of_care == "comfort",
            curative=workup.goals_of_care == "curative",
            fit=workup.fit_for_intensive_chemo,
            pif=disease.status == "primary_refractory",
            mrd=disease.status == "mrd_relapse",
            post_hct=disease.prior_allo_hct,
            months_since_hct=disease.months_since_hct,
            multiple_relapses=(disease.relapse_number or 0) >= 2,
            early=bool(assessment.early_relapse),
            adverse=assessment.adverse_risk,
            tp53=genetics.tp53,
            suppressor_mutations=tuple(m for m in genetics.other_mutations if m in TUMOR_SUPPRESSOR_MUTATIONS),
            flt3=flt3,
            idh1=genetics.idh1,
            idh2=genetics.idh2,
            npm1=genetics.npm1,
            kmt2a=genetics.kmt2a_rearranged,
            cd33=genetics.cd33_positive,
            venetoclax_sensitive=genetics.npm1 or genetics.idh1 or genetics.idh2,
            any_target=flt3 or genetics.idh1 or genetics.idh2 or genetics.npm1 or genetics.kmt2a_rearranged,
            retested=genetics.retested_at_relapse,
            candidate=workup.transplant.candidate,
            trial_available=workup.context.clinical_trial_available,
            jurisdiction=workup.context.jurisdiction,
            urgent=disease.needs_urgent_cytoreduction,
            wbc=disease.wbc_10e9_per_l,
            infection=workup.active_infection,
            infection_uncontrolled=workup.infection_uncontrolled,
            crcl=assessment.crcl_ml_min,
            age=workup.patient.age_years,
            older=workup.patient.age_years >= params.older_age_years,
            ecog=workup.patient.ecog,
            ecog_conflict=workup.fit_for_intensive_chemo and workup.patient.ecog >= params.ecog_intensive_conflict_min,
            pending=genetics.pending,
            lvef=workup.patient.lvef_pct,
        )


class Selection:
    """One run of the rules over one workup."""

    def __init__(self, *, workup: Workup, assessment: Assessment, kb: KnowledgeBase):
        self.workup = workup
        self.assessment = assessment
        self.kb = kb
        self.profile = Profile.of(workup, assessment, kb)
        self.drafts = {oid: Draft(oid) for oid in OPTION_IDS}
        # Whether the workup has the target each targeted option needs.
        self.has_target = {
            oid: any(getattr(workup.genetics, gene) for gene in needs) for oid, (needs, _) in TARGET_OPTIONS.items()
        }
        self.venetoclax_regimens = tuple(oid for oid, regimen in kb.regimens.items() if regimen.contains_venetoclax)
        self.actions: list[Action] = []
        self.lane = ""

    # -- primitives ------------------------------------------------------------------------------
    def reason(self, rule_id: str, **fmt) -> Reason:
        """The rule's sentence from rules.yaml, its {placeholders} filled from ``fmt``."""
        rule = self.kb.rules[rule_id]
        return Reason(rule_id=rule_id, text=rule.reason.format(**fmt) if fmt else rule.reason,
                      sources=list(rule.source), attribution=rule.attribution)

    def set(self, ids, tier: str, rule_id: str, priority: int | None = None, **fmt) -> None:
        """Base assignment of a tier (lane and target rules)."""
        reason = self.reason(rule_id, **fmt)
        for draft in self._drafts(ids):
            draft.tier = tier
            if priority is not None:
                draft.priority = priority
            draft.note(reason)

    def lift(self, ids, tier: str, rule_id: str, priority: int | None = None, **fmt) -> None:
        """Raise to at least ``tier`` (never lowers)."""
        reason = self.reason(rule_id, **fmt)
        for draft in self._drafts(ids):
            if _ORDER[tier] < _ORDER[draft.tier]:
                draft.tier = tier
                if priority is not None:
                    draft.priority = priority
            draft.note(reason)

    def cap(self, ids, tier: str, rule_id: str, **fmt) -> None:
        """Lower to at most ``tier`` (never raises). Applied last: safety limits."""
        reason = self.reason(rule_id, **fmt)
        for draft in self._drafts(ids):
            if _ORDER[tier] > _ORDER[draft.tier]:
                draft.tier = tier
            draft.note(reason)

    def note(self, ids, rule_id: str, **fmt) -> None:
        """Attach a reason without changing the tier."""
        reason = self.reason(rule_id, **fmt)
        for draft in self._drafts(ids):
            draft.note(reason)

    def view(self, ids, rule_id: str, **fmt) -> None:
        """Attach one article's position (both articles' views are attached where they differ)."""
        rule = self.kb.rules[rule_id]
        view = View(source=rule.attribution, text=rule.reason.format(**fmt), rule_id=rule_id)
        for draft in self._drafts(ids):
            if all(existing.rule_id != rule_id for existing in draft.views):
                draft.views.append(view)
        self.note(ids, rule_id, **fmt)

    def action(self, action_id: str, priority: str, rule_id: str, **fmt) -> None:
        reason = self.reason(rule_id, **fmt)
        self.actions.append(Action(
            id=action_id, priority=priority, text=reason.text, rule_id=rule_id, sources=reason.sources,
        ))

    def _drafts(self, ids) -> list[Draft]:
        """The drafts of one option id or of several."""
        return [self.drafts[oid] for oid in ((ids,) if isinstance(ids, str) else ids)]

    def availability(self, oid: str) -> str:
        return self.kb.regimens[oid].availability[self.profile.jurisdiction].status

    def usable(self, oid: str, prior: bool) -> bool:
        return self.availability(oid) == "available" and not prior

    # -- phase 1: lanes --------------------------------------------------------------------------
    def choose_lane(self) -> str:
        profile = self.profile
        if profile.comfort:
            return "palliative"
        if profile.mrd:
            return "mrd"
        if profile.post_hct:
            return "post_hct"
        if self.intensive_candidate() and not self.intensive_held_back():
            return "intensive"
        return "low_intensity"

    def intensive_candidate(self) -> bool:
        """Fit, curative intent, first salvage: the profile DT20 Fig 2 treats with cytotoxic chemotherapy."""
        profile = self.profile
        return profile.fit and profile.curative and not profile.pif and not profile.multiple_relapses

    def intensive_held_back(self) -> bool:
        """Reasons the articles give to prefer HMA/LDAC + venetoclax even so: age [DT20 Conclusions], no
        transplant plan [FRC25], performance status in conflict with 'fit' [FRC25 General Approach]."""
        profile = self.profile
        return profile.older or profile.candidate is False or profile.ecog_conflict

    def lane_palliative(self) -> None:
        self.set(("hydroxyurea", "bsc"), PREFERRED, "R-GOAL-01", priority=10)
        self.set("ldac", ALTERNATIVE, "R-GOAL-01", priority=20)

    def lane_intensive(self) -> None:
        profile = self.profile
        self.set(("flag-ida", "mec"), PREFERRED, "R-IC-01", priority=20)
        self.set("flag-ida-ven", ALTERNATIVE, "R-IC-02", priority=15)
        self.set("hidac", ALTERNATIVE, "R-IC-04", priority=30)
        self.set(("clag-m", "gclac"), CONSIDER, "R-IC-05", priority=60)
        self.set(VEN_LOW, ALTERNATIVE, "R-IC-06", priority=40)
        self.set("hma", CONSIDER, "R-VEN-04", priority=70)
        self.set("ldac", NOT_RECOMMENDED, "R-IC-08")
        self.set("hydroxyurea", CONSIDER, "R-CYTO-02", priority=80)
        self.set("bsc", CONSIDER, "R-GEN-02", priority=90)
        if profile.venetoclax_sensitive and not profile.tp53 and not profile.suppressor_mutations:
            self.lift("flag-ida-ven", PREFERRED, "R-IC-03", priority=10)
            self.cap(("flag-ida", "mec"), ALTERNATIVE, "R-IC-03")
        if profile.early and profile.adverse:
            self.early_adverse()
        elif profile.early:
            self.note(("flag-ida", "mec", "flag-ida-ven"), "R-EARLY-02",
                      months=f"{self.assessment.cr1_duration_months:g}")
        if profile.candidate is None:
            self.lift("aza-ven", PREFERRED, "R-IC-07", priority=18)
        if profile.infection:
            self.cap(INTENSIVE, ALTERNATIVE, "R-INF-01")
            self.lift("aza-ven", PREFERRED, "R-INF-01", priority=12)

    def early_adverse(self) -> None:
        """DT20 and FRC25 differ here: attach both views, and let the plan decide which leads."""
        months = f"{self.assessment.cr1_duration_months:g}"
        both = ("flag-ida", "mec", "flag-ida-ven") + VEN_LOW
        self.view(both, "R-EARLY-01", months=months)
        self.view(both, "R-EARLY-03")
        if self.profile.urgent and self.profile.candidate is True:
            # FRC25: rapid cytoreduction with a clear plan for HCT → IC ± venetoclax leads.
            self.lift("flag-ida-ven", PREFERRED, "R-EARLY-03", priority=14)
            return
        # DT20 Fig 2: an inhibitor if a usable one matches, else HMA/LDAC + venetoclax, rather than IC.
        self.cap(INTENSIVE, ALTERNATIVE, "R-EARLY-01", months=months)
        if not self.usable_inhibitor():
            self.lift("aza-ven", PREFERRED, "R-EARLY-01", priority=10, months=months)
            self.lift(("dec-ven", "ldac-ven"), ALTERNATIVE, "R-EARLY-01", months=months)

    def mrd_to_transplant(self) -> bool:
        """MRD relapse in an untransplanted HCT candidate with curative goals: HCT is the preferred strategy
        [FRC25 Conclusion: 'referred for HSCT at the earliest opportunity']."""
        profile = self.profile
        return (profile.mrd and not profile.post_hct and profile.candidate is True and profile.curative
                and not profile.comfort)

    def usable_inhibitor(self) -> bool:
        """A matching targeted inhibitor that is available here and not previously given."""
        prior = self.workup.prior_therapy
        profile = self.profile
        candidates = []
        if profile.flt3:
            candidates.append(("gilteritinib", prior.gilteritinib))
        if profile.idh1:
            candidates.append(("ivosidenib", prior.idh_inhibitor))
        if profile.idh2:
            candidates.append(("enasidenib", prior.idh_inhibitor))
        if profile.npm1 or profile.kmt2a:
            candidates.append(("revumenib", prior.menin_inhibitor))
        return any(self.usable(oid, exposed) for oid, exposed in candidates)

    def lane_low_intensity(self) -> None:
        profile = self.profile
        self.set("aza-ven", PREFERRED, "R-LI-01", priority=20)
        self.set("dec-ven", PREFERRED, "R-LI-01", priority=21)
        self.set("ldac-ven", PREFERRED, "R-LI-01", priority=22)
        self.set("hma", CONSIDER, "R-VEN-04", priority=50)
        self.set("ldac", CONSIDER, "R-CYTO-03", priority=55)
        self.set("hydroxyurea", CONSIDER, "R-CYTO-03", priority=60)
        self.set("bsc", ALTERNATIVE, "R-GEN-03", priority=90)
        self.set(INTENSIVE, CONSIDER, "R-LI-02")
        if profile.pif:
            self.note(VEN_LOW, "R-PIF-01")
            self.cap(INTENSIVE, CONSIDER, "R-PIF-02")
        if profile.multiple_relapses:
            self.note(VEN_LOW, "R-MULT-01")
            self.cap(INTENSIVE, CONSIDER, "R-MULT-01")
        if profile.fit and not profile.curative:
            self.cap(INTENSIVE, CONSIDER, "R-GOAL-03")
        if self.intensive_candidate():
            self.held_back()

    def held_back(self) -> None:
        """Fit and curative, but older, not a transplant candidate, or ECOG in conflict: HMA/LDAC + venetoclax
        leads; intensive salvage stays an alternative (the clinician's judgement of fitness), except when the
        ECOG conflicts with that judgement."""
        profile, params = self.profile, self.kb.parameters
        main = ("flag-ida", "mec", "flag-ida-ven")
        if profile.older:
            self.note(VEN_LOW, "R-AGE-01", age=profile.age, limit=params.older_age_years)
            self.lift(main, ALTERNATIVE, "R-AGE-01", age=profile.age, limit=params.older_age_years)
        if profile.candidate is False:
            self.note(VEN_LOW, "R-ALLO-06")
            self.lift(main, ALTERNATIVE, "R-ALLO-06")
        if profile.ecog_conflict:
            self.note(VEN_LOW, "R-FIT-02", ecog=profile.ecog, limit=params.ecog_intensive_conflict_min)
            self.cap(INTENSIVE, CONSIDER, "R-FIT-02", ecog=profile.ecog, limit=params.ecog_intensive_conflict_min)

    def lane_post_hct(self) -> None:
        profile = self.profile
        self.set(("hma", "dli"), ALTERNATIVE, "R-HCT-02", priority=30)
        self.set(("aza-ven", "dec-ven"), ALTERNATIVE, "R-HCT-05", priority=35)
        self.set("ldac-ven", CONSIDER, "R-HCT-05", priority=45)
        self.set("second-hct", CONSIDER, "R-HCT-03", priority=60)
        self.set(INTENSIVE, CONSIDER, "R-HCT-06")
        self.set("ldac", CONSIDER, "R-CYTO-03", priority=70)
        self.set("hydroxyurea", CONSIDER, "R-CYTO-03", priority=75)
        self.set("bsc", CONSIDER if profile.fit else ALTERNATIVE, "R-GEN-03", priority=90)
        if not profile.any_target and not profile.trial_available:
            self.lift(("hma", "dli"), PREFERRED, "R-HCT-07", priority=20)
        if not profile.fit or profile.candidate is False:
            self.cap("second-hct", NOT_RECOMMENDED, "R-HCT-08")

    def lane_mrd(self) -> None:
        profile = self.profile
        self.set(VEN_LOW + ("hma",), CONSIDER, "R-MRD-01", priority=40)
        self.set(INTENSIVE, CONSIDER, "R-MRD-01", priority=50)
        self.set(("ldac", "hydroxyurea"), NOT_RECOMMENDED, "R-MRD-02")
        self.set("bsc", CONSIDER, "R-GEN-02", priority=90)
        if profile.post_hct:
            self.set("dli", CONSIDER, "R-MRD-03", priority=20)
            self.set("second-hct", CONSIDER, "R-HCT-03", priority=60)

    # -- strategies ------------------------------------------------------------------------------
    def strategies(self) -> None:
        profile = self.profile
        # Clinical trial [FRC25 "General Approach"; DT20 post-HCT]
        prioritised = []
        if profile.tp53:
            prioritised.append("TP53-mutated disease")
        if profile.adverse and not profile.tp53:
            prioritised.append("adverse-risk disease")
        if self.workup.prior_therapy.venetoclax_failure:
            prioritised.append("failure of a venetoclax regimen")
        if profile.post_hct and not profile.any_target:
            prioritised.append("relapse after allogeneic HCT without a targetable mutation")
        if profile.comfort:
            self.set("clinical-trial", NOT_RECOMMENDED, "R-GOAL-02")
        elif profile.trial_available:
            self.set("clinical-trial", ALTERNATIVE, "R-TRIAL-01", priority=5)
            if prioritised:
                self.lift("clinical-trial", PREFERRED, "R-TRIAL-02", priority=1, why="; ".join(prioritised))
        else:
            self.set("clinical-trial", CONSIDER, "R-TRIAL-03", priority=5)
            if prioritised:
                self.note("clinical-trial", "R-TRIAL-02", why="; ".join(prioritised))

        # First allogeneic HCT [both articles]
        if profile.comfort:
            self.set("allo-hct", NOT_RECOMMENDED, "R-GOAL-02")
        elif profile.post_hct:
            self.set("allo-hct", NOT_RECOMMENDED, "R-HCT-09")
        elif profile.candidate is False:
            self.set("allo-hct", NOT_RECOMMENDED, "R-ALLO-03")
        elif profile.candidate is None:
            self.set("allo-hct", CONSIDER, "R-ALLO-02", priority=95)
        elif profile.curative:
            self.set("allo-hct", PREFERRED, "R-ALLO-01", priority=95)
            if self.mrd_to_transplant():
                self.set("allo-hct", PREFERRED, "R-MRD-04", priority=1)
            if profile.pif:
                self.note("allo-hct", "R-ALLO-04")
        else:
            self.set("allo-hct", CONSIDER, "R-ALLO-05", priority=95)
        if self.workup.genetics.flt3_itd and not profile.comfort and profile.candidate is not False:
            self.note("allo-hct", "R-FLT3-04")

        if not profile.post_hct:
            self.set(("dli", "second-hct"), NOT_RECOMMENDED, "R-HCT-10")
        self.set("venetoclax-mono", NOT_RECOMMENDED, "R-VEN-03")

    # -- phase 2: targets ------------------------------------------------------------------------
    def targets(self) -> None:
        profile, prior, lane = self.profile, self.workup.prior_therapy, self.lane
        if profile.comfort:
            return
        fit_curative_first = lane == "intensive" and not (profile.early and profile.adverse)

        if profile.flt3:
            if prior.gilteritinib:
                self.set("gilteritinib", CONSIDER, "R-FLT3-02", priority=8)
            else:
                self.set("gilteritinib", PREFERRED, "R-FLT3-01", priority=1)
                if lane == "intensive":
                    if profile.urgent:
                        self.note(("flag-ida", "mec", "flag-ida-ven"), "R-FLT3-03")
                    else:
                        self.cap(INTENSIVE, ALTERNATIVE, "R-FLT3-05")
                elif lane in ("low_intensity", "post_hct"):
                    self.cap(VEN_LOW, ALTERNATIVE, "R-TGT-02", inhibitor="gilteritinib")
            self.set("gilteritinib-ven-aza", CONSIDER, "R-FLT3-06", priority=70)
            if self.workup.genetics.flt3_itd:
                self.set("quizartinib", CONSIDER, "R-FLT3-07", priority=75)

        for gene, inhibitors, prior_flag in (
            ("IDH1", ("ivosidenib", "olutasidenib"), prior.idh_inhibitor),
            ("IDH2", ("enasidenib",), prior.idh_inhibitor),
        ):
            if not (profile.idh1 if gene == "IDH1" else profile.idh2):
                continue
            first = inhibitors[0]
            if prior_flag:
                self.set(inhibitors, CONSIDER, "R-IDH-06", gene=gene)
            elif fit_curative_first:
                self.set(inhibitors, ALTERNATIVE, "R-IDH-04", priority=25, gene=gene)
            else:
                self.set(first, PREFERRED, "R-IDH-01", priority=2, gene=gene)
                if len(inhibitors) > 1:
                    self.set(inhibitors[1], ALTERNATIVE, "R-IDH-02", priority=3)
                if self.usable(first, prior_flag) and lane in ("low_intensity", "post_hct"):
                    self.cap(VEN_LOW, ALTERNATIVE, "R-TGT-02", inhibitor=self.kb.regimens[first].name)
                    self.note(VEN_LOW, "R-IDH-05")
            if not self.usable(first, prior_flag) and not fit_curative_first:
                # Fallback where the inhibitor cannot be had [DT20 Patient 3; FRC25].
                if not prior.venetoclax and lane != "mrd":
                    self.lift("aza-ven", PREFERRED, "R-IDH-03", priority=10, gene=gene)
                    self.note(("dec-ven", "ldac-ven"), "R-IDH-03", gene=gene)
            if gene == "IDH2":
                self.view("enasidenib", "R-IDH-07")
                self.view("enasidenib", "R-IDH-08")

        if profile.npm1 or profile.kmt2a:
            lesions = (("NPM1 mutation", profile.npm1), ("KMT2A rearrangement", profile.kmt2a))
            lesion = " and ".join(words for words, present in lesions if present)
            menin = ["revumenib"] + (["ziftomenib"] if profile.npm1 else [])
            if prior.menin_inhibitor:
                self.set(menin, CONSIDER, "R-MENIN-03")
            elif fit_curative_first:
                self.set(menin, ALTERNATIVE, "R-MENIN-02", priority=26, lesion=lesion)
            else:
                self.set(menin, PREFERRED, "R-MENIN-01", priority=23, lesion=lesion)
            if not profile.npm1:
                self.set("ziftomenib", NOT_RECOMMENDED, "R-MENIN-04")
            self.set("bleximenib", CONSIDER, "R-MENIN-05", priority=72)
            usable = self.usable("revumenib", prior.menin_inhibitor)
            if profile.npm1:
                # The articles differ: DT20's "appropriate inhibitor" vs FRC25's venetoclax-sensitive biology.
                # Both stay preferred (HMA/LDAC + venetoclax ranked first while venetoclax-naive), both views shown.
                self.view(menin + list(VEN_LOW), "R-MENIN-06")
                self.view(menin + list(VEN_LOW) + ["flag-ida-ven"], "R-NPM1-01")
            elif usable and lane in ("low_intensity", "post_hct"):
                # KMT2A-r is not venetoclax-sensitive biology (FRC25): the menin inhibitor leads [DT20 Conclusions].
                self.cap(VEN_LOW, ALTERNATIVE, "R-TGT-02", inhibitor=self.kb.regimens["revumenib"].name)

        if profile.cd33 is True:
            self.set("gemtuzumab", CONSIDER, "R-CD33-01", priority=65)
            if profile.post_hct and (profile.months_since_hct or 0) < self.kb.parameters.gemtuzumab_vod_window_months:
                self.cap("gemtuzumab", NOT_RECOMMENDED, "R-CD33-02",
                         window=f"{self.kb.parameters.gemtuzumab_vod_window_months:g}")
            elif profile.post_hct:
                self.note("gemtuzumab", "R-CD33-03")

        if profile.post_hct and profile.any_target:
            self.note(self.present_target_options(), "R-HCT-01")

        if not profile.retested:
            for oid in self.present_target_options():
                self.drafts[oid].provisional = True
                self.note(oid, "R-GEN-01")

    def present_target_options(self) -> list[str]:
        return [oid for oid, present in self.has_target.items() if present]

    # -- phase 3: modifiers ----------------------------------------------------------------------
    def modifiers(self) -> None:
        profile = self.profile
        if profile.tp53 or profile.suppressor_mutations:
            genes = ", ".join((["TP53"] if profile.tp53 else []) + list(profile.suppressor_mutations))
            self.cap("flag-ida-ven", ALTERNATIVE, "R-TP53-02", genes=genes)
        if profile.tp53 and not profile.comfort:
            self.note(("flag-ida", "mec", "flag-ida-ven") + VEN_LOW, "R-TP53-01")
        if profile.urgent and not profile.comfort:
            self.lift("hydroxyurea", ALTERNATIVE, "R-CYTO-01", priority=6)

    # -- phase 4: caps ---------------------------------------------------------------------------
    def caps(self) -> None:
        profile, prior = self.profile, self.workup.prior_therapy
        g = self.workup.genetics
        for oid, (needs, words) in TARGET_OPTIONS.items():
            awaited = [gene for gene in needs if gene in profile.pending]
            if not self.has_target[oid] and awaited and not profile.comfort:
                # A pending target keeps its option visible as provisional, never absent [clinical-spec v2].
                self.set(oid, CONSIDER, "R-GEN-04", genes=" and ".join(GENE_WORDS[x] for x in awaited), target=words)
                self.drafts[oid].provisional = True
            elif not self.has_target[oid]:
                if oid == "gemtuzumab" and g.cd33_positive is None:
                    self.set(oid, NOT_RECOMMENDED, "R-CD33-04")
                else:
                    retest = "" if profile.retested else " (genetics not re-tested at relapse: re-test first)"
                    self.set(oid, NOT_RECOMMENDED, "R-TGT-00", target=words, retest=retest)
        if profile.comfort:
            others = [o for o in OPTION_IDS if o not in PALLIATIVE_KEEP]
            self.cap(others, NOT_RECOMMENDED, "R-GOAL-02")
            return
        if not profile.fit:
            self.cap(INTENSIVE, NOT_RECOMMENDED, "R-FIT-01")
        if profile.infection_uncontrolled:
            self.cap(INTENSIVE, NOT_RECOMMENDED, "R-INF-02")
        if prior.venetoclax:
            ven = [o for o in self.venetoclax_regimens if o != "venetoclax-mono"]
            self.cap(ven, CONSIDER, "R-VEN-01")
            if prior.venetoclax_failure:
                self.lift("hma", ALTERNATIVE, "R-VEN-02", priority=45)
        if profile.mrd:
            keep = ("clinical-trial", "bsc") + (("allo-hct",) if self.mrd_to_transplant() else ())
            self.cap([o for o in OPTION_IDS if o not in keep], CONSIDER, "R-MRD-01")
        if profile.crcl is not None and fludarabine_band(self.kb.parameters, profile.crcl).factor == 0:
            self.cap(FLUDARABINE, NOT_RECOMMENDED, "R-RENAL-01", crcl=f"{profile.crcl:.0f}")
        self.organ_caps()
        for oid in OPTION_IDS:
            availability = self.kb.regimens[oid].availability[profile.jurisdiction]
            if availability.status == "restricted":
                self.cap(oid, CONSIDER, "R-AVAIL-01", jurisdiction=profile.jurisdiction, note=availability.note or "")
            elif availability.status == "unavailable":
                self.cap(oid, NOT_RECOMMENDED, "R-AVAIL-02", jurisdiction=profile.jurisdiction,
                         note=availability.note or "")

    def organ_caps(self) -> None:
        """Heart, liver and kidneys change tiers, not only text [ESC 2022 cardio-oncology; drug labels]."""
        profile, params, regimens = self.profile, self.kb.parameters, self.kb.regimens
        if profile.lvef is not None and profile.lvef < params.lvef_anthracycline_min_pct:
            for oid, regimen in regimens.items():
                if has_anthracycline(regimen, params):
                    agents = " and ".join(sorted(anthracyclines_in(regimen, params))) or "its anthracycline"
                    self.cap(oid, CONSIDER, "R-CARD-01", lvef=profile.lvef,
                             limit=params.lvef_anthracycline_min_pct, drugs=agents)
        for drug, sentence in withheld_drugs(kb=self.kb, workup=self.workup, assessment=self.assessment).items():
            if drug == "fludarabine":
                continue  # R-RENAL-01, above
            for oid, regimen in regimens.items():
                if drug in regimen_drugs(regimen):
                    self.cap(oid, NOT_RECOMMENDED, "R-ORGAN-01", drug=drug, sentence=sentence)
        if profile.crcl is not None and profile.crcl < params.renal_severe_crcl_ml_min:
            high_dose = [oid for oid, regimen in regimens.items() if has_high_dose_cytarabine(regimen, params)]
            self.cap(high_dose, ALTERNATIVE, "R-RENAL-02", crcl=f"{profile.crcl:.0f}",
                     limit=f"{params.renal_severe_crcl_ml_min:g}")

    # -- actions ---------------------------------------------------------------------------------
    def plan_actions(self) -> None:
        profile = self.profile
        if not profile.retested:
            self.action("retest-genetics", "high", "R-ACT-01")
        if profile.pending:
            self.action("retest-genetics", "high", "R-ACT-08",
                        genes=", ".join(GENE_WORDS[gene] for gene in profile.pending))
        # An action never contradicts a tier: "refer now" only when transplant is preferred or an alternative.
        if not profile.comfort and profile.candidate is not False and (profile.curative or profile.candidate is True):
            if profile.post_hct:
                self.action("allo-hct-referral", "high", "R-ACT-03")
            elif profile.candidate is None:
                self.action("allo-hct-referral", "high", "R-ACT-06")
            elif self.drafts["allo-hct"].tier in (PREFERRED, ALTERNATIVE):
                self.action("allo-hct-referral", "high", "R-ACT-02")
        if profile.urgent:
            self.action("urgent-cytoreduction", "high", "R-ACT-05")
        elif profile.wbc is not None and profile.wbc >= self.kb.parameters.venetoclax_wbc_max and any(
            self.drafts[o].tier in (PREFERRED, ALTERNATIVE) for o in self.venetoclax_regimens
        ):
            self.action("urgent-cytoreduction", "medium", "R-ACT-07", wbc=f"{profile.wbc:g}",
                        limit=f"{self.kb.parameters.venetoclax_wbc_max:g}")
        high = profile.comfort or not profile.fit or profile.pif or profile.multiple_relapses
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
        for draft in self.drafts.values():
            if not draft.reasons:  # a defect in the rules, never shown silently
                raise RuntimeError(f"option {draft.id} has no reason")
        return self


def selection_run(*, workup: Workup, assessment: Assessment, kb: KnowledgeBase) -> Selection:
    return Selection(workup=workup, assessment=assessment, kb=kb).run()
