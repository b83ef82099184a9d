"""A saved consult as FHIR R4 JSON (a document Bundle). Same visibility as the consult page: another team's
consult answers 404. The export service records each export in the audit trail, as printing does."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from .. import consults
from ..fhir.export import FHIR_JSON, consult_fhir_export


@require_GET
def consult_fhir(request: HttpRequest, pk: int) -> HttpResponse:
    consult = get_object_or_404(consults.consult_visible_to(user=request.user), pk=pk)
    body = consult_fhir_export(consult=consult, user=request.user)
    response = HttpResponse(body, content_type=f"{FHIR_JSON}; charset=utf-8")
    # The file name carries the consult number only: never the patient identifier.
    response["Content-Disposition"] = f'inline; filename="aml-salvage-consult-{consult.pk}.fhir.json"'
    return response
