"""The hook request as the EHR sends it (CDS Hooks 2.0), checked before any advice: the envelope by a strict
pydantic model, every FHIR resource in it (context.draftOrders, prefetch) by its fhir.resources R4B model.
A fault raises HookInvalid naming the element (``context.draftOrders.entry.0.resource.status``), which the
view answers with 400 and an OperationOutcome; nothing is stored."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.operationoutcome import OperationOutcome
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MSG_NOT_JSON = "the request body is not a JSON object"
MSG_WRONG_HOOK = "this service answers the '{expected}' hook, not '{given}'"
MSG_NOT_RESOURCE = "not a FHIR resource (a JSON object with resourceType)"
MSG_UNKNOWN_TYPE = "resourceType '{given}' is not a FHIR R4 resource"
MSG_EXPECTED_TYPE = "expected a {expected}, not a {given}"


class HookInvalid(Exception):
    """The request cannot be read; ``errors`` is a list of (element path, message)."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{path or 'request'}: {message}" for path, message in errors))


class HookRequest(BaseModel):
    """The envelope every hook call shares (CDS Hooks 2.0, "HTTP Request"). Unknown members are kept (the
    specification allows extensions)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    hook: str = Field(min_length=1)
    hookInstance: str = Field(min_length=1)  # noqa: N815 (the specification's name)
    fhirServer: str | None = None  # noqa: N815
    fhirAuthorization: dict[str, Any] | None = None  # noqa: N815
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None


def _path(prefix: str, loc) -> str:
    return ".".join([prefix, *(str(p) for p in loc)]) if prefix else ".".join(str(p) for p in loc)


def hook_request_parse(data: Any, *, hook: str) -> HookRequest:
    if not isinstance(data, dict):
        raise HookInvalid([("", MSG_NOT_JSON)])
    try:
        request = HookRequest.model_validate(data)
    except ValidationError as exc:
        raise HookInvalid([(_path("", e["loc"]), e["msg"]) for e in exc.errors()]) from None
    if request.hook != hook:
        raise HookInvalid([("hook", MSG_WRONG_HOOK.format(expected=hook, given=request.hook))])
    return request


def resource_parse(data: Any, *, element: str, expected: str | None = None):
    """A FHIR R4 resource validated by its model, or HookInvalid naming the element at fault."""
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise HookInvalid([(element, MSG_NOT_RESOURCE)])
    given = data["resourceType"]
    if expected is not None and given != expected:
        raise HookInvalid([(f"{element}.resourceType", MSG_EXPECTED_TYPE.format(expected=expected, given=given))])
    try:
        model = get_fhir_model_class(given)
    except (KeyError, ValueError):
        raise HookInvalid([(f"{element}.resourceType", MSG_UNKNOWN_TYPE.format(given=given))]) from None
    if given == "Bundle" and isinstance(data.get("entry"), list):
        # Named here: the library reports an unknown nested resourceType without saying where it is.
        for i, entry in enumerate(data["entry"]):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict):
                try:
                    get_fhir_model_class(str(resource.get("resourceType")))
                except (KeyError, ValueError):
                    raise HookInvalid([(f"{element}.entry.{i}.resource.resourceType", MSG_UNKNOWN_TYPE.format(
                        given=resource.get("resourceType")))]) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise HookInvalid([(_path(element, e["loc"]), e["msg"]) for e in exc.errors()]) from None
    except (TypeError, ValueError, KeyError) as exc:  # e.g. a nested unknown resourceType inside a Bundle
        raise HookInvalid([(element, f"not a valid {given}: {exc}")]) from None


def operation_outcome(errors: list[tuple[str, str]]) -> dict:
    """An OperationOutcome with one error issue per element at fault, as JSON-ready data."""
    outcome = OperationOutcome.model_validate({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "invalid", "diagnostics": message,
                   **({"expression": [path]} if path else {})} for path, message in errors],
    })
    return outcome.model_dump(mode="json", exclude_none=True)
