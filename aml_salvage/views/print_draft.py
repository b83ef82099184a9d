"""Print draft: the decision sheet of the workspace's current workup, not saved, as a PDF in a new tab.

The workspace form posts here (``formaction``); the same fields as the live update plus the save panel's
identifier, chosen option, override reason and notes. Sign-in is required like every page
(LoginRequiredMiddleware). An invalid workup answers 400 with each problem named by its field, never a 500;
the workspace tab keeps everything typed, since the draft opens in a tab of its own.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from .. import consults, services
from ..forms import WorkupForm

DRAFT_INVALID_TEMPLATE = "print/draft_invalid.html"
MSG_DRAFT_INVALID = "The draft cannot be printed until the workup is complete and valid."


def _problems(form: WorkupForm, extra: dict[str, list[str]] | None = None) -> list[tuple[str, str]]:
    """(field label, message) for every problem, in the form's order."""
    beside, _pending = form.error_placement(defer_blank=False)
    rows = [(str(form.fields[name].label or name), message)
            for name, messages in beside.items() for message in messages]
    rows += [("Workup", str(message)) for message in form.non_field_errors()]
    for name, messages in (extra or {}).items():
        rows += [(name.replace("_", " ").capitalize(), message) for message in messages]
    return rows


@require_POST
def print_draft(request: HttpRequest) -> HttpResponse:
    form = WorkupForm(request.POST)
    workup = form.parse_workup()
    if workup is None:
        return render(request, DRAFT_INVALID_TEMPLATE, {"message": MSG_DRAFT_INVALID, "problems": _problems(form)},
                      status=400)
    result = services.consult_evaluate(workup=workup)
    post = request.POST
    try:
        document = consults.consult_print_draft(
            user=request.user, workup=workup, result=result,
            patient_identifier=post.get("patient_identifier", ""), chosen_option_id=post.get("chosen_option_id", ""),
            override_reason=post.get("override_reason", ""), notes=post.get("notes", ""), request=request,
        )
    except consults.ConsultInvalid as exc:
        return render(request, DRAFT_INVALID_TEMPLATE,
                      {"message": MSG_DRAFT_INVALID, "problems": _problems(form, exc.errors)}, status=400)
    response = HttpResponse(document, content_type="application/pdf")
    # No identifier in the file name (it ends up in download folders and browser history).
    response["Content-Disposition"] = 'inline; filename="aml-salvage-draft.pdf"'
    response["Cache-Control"] = "no-store"
    return response
