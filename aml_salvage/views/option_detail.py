"""One option's detail, loaded when the clinician opens it on the live panel.

A live update sends, for every option, what ranks it: tier, target, availability, every reason with its rule
id and sources, the articles' views, one line per evidence record; and, for the preferred options, the
patient's dose table and warnings (templates/partials/option_live.html). The rest — the summary, the
availability note, the full evidence table, the other options' doses and warnings — is fetched here when the
clinician opens the option, so that each keystroke's update stays small. (Not-recommended options are not
dosed; their names open the regimen library.) Nothing is kept on the server between the two requests
(several app servers may serve them): the panel carries the workup it was computed from as a signed token,
which its disclosures send back in a header; this view re-validates that workup, recomputes the result and
renders the one option's detail with the same reference numbers as the panel.
"""

from __future__ import annotations

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import services
from ..domain.workup import Workup
from ..presentation import consult_view, view_context

URL_NAME = "option_detail"
TOKEN_HEADER = "X-Workup-Token"
_TOKEN_SALT = "aml_salvage.views.option_detail"
# A panel left open longer than this asks for an update before it loads more detail.
TOKEN_MAX_AGE_S = 12 * 3600
STALE_MESSAGE = "This result has changed or expired: update the result, then open this option again."


def workup_token(*, workup: Workup, user) -> str:
    """The workup, signed (not encrypted: it holds no identifier, and the page shows it anyway) and bound
    to the signed-in clinician."""
    return signing.dumps({"u": user.pk, "w": workup.model_dump(mode="json")}, salt=_TOKEN_SALT, compress=True)


def workup_from_token(*, token: str, user) -> Workup | None:
    try:
        data = signing.loads(token, salt=_TOKEN_SALT, max_age=TOKEN_MAX_AGE_S)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(data, dict) or data.get("u") != user.pk:
        return None
    try:
        return services.workup_parse(data=data.get("w"))
    except services.WorkupInvalid:  # e.g. a token from before a change to the workup contract
        return None


@require_GET
def option_detail(request: HttpRequest, option_id: str) -> HttpResponse:
    workup = workup_from_token(token=request.headers.get(TOKEN_HEADER, ""), user=request.user)
    if workup is None:
        # htmx swaps only successful responses: say it in the disclosure rather than leave "Loading…".
        status = 200 if request.htmx else 400
        return HttpResponse(f'<p class="stale">{STALE_MESSAGE}</p>', status=status)
    view = consult_view(result=services.consult_evaluate(workup=workup),
                        parameters=services.knowledge_get().parameters)
    card = view.option(option_id)
    if card is None:
        raise Http404("no such option")
    context = view_context(view)
    context.update({
        "option": card.option,
        "doses": card.doses,
        "overview": True,
        "doses_shown": card.option.tier == "preferred",  # its card on the panel already shows them
        "detail_references": view.option_detail_references(card),
        "live": True,
    })
    return render(request, "partials/option_detail.html", context)


__all__ = ["TOKEN_HEADER", "URL_NAME", "option_detail", "workup_from_token", "workup_token"]
