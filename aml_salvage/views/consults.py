"""Saved consults: save, list (team, newest first), read-only snapshot, revise, print (PDF).

Every lookup goes through ``consult_visible_to``: another team's consult id answers 404, never 403, so
its existence is not disclosed (the refusal is recorded in the audit trail). Opening a consult, listing
consults and searching for an identifier are recorded in the audit trail here; saving, revising
and printing are recorded by the services that do them (``consults.consult_create``, ``consult_print``).

No patient data in URLs: a consult appears by id only, and the identifier search is a POST whose query
is kept in the session (URLs end up in browser history, proxy and server logs).
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import consults, services
from ..audit import audit_denied, audit_record
from ..forms import ConsultSaveForm, WorkupForm, form_data_from_workup, option_choices
from ..presentation import consult_view, view_context
from .workspace import KB_STAMP_FIELD, save_form_carrying, workspace_render

CONSULTS_PER_PAGE = 25
SEARCH_SESSION_KEY = "consult_search"
CONSULT_ID = re.compile(r"[1-9][0-9]{0,17}")
SEARCH_MAX = 64


def _visible_or_404(request: HttpRequest, pk: int):
    try:
        return get_object_or_404(consults.consult_visible_to(user=request.user), pk=pk)
    except Http404:
        audit_denied(request=request, consult_id=pk)  # 404 answered either way; the trail says which
        raise


@require_POST
def consult_create(request: HttpRequest) -> HttpResponse:
    form = WorkupForm(request.POST)
    save_form = ConsultSaveForm(request.POST, option_choices=option_choices())
    revising = None
    revision_id = request.POST.get("revision_of") or None
    if revision_id:
        # ASCII digits only, within a 64-bit id: str.isdigit() also accepts '²' and '١٢٣'.
        if not CONSULT_ID.fullmatch(revision_id):
            return HttpResponse(status=400)
        revising = _visible_or_404(request, int(revision_id))
    action_url = reverse("consult_revise", args=[revising.pk]) if revising else reverse("workspace")

    workup = form.parse_workup()
    if workup is None:
        save_form.is_valid()
        return workspace_render(request, form=form, save_form=save_form, action_url=action_url,
                                revising=revising, save_failed=True)
    result = services.consult_evaluate(workup=workup)
    if save_form.is_valid():
        data = save_form.cleaned_data
        try:
            consult = consults.consult_create(
                author=request.user, workup=workup, result=result,
                chosen_option_id=data["chosen_option_id"], override_reason=data["override_reason"],
                notes=data["notes"], patient_identifier=data["patient_identifier"], revision_of=revising,
                kb_stamp_seen=request.POST.get(KB_STAMP_FIELD) or None,
            )
        except consults.ConsultInvalid as exc:
            for field, errors in exc.errors.items():
                for error in errors:
                    save_form.add_error(field or None, error)
        else:
            messages.success(request, f"Consult {consult.pk} saved.")
            return redirect(consult)
    return workspace_render(request, form=form, save_form=save_form, action_url=action_url, result=result,
                            revising=revising, evaluate=False, save_failed=True)


@require_http_methods(["GET", "POST"])
def consult_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        # Post/redirect/get: the identifier searched for stays out of the URL; pages keep the search.
        query = "" if "clear" in request.POST else request.POST.get("q", "")
        # No control characters (PostgreSQL refuses NUL in text); identifiers are short.
        query = "".join(ch for ch in query if ch.isprintable()).strip()[:SEARCH_MAX]
        if query:
            request.session[SEARCH_SESSION_KEY] = query
            # The term is patient data: it goes into the trail (staff-only), never into the URL or the logs.
            audit_record(action="searched", user=request.user, request=request, detail=query)
        else:
            request.session.pop(SEARCH_SESSION_KEY, None)
        return redirect("consult_list")
    query = request.session.get(SEARCH_SESSION_KEY, "")
    found = consults.ConsultListing(user=request.user, query=query)
    page = Paginator(found, CONSULTS_PER_PAGE).get_page(request.GET.get("page"))
    # The list shows patient identifiers: each page shown is recorded, with the search in effect.
    shown = "; ".join(part for part in (f"search {query!r}" if query else "",
                                         f"page {page.number}" if page.number > 1 else "") if part)
    audit_record(action="listed", user=request.user, request=request, detail=shown)
    names = {rid: reg.name for rid, reg in services.knowledge_get().regimens.items()}
    rows = [{"consult": c, "option_name": names.get(c.chosen_option_id, c.chosen_option_id)} for c in page]
    return render(request, "consults/list.html", {"page": page, "rows": rows, "query": query})


@require_GET
def consult_detail(request: HttpRequest, pk: int) -> HttpResponse:
    consult = _visible_or_404(request, pk)
    audit_record(consult=consult, user=request.user, action="viewed")
    result = consults.consult_result(consult=consult)
    view = consult_view(result=result, parameters=consults.consult_parameters(consult=consult),
                        workup=services.workup_parse(data=consult.workup))
    context = view_context(view, chosen_id=consult.chosen_option_id)
    context.update({
        "consult": consult,
        "meta": consults.consult_facts(consult=consult),
        "chosen": next((o for o in result.options if o.id == consult.chosen_option_id), None),
        "chosen_view": view.option(consult.chosen_option_id),
        "superseded_by": consults.consult_superseded_by(consult=consult, user=request.user),
        "revisions": consults.consult_visible_to(user=request.user).filter(revision_of=consult)
        .defer("workup", "result_zstd").order_by("created_at"),
        "current_kb_version": services.knowledge_get().version,
        "chosen_option_id": consult.chosen_option_id,
    })
    return render(request, "consults/detail.html", context)


@require_http_methods(["GET", "POST"])
def consult_revise(request: HttpRequest, pk: int) -> HttpResponse:
    original = _visible_or_404(request, pk)
    action_url = reverse("consult_revise", args=[original.pk])
    if request.method == "POST":
        form = WorkupForm(request.POST)
        save_form = save_form_carrying(request, revision_of=original.pk)
    else:
        audit_record(consult=original, user=request.user, action="viewed")  # the page shows its workup
        # Bound to the saved workup, so the page shows its current result under today's knowledge base.
        form = WorkupForm(data=form_data_from_workup(original.workup))
        # The revision starts from the original's choice and notes: the clinician edits, never retypes them.
        save_form = save_form_carrying(request, revision_of=original.pk,
                                       patient_identifier=original.patient_identifier,
                                       chosen_option_id=original.chosen_option_id, notes=original.notes,
                                       override_reason=original.override_reason)
    return workspace_render(request, form=form, save_form=save_form, action_url=action_url, revising=original)


@require_GET
def consult_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable summary of a saved consult (``?format=html`` shows the HTML it is made from).
    Same visibility as the consult; the service records every print."""
    consult = _visible_or_404(request, pk)
    as_html = request.GET.get("format") == "html"
    body = consults.consult_print(consult=consult, user=request.user, as_html=as_html)
    if as_html:
        return HttpResponse(body, content_type="text/html; charset=utf-8")
    response = HttpResponse(body, content_type="application/pdf")
    # The file name carries the consult number only: never the patient identifier.
    response["Content-Disposition"] = f'inline; filename="aml-salvage-consult-{consult.pk}.pdf"'
    return response
