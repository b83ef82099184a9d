"""The monitoring plan for one option, from the knowledge base (fixtures/knowledge/monitoring.yaml): the
items of each category that apply to the regimen's drugs or to the regimen itself, and the categories for
which the knowledge base states nothing (printed as such, never left blank)."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.knowledge import MONITORING_CATEGORIES, KnowledgeBase, MonitoringRecord
from ..domain.regimen_facts import regimen_drugs
from . import labels


@dataclass(frozen=True)
class MonitoringGroup:
    category: str
    label: str
    items: list[MonitoringRecord]


@dataclass(frozen=True)
class MonitoringPlan:
    groups: list[MonitoringGroup]
    not_stated: list[str]  # labels of the categories with no item for this option

    @property
    def source_ids(self) -> list[str]:
        return [s for g in self.groups for item in g.items for s in item.source]


def monitoring_plan(*, option_id: str, kb: KnowledgeBase) -> MonitoringPlan:
    regimen = kb.regimens.get(option_id)
    drugs = regimen_drugs(regimen) if regimen is not None else set()
    applies = [m for m in kb.monitoring.values() if option_id in m.regimens or drugs & set(m.drugs)]
    groups = [MonitoringGroup(category=c, label=labels.MONITORING_CATEGORY[c],
                              items=[m for m in applies if m.category == c])
              for c in MONITORING_CATEGORIES]
    return MonitoringPlan(groups=[g for g in groups if g.items],
                          not_stated=[g.label for g in groups if not g.items and g.category != "organ_labs"])
