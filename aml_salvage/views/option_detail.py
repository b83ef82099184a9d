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

The token also carries the stamp of the knowledge base the panel was computed with (services.knowledge_stamp).
A server with another knowledge base (during a rolling upgrade, or after a reload) refuses to complete the
panel with its own content and asks for the result to be updated instead: never advice from two versions on
one screen.
"""

from __future__ import annotations

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import services
from ..domain.workup import Workup
from ..presentation import consult_view, view_context
from ..presentation.glance import glance_build

URL_NAME = "option_detail"
TOKEN_HEADER = "X-Workup-Token"
_TOKEN_SALT = "aml_salvage.views.option_detail"
# A panel left open longer than this asks for an update before it loads more detail.
TOKEN_MAX_AGE_S = 12 * 3600
STALE_MESSAGE = "This result has changed or expired: update the result, then open this option again."
KB_CHANGED_MESSAGE = (
    "The knowledge base was updated after this result was computed: refresh the result (Update result), "
    "then open this option again."
)


class TokenRefused(Exception):
    """The token cannot be completed here; ``message`` says what the clinician should do."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.message, self.status = message, status


def workup_token(*, workup: Workup, user) -> str:
    """The workup, signed (not encrypted: it holds no identifier, and the page shows it anyway), bound to the
    signed-in clinician and to the knowledge base it was evaluated with."""
    return signing.dumps({"u": user.pk, "k": services.knowledge_stamp(), "w": workup.model_dump(mode="json")},
                         salt=_TOKEN_SALT, compress=True)


def workup_from_token(*, token: str, user) -> Workup:
    """The workup of a token made here for ``user`` with the knowledge base served now; else TokenRefused."""
    try:
        data = signing.loads(token, salt=_TOKEN_SALT, max_age=TOKEN_MAX_AGE_S)
    except signing.BadSignature:  # includes SignatureExpired
        raise TokenRefused(STALE_MESSAGE, status=400) from None
    if not isinstance(data, dict) or data.get("u") != user.pk:
        raise TokenRefused(STALE_MESSAGE, status=400)
    if data.get("k") != services.knowledge_stamp():
        raise TokenRefused(KB_CHANGED_MESSAGE, status=409)
    try:
        return services.workup_parse(data=data.get("w"))
    except services.WorkupInvalid:  # e.g. a token from before a change to the workup contract
        raise TokenRefused(STALE_MESSAGE, status=400) from None


@require_GET
def option_detail(request: HttpRequest, option_id: str) -> HttpResponse:
    try:
        workup = workup_from_token(token=request.headers.get(TOKEN_HEADER, ""), user=request.user)
    except TokenRefused as refused:
        return _refused(request, refused)
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


def _refused(request: HttpRequest, refused: TokenRefused) -> HttpResponse:
    # htmx swaps only successful responses: say it in the disclosure rather than leave "Loading…".
    status = 200 if request.htmx else refused.status
    return HttpResponse(f'<p class="stale" role="alert">{refused.message}</p>', status=status)


@require_GET
def result_glance(request: HttpRequest) -> HttpResponse:
    """Every option at a glance (table and chart) for the live panel's workup, loaded when the clinician opens
    the comparison: it shows tiers and published figures, never a dose, and is a third of a panel's weight, so
    the update sent at each pause in typing leaves it out (the saved page and the PDF carry it inline)."""
    try:
        workup = workup_from_token(token=request.headers.get(TOKEN_HEADER, ""), user=request.user)
    except TokenRefused as refused:
        return _refused(request, refused)
    result = services.consult_evaluate(workup=workup)
    return render(request, "partials/glance_live.html",
                  {"glance": glance_build(result.options, chosen_id=request.GET.get("chosen") or None)})


__all__ = ["KB_CHANGED_MESSAGE", "STALE_MESSAGE", "TOKEN_HEADER", "URL_NAME", "TokenRefused", "option_detail",
           "result_glance",
           "workup_from_token", "workup_token"]
