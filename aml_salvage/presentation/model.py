"""What every view of a consult shows, built once by one pure function (``consult_view``): the live panel,
the saved consult page and the PDF read it; templates only loop over it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from ..domain.knowledge import KnowledgeBase, Parameters
from ..domain.result import TIERS, ConsultResult, OptionResult, ReferenceOut
from ..domain.workup import Workup
from . import labels
from .doses import DoseTable, dose_table
from .glance import glance_build
from .workup import WorkupSection, workup_sections


@dataclass(frozen=True)
class ConsultMeta:
    """Who, when and what was chosen: the header and footer facts of a consult (page and PDF)."""

    institution: str
    generated_at: str  # ISO 8601 date and time, local time zone
    patient_identifier: str | None = None  # MRN or initials; never a name
    age_years: int | None = None
    sex: str | None = None
    clinician: str | None = None  # the signing clinician's full name
    consult_id: int | None = None
    revision_of: int | None = None
    chosen_option_id: str | None = None
    chosen_option_name: str | None = None
    chosen_option_tier: str | None = None
    override_reason: str | None = None  # why a non-preferred option was chosen
    notes: str | None = None
    printed_at: str | None = None  # ISO 8601: when this copy was printed (generated_at is the consult's time)
    draft: bool = False  # printed from the workspace, not saved
    superseded_by: int | None = None  # a later consult revises this one
    superseded_on: str | None = None  # ISO 8601 date and time of that revision


@dataclass(frozen=True)
class OptionView:
    option: OptionResult

    @cached_property
    def doses(self) -> DoseTable | None:
        """The patient's dose table; None when the option is not dosed. Built when a view shows it (the live
        panel shows only the preferred options')."""
        return dose_table(self.option)

    def cited_ids(self, *, reasons: bool = True, evidence: bool = True, warnings: bool = True,
                  availability: bool = True) -> list[str]:
        """The reference ids this option cites in the parts of it a view shows."""
        o = self.option
        ids = [s for rule in o.rules for s in rule.sources] if reasons else []
        if evidence:
            ids += [ev.reference for ev in o.evidence]
        if availability and self.shows_availability:
            ids += o.availability_detail.sources
        if warnings:
            ids += [s for w in o.warning_details for s in w.sources]
        return ids

    @property
    def shows_availability(self) -> bool:
        """The availability detail (note, as-of date, sources) is shown when there is a note or a restriction."""
        av = self.option.availability_detail
        return bool(av.note) or av.status != "available"


@dataclass(frozen=True)
class TierGroup:
    tier: str
    label: str
    description: str
    options: list[OptionView]


@dataclass(frozen=True)
class Thresholds:
    """Clinical cut-offs the page names beside an assessment, from the knowledge base's parameters."""

    early_relapse_months: float
    cr1_adverse_months: float


@dataclass(frozen=True)
class ConsultView:
    result: ConsultResult
    tier_groups: list[TierGroup]
    reference_numbers: dict[str, int]
    thresholds: Thresholds | None  # None: the knowledge base the result was computed with is not loaded
    workup: list[WorkupSection] = field(default_factory=list)

    @property
    def options(self) -> list[OptionView]:
        return [o for group in self.tier_groups for o in group.options]

    def option(self, option_id: str | None) -> OptionView | None:
        return next((o for o in self.options if o.option.id == option_id), None)

    @property
    def references(self) -> list[ReferenceOut]:
        return self.result.references

    def live_panel_references(self) -> list[ReferenceOut]:
        """What the live panel cites: the actions, every option's reasons, the evidence lines of the options
        it does not set aside, and the preferred options' warnings (the rest loads with an option's detail)."""
        ids = [s for a in self.result.actions for s in a.sources]
        for o in self.options:
            tier = o.option.tier
            ids += o.cited_ids(evidence=tier != "not_recommended", warnings=tier == "preferred", availability=False)
        return references_cited(self.result, ids)

    def option_detail_references(self, option: OptionView) -> list[ReferenceOut]:
        """What an option's detail (loaded on the live panel) cites."""
        shown = option.cited_ids(reasons=False, warnings=option.option.tier != "preferred")
        return references_cited(self.result, shown)


def references_cited(result: ConsultResult, source_ids: Iterable[str]) -> list[ReferenceOut]:
    """The result's references among these ids, in the result's numbering (so [n] is the same on every view)."""
    cited = set(source_ids)
    return [r for r in result.references if r.id in cited]


def result_parameters(result: ConsultResult, kb: KnowledgeBase) -> Parameters | None:
    """The parameters the result was computed with, when that knowledge base is the one loaded: a consult
    saved under an earlier version is shown as saved, never with a later version's cut-offs."""
    return kb.parameters if kb.version == result.kb_version else None


def consult_view(*, result: ConsultResult, parameters: Parameters | None,
                 workup: Workup | None = None) -> ConsultView:
    """The one presentation model of a consult result (and its workup, for the saved page and the PDF).
    parameters: the knowledge base's, for the cut-offs named beside the assessment (``result_parameters``)."""
    groups = [
        TierGroup(
            tier=tier,
            label=labels.TIER[tier],
            description=labels.TIER_DESCRIPTION[tier],
            options=[OptionView(option=o) for o in result.options if o.tier == tier],
        )
        for tier in TIERS
    ]
    return ConsultView(
        result=result,
        tier_groups=groups,
        reference_numbers={r.id: r.number for r in result.references},
        thresholds=Thresholds(early_relapse_months=parameters.early_relapse_months,
                              cr1_adverse_months=parameters.cr1_adverse_months) if parameters else None,
        workup=workup_sections(workup) if workup is not None else [],
    )


def view_context(view: ConsultView, *, chosen_id: str | None = None, glance: bool = True) -> dict:
    """The model as a template context: the view itself, and the names the shared components read
    (chosen_id marks the chosen option in the at-a-glance comparison; glance=False: the live panel, which
    loads the comparison when it is opened)."""
    return {
        "view": view,
        "result": view.result,
        "assessment": view.result.assessment,
        "actions": view.result.actions,
        "kb_version": view.result.kb_version,
        "tier_groups": view.tier_groups,
        "thresholds": view.thresholds,
        "reference_numbers": view.reference_numbers,
        "references": view.references,
        "glance": glance_build(view.result.options, chosen_id=chosen_id) if glance else None,
    }
