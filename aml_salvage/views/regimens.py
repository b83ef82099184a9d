"""The regimen library: every regimen and strategy of the knowledge base, as the basis a hematologist checks.

Read from ``services.knowledge_get()`` (the validated YAML), never from the ORM. Evidence is rendered by
the same ``components/evidence_table.html`` as the consult result: the records carry the same fields.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import services
from ..domain.knowledge import JURISDICTIONS, KnowledgeBase, Regimen
from ..presentation import labels, regimens_by_kind


def regimen_reference_ids(kb: KnowledgeBase, regimen: Regimen) -> list[str]:
    """Every reference the regimen page cites, in order of first citation (schedules, evidence, ...)."""
    ids: list[str] = []
    for sched in regimen.schedules:
        ids.extend(sched.source)
    ids.extend(ev.reference for ev in regimen.evidence)
    for jur in JURISDICTIONS:
        ids.extend(regimen.availability[jur].source)
    for wid in regimen.warnings:
        ids.extend(kb.warnings[wid].source)
    ids.extend(regimen.references)
    return list(dict.fromkeys(i for i in ids if i in kb.references))


@require_GET
def regimen_list(request: HttpRequest) -> HttpResponse:
    kb = services.knowledge_get()
    groups = [
        {**group, "rows": [
            {"regimen": r, "availability": [r.availability[j] for j in JURISDICTIONS]} for r in group["regimens"]
        ]}
        for group in regimens_by_kind(kb)
    ]
    return render(request, "regimens/list.html", {
        "groups": groups, "kb": kb, "count": len(kb.regimens),
        "jurisdictions": [labels.JURISDICTION.get(j, j) for j in JURISDICTIONS],
    })


@require_GET
def regimen_detail(request: HttpRequest, regimen_id: str) -> HttpResponse:
    kb = services.knowledge_get()
    regimen = kb.regimens.get(regimen_id)
    if regimen is None:
        raise Http404("no such regimen")
    ref_ids = regimen_reference_ids(kb, regimen)
    numbers = {rid: n for n, rid in enumerate(ref_ids, start=1)}
    return render(request, "regimens/detail.html", {
        "regimen": regimen,
        "option": regimen,  # the shared evidence component reads `option.evidence` / `option.evidence_note`
        "kind_label": labels.OPTION_KIND[regimen.kind],
        "availability": [
            {"jurisdiction": jur, "label": labels.JURISDICTION.get(jur, jur), "record": regimen.availability[jur]}
            for jur in JURISDICTIONS
        ],
        "warnings": [kb.warnings[w] for w in regimen.warnings],
        "reference_numbers": numbers,
        "references": [(numbers[rid], kb.references[rid]) for rid in ref_ids],
        "kb": kb,
    })
