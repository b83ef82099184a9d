"""The regimen library's grouping, shared by the library page and the admin's knowledge-base view."""

from __future__ import annotations

from ..domain.knowledge import KnowledgeBase
from . import labels


def regimens_by_kind(kb: KnowledgeBase) -> list[dict]:
    """Every regimen and strategy, grouped by kind in the vocabulary's order, by name within a kind."""
    groups = []
    for kind, label in labels.OPTION_KIND.items():
        regimens = sorted((r for r in kb.regimens.values() if r.kind == kind), key=lambda r: r.name.lower())
        if regimens:
            groups.append({"kind": kind, "label": label, "regimens": regimens})
    return groups
