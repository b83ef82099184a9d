"""The consult workspace: the workup form and the live result panel.

A plain GET or POST renders the whole page (works without JavaScript). An HTMX request (a field changed)
gets only ``live/update.html`` (Jinja2): the result panel plus out-of-band error containers, never the
re-rendered inputs, so nothing being typed is replaced. When the page holds the frame of the new result (the
same options in the same tiers: live_cards.frame_key), it gets ``live/pieces.html`` instead: only the parts
that may have changed, each out of band, and no swap of the panel itself.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods
from django_htmx.http import reswap

from .. import services
from ..cds_hooks.prefill import MSG_EXPIRED, QUERY_PARAMETER, prefill_load
from ..consults import team_for, teams_of
from ..domain.result import ConsultResult
from ..domain.workup import Workup
from ..forms import MEASUREMENTS, SECTIONS, ConsultSaveForm, WorkupForm, option_choices
from ..live_cards import HELD_FIELD, cards_held, frame_key
from ..presentation import consult_view, view_context
from .option_detail import workup_token

# Inputs shown on one row with the field before them (value + unit select).
PAIRED = {value: unit for value, unit, _path in MEASUREMENTS}
SAVE_FIELDS = ("patient_identifier", "chosen_option_id", "override_reason", "notes", "revision_of")
LIVE_UPDATE_TEMPLATE = "live/update.html"  # templates/jinja2/live/
LIVE_PIECES_TEMPLATE = "live/pieces.html"
# The knowledge base of the result shown (services.knowledge_stamp), posted back with a save: a choice made on
# one knowledge base is not stored with a result from another (consults.consult_create).
KB_STAMP_FIELD = "kb_stamp"


def save_form_carrying(request: HttpRequest, **initial) -> ConsultSaveForm:
    """An unbound save form that keeps what was typed in it (no errors: the clinician did not save)."""
    if request.method == "POST":
        initial.update({k: request.POST[k] for k in SAVE_FIELDS if k in request.POST})
    return ConsultSaveForm(initial=initial, option_choices=option_choices())


def _evaluate(form: WorkupForm) -> tuple[Workup | None, ConsultResult | None]:
    if not form.is_bound:
        return None, None
    workup = form.parse_workup()
    return (workup, services.consult_evaluate(workup=workup)) if workup is not None else (None, None)


def _oob_errors(beside: dict[str, list[str]]) -> SafeString:
    """The error containers of the fields in error, out of band. The others are emptied in the browser just
    before the swap (static/js/workspace.js), so a fixed error disappears without sending ~50 empty boxes."""
    return mark_safe("".join(  # every message is escaped
        f'<div id="err-{name}" class="field-error" hx-swap-oob="true">'
        + "".join(f"<p>{escape(message)}</p>" for message in messages) + "</div>\n"
        for name, messages in beside.items() if messages
    ))


def _status_text(form: WorkupForm, result: ConsultResult | None, pending: list, beside: dict) -> str:
    """One sentence for the live region: what changed, for screen-reader users."""
    if result is not None:
        preferred = [o.name for o in result.options if o.tier == "preferred"]
        return "Result updated. Preferred: " + (", ".join(preferred) if preferred else "none") + "."
    if not form.is_bound:
        return ""
    to_fix = sum(1 for msgs in beside.values() if msgs) + len(form.non_field_errors())
    parts = []
    if to_fix:
        parts.append(f"{to_fix} field{'s' if to_fix != 1 else ''} to correct")
    if pending:
        parts.append(f"{len(pending)} still needed")
    return "No result yet: " + ", ".join(parts) + "." if parts else ""


def save_errors(form: WorkupForm, save_form: ConsultSaveForm) -> list[dict]:
    """Every problem that stopped a save, in the order of the page, each naming its field and linking to it."""
    workup_order = [n for s in SECTIONS for name in s.fields for n in (name, PAIRED.get(name)) if n]
    items = []
    for bound_form, order, whole in ((form, workup_order, "Workup"), (save_form, list(save_form.fields), "Save")):
        items += [{"id": "", "label": whole, "messages": [error]} for error in bound_form.non_field_errors()]
        for name in order:
            if bound_form.errors.get(name):
                field = bound_form[name]
                items.append({"id": field.id_for_label or field.auto_id, "label": field.label,
                              "messages": list(bound_form.errors[name])})
    return items


def workspace_render(
    request: HttpRequest,
    *,
    form: WorkupForm,
    action_url: str,
    save_form: ConsultSaveForm | None = None,
    result: ConsultResult | None = None,
    revising=None,
    evaluate: bool = True,
    save_failed: bool = False,
) -> HttpResponse:
    workup = None
    if evaluate:
        workup, result = _evaluate(form)
    beside, pending = form.error_placement(defer_blank=bool(request.htmx))
    context = {
        "form": form,
        "action_url": action_url,
        "result": result,
        "pending": pending,
        "field_errors": list(beside.items()),
        "non_field_errors": form.non_field_errors() if form.is_bound else [],
        "to_correct": [name for name, messages in beside.items() if messages],
        "status_text": _status_text(form, result, pending, beside),
        "live": True,
    }
    view = None
    if result is not None:
        view = consult_view(result=result, parameters=services.knowledge_get().parameters)
        context.update(view_context(view, glance=not request.htmx))
        context.update(kb_stamp_field=KB_STAMP_FIELD, kb_stamp=services.knowledge_stamp())
    if request.htmx:
        context["oob_errors"] = _oob_errors(beside)
        # Live update: lean option cards whose detail loads when opened (views/option_detail.py), from the
        # workup this panel was computed from, signed into the result's head (partials/result_parts.html).
        if workup is not None and view is not None:
            context["lean_cards"] = True
            context["workup_token"] = workup_token(workup=workup, user=request.user)
            context["live_references"] = view.live_panel_references()
            # What the browser shows, sent back empty for it to keep, or not at all (live_cards.py).
            context["cards_held"] = held = cards_held(request.POST.get(HELD_FIELD, ""))
            context["frame_key"] = frame = frame_key(view, context.get("chosen_option_id"))
            if frame in held:  # the same options in the same tiers: the parts that may have changed, alone
                return reswap(render(request, LIVE_PIECES_TEMPLATE, context), "none")
        return render(request, LIVE_UPDATE_TEMPLATE, context)
    context.update({
        "sections": [
            {"section": s, "rows": [
                {"field": form[name], "errors": beside[name],
                 "unit": form[PAIRED[name]] if name in PAIRED else None,
                 "unit_errors": beside[PAIRED[name]] if name in PAIRED else []}
                for name in s.fields
            ]}
            for s in SECTIONS
        ],
        "save_form": save_form or save_form_carrying(request),
        "save_errors": save_errors(form, save_form) if save_failed and save_form is not None else [],
        "teams": list(teams_of(user=request.user)),
        "team": team_for(user=request.user),
        "revising": revising,
        "save_url": reverse("consult_create"),
    })
    return render(request, "workspace.html", context)


@require_http_methods(["GET", "POST"])
def workspace(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = WorkupForm(request.POST)
    elif QUERY_PARAMETER in request.GET:
        # Opened from the EHR's patient-view card: the inputs read from the record, as a fresh form's starting
        # values (unbound: nothing is flagged until the clinician completes and submits it).
        prefill = prefill_load(request.GET[QUERY_PARAMETER])
        if prefill is None:
            messages.error(request, MSG_EXPIRED)
        form = WorkupForm(initial=prefill or {})
    else:
        form = WorkupForm()
    return workspace_render(request, form=form, action_url=reverse("workspace"))
