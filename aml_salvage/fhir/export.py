"""The FHIR export as a service: a saved consult (audited as 'exported', like a print) or a workup evaluated on
the command line, as the JSON of a validated FHIR R4 document Bundle."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import timezone

from .. import consults, services
from ..audit import audit_record
from ..domain.result import ConsultResult
from ..domain.workup import Workup
from ..models import Consult
from ..presentation import ConsultMeta
from .bundle import consult_bundle

FHIR_JSON = "application/fhir+json"


def _when(moment: datetime | None) -> str:
    # FHIR dateTime: seconds and a zone are required once a time is given.
    return timezone.localtime(moment or timezone.now()).isoformat(timespec="seconds")


def bundle_json(*, result: ConsultResult, workup: Workup, meta: ConsultMeta) -> str:
    bundle = consult_bundle(result=result, workup=workup, meta=meta, codes=services.knowledge_get().codes)
    return bundle.model_dump_json(indent=2)


def consult_fhir_export(*, consult: Consult, user) -> str:
    """The saved consult as FHIR JSON, read back as stored (never recomputed). Recorded as 'exported' for
    ``user`` once the document exists. The caller has checked that ``user`` may see the consult."""
    facts = consults.consult_facts(consult=consult)
    meta = ConsultMeta(
        institution=settings.AML_SALVAGE_INSTITUTION, generated_at=_when(consult.created_at),
        patient_identifier=facts.patient_identifier, clinician=facts.clinician, consult_id=facts.consult_id,
        revision_of=facts.revision_of, chosen_option_id=facts.chosen_option_id,
        chosen_option_name=facts.chosen_option_name, chosen_option_tier=facts.chosen_option_tier,
        override_reason=facts.override_reason, notes=facts.notes,
    )
    document = bundle_json(result=consults.consult_result(consult=consult),
                           workup=services.workup_parse(data=consult.workup), meta=meta)
    audit_record(consult=consult, user=user, action="exported")
    return document


def workup_fhir_export(*, workup: Workup, result: ConsultResult, clinician: str | None = None,
                       patient_identifier: str | None = None) -> str:
    """An unsaved workup's result as FHIR JSON (the command line). The chosen option is the first preferred
    one (the result's ranking), or none when no option is preferred: no orders are proposed then."""
    preferred = next((o for o in result.options if o.tier == "preferred"), None)
    meta = ConsultMeta(
        institution=settings.AML_SALVAGE_INSTITUTION, generated_at=_when(None),
        patient_identifier=patient_identifier, clinician=clinician,
        chosen_option_id=preferred.id if preferred else None,
        chosen_option_name=preferred.name if preferred else None,
        chosen_option_tier=preferred.tier if preferred else None,
    )
    return bundle_json(result=result, workup=workup, meta=meta)
