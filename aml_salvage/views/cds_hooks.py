"""CDS Hooks 2.0 endpoints: discovery (GET /cds-services) and one POST endpoint per service.

The EHR calls these server to server: no session, no CSRF token (exempt here and only here), no sign-in
page; a hook call is authenticated by the EHR's signed JWT instead (cds_hooks/auth.py), checked before the
body is read. A refused call answers 401, a request that cannot be read 400 with an OperationOutcome naming
the element; both say why and store nothing. Patient data never reaches a URL or a log line: the
patient-view link carries a signed random key only (cds_hooks/prefill.py).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from .. import services
from ..cds_hooks import services as hooks
from ..cds_hooks.auth import HookUnauthorized, hook_token_verify
from ..cds_hooks.prefill import QUERY_PARAMETER, prefill_store
from ..cds_hooks.requests import MSG_NOT_JSON, HookInvalid, hook_request_parse, operation_outcome

MSG_UNKNOWN_SERVICE = "no CDS service with this id: see /cds-services"


def _absolute(request: HttpRequest, path: str) -> str:
    base = settings.AML_SALVAGE_CDS_HOOKS_BASE_URL.rstrip("/")
    return base + path if base else request.build_absolute_uri(path)


def _outcome(errors: list[tuple[str, str]], status: int) -> JsonResponse:
    return JsonResponse(operation_outcome(errors), status=status, content_type="application/fhir+json")


@login_not_required
@require_GET
def cds_discovery(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"services": [s.discovery() for s in hooks.services_list(services.knowledge_get())]})


@login_not_required
@csrf_exempt
@require_POST
def cds_service(request: HttpRequest, service_id: str) -> JsonResponse:
    kb = services.knowledge_get()
    service = next((s for s in hooks.services_list(kb) if s.id == service_id), None)
    if service is None:
        return _outcome([("", MSG_UNKNOWN_SERVICE)], 404)
    try:
        hook_token_verify(authorization=request.headers.get("Authorization"),
                          audience=_absolute(request, request.path))
    except HookUnauthorized as exc:
        response = _outcome([("Authorization", exc.message)], 401)
        response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    try:
        data = json.loads(request.body)
    except ValueError:  # also undecodable bytes
        return _outcome([("", MSG_NOT_JSON)], 400)
    try:
        hook_request = hook_request_parse(data, hook=service.hook)
        if service.hook == hooks.ORDER_SIGN:
            cards = hooks.order_sign_cards(hook_request, kb)
        else:
            cards = [_patient_view_card(request, hook_request, kb)]
    except HookInvalid as exc:
        return _outcome(exc.errors, 400)
    return JsonResponse({"cards": cards})


def _patient_view_card(request: HttpRequest, hook_request, kb) -> dict:
    if not hook_request.context.get("patientId"):
        raise HookInvalid([("context.patientId", hooks.MSG_NO_PATIENT_ID)])
    values = hooks.workup_from_record(hook_request, kb, today=timezone.localdate())
    kept, missing = hooks.workup_missing(values)
    link = f"{_absolute(request, reverse('workspace'))}?{QUERY_PARAMETER}={prefill_store(kept)}"
    return hooks.patient_view_card(found=kept, missing=missing, link=link, kb=kb)
