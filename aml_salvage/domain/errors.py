"""Validation errors in words a clinician reads, each naming the field it belongs to.

pydantic's messages are for programmers ("Input should be greater than or equal to 18"); these map
each error type to a sentence, keep the field path (``patient.age_years``) so the CLI can print it
and the form can show it beside the input.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

MSG_REQUIRED = "required"
MSG_UNKNOWN_FIELD = "unknown field: not part of the workup (check the spelling)"
MSG_NOT_A_NUMBER = "must be a number"
MSG_NOT_AN_INTEGER = "must be a whole number"
MSG_NOT_YES_NO = "must be true or false"
MSG_INVALID_JSON = "not valid JSON"
MSG_ADULTS_ONLY = "must be at least 18: AML Salvage is for adults (18 years or older)"
MSG_APL = (
    "{found} is the fusion of acute promyelocytic leukemia (APL): AML Salvage covers non-APL AML only, and "
    "none of its regimens is an APL treatment; follow an APL protocol"
)
MSG_CR1_LONGER_THAN_LIFE = (
    "first remission of {months} months is longer than the patient's life ({age} years = {life} months): "
    "check the remission duration and the age"
)
MSG_PENDING_AND_POSITIVE = "marked positive but also listed as pending: untick it, or remove it from pending"
MSG_UNCONTROLLED_NEEDS_ACTIVE = "uncontrolled infection is ticked but active infection is not: tick both"


@dataclass(frozen=True)
class FieldError:
    path: str  # 'patient.age_years'; '' for the whole workup
    message: str

    def __str__(self) -> str:
        return f"{self.path or 'workup'}: {self.message}"


def _bound(ctx: dict, key: str):
    value = ctx.get(key)
    return f"{value:g}" if isinstance(value, float) else value


def _message(err: dict, path: str) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if path == "patient.age_years" and kind == "greater_than_equal":
        return MSG_ADULTS_ONLY
    if kind == "missing":
        return err["msg"] if err["msg"] != "Field required" else MSG_REQUIRED
    if kind == "extra_forbidden":
        return MSG_UNKNOWN_FIELD
    if kind == "greater_than_equal":
        return f"must be at least {_bound(ctx, 'ge')}"
    if kind == "greater_than":
        return f"must be more than {_bound(ctx, 'gt')}"
    if kind == "less_than_equal":
        return f"must be at most {_bound(ctx, 'le')}"
    if kind == "less_than":
        return f"must be less than {_bound(ctx, 'lt')}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return MSG_NOT_AN_INTEGER
    if kind in ("float_type", "float_parsing", "finite_number"):
        return MSG_NOT_A_NUMBER
    if kind in ("bool_type", "bool_parsing"):
        return MSG_NOT_YES_NO
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    if kind in ("string_type", "list_type", "tuple_type", "dict_type", "model_type", "model_attributes_type"):
        return {"string_type": "must be text", "list_type": "must be a list", "tuple_type": "must be a list",
                "dict_type": "must be an object", "model_type": "must be an object",
                "model_attributes_type": "must be an object"}[kind]
    if kind == "string_pattern_mismatch":
        return "not a valid gene symbol (letters, digits, '-' or '.')"
    if kind == "string_too_long":
        return f"too long (at most {ctx.get('max_length')} characters)"
    if kind == "too_long":
        return f"too many entries (at most {ctx.get('max_length')})"
    if kind == "json_invalid":
        return f"{MSG_INVALID_JSON} ({ctx.get('error', '')})"
    return err["msg"]


def describe_validation_error(exc: ValidationError) -> list[FieldError]:
    out: list[FieldError] = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        ctx = err.get("ctx") or {}
        if ctx.get("field"):  # a child of the validated field: 'prior_therapy' + 'intensive_chemo'
            loc.append(str(ctx["field"]))
        if ctx.get("sibling"):  # a field beside it, the one the clinician must correct
            loc[-1:] = [str(ctx["sibling"])]
        path = ".".join(loc)
        item = FieldError(path=path, message=_message(err, path))
        if item not in out:
            out.append(item)
    return out


class WorkupInvalid(Exception):
    """The workup failed validation; ``errors`` name each field and what is wrong with it."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))
