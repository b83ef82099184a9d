"""The CDS Hooks services (CDS Hooks 2.0): what each hook answers, from the knowledge base.

- ``order-sign``: venetoclax ordered with a CYP3A inhibitor the venetoclax label names (its inhibitor table,
  parameters.yaml ``venetoclax_inhibitors``), or QT-prolonging agents ordered together, gets a ``warning``
  card with the label's adjusted dose or monitoring, its source, and for venetoclax a suggestion carrying
  the adjusted dose. Every figure comes from the knowledge base; drugs are recognised by name (codes.yaml).
- ``patient-view``: the workup inputs the prefetched Patient and Observations give (age, sex, height, weight,
  creatinine, ECOG) are kept server-side for a short while and an ``info`` card says how many inputs are
  still missing, with a link that opens the workspace pre-filled through a signed token.

Every card names its source. Cards are the CDS Hooks JSON objects, built here; FHIR resources inside them
(the suggested MedicationRequest) go through their fhir.resources model.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django import forms as django_forms
from fhir.resources.R4B.medicationrequest import MedicationRequest

from ..domain.knowledge import KnowledgeBase, VenetoclaxInhibitorRow
from ..forms import WorkupForm
from ..presentation.formatting import number
from .requests import HookInvalid, HookRequest, resource_parse

ORDER_SIGN = "order-sign"
PATIENT_VIEW = "patient-view"
SERVICE_ORDER_SIGN = "aml-salvage-order-sign"
SERVICE_PATIENT_VIEW = "aml-salvage-patient-view"
SUMMARY_MAX = 140  # the specification's limit for a card summary
MSG_NO_DRAFT_ORDERS = "order-sign needs context.draftOrders (a Bundle of the orders being signed)"
MSG_NO_PATIENT_ID = "patient-view needs context.patientId"


@dataclass(frozen=True)
class Service:
    id: str
    hook: str
    title: str
    description: str
    prefetch: dict[str, str]

    def discovery(self) -> dict:
        return {"hook": self.hook, "id": self.id, "title": self.title, "description": self.description,
                "prefetch": self.prefetch}


def services_list(kb: KnowledgeBase) -> list[Service]:
    """The services this app offers, with the prefetch templates they read (codes from codes.yaml)."""
    loinc = kb.codes.systems["loinc"]
    codes = ",".join(f"{loinc}|{kb.codes.concepts[key].code}" for key in _OBSERVATION_FIELDS
                     if kb.codes.concepts[key].code)
    return [
        Service(SERVICE_ORDER_SIGN, ORDER_SIGN, "AML Salvage: venetoclax and QT interactions",
                "Warns when venetoclax is ordered with a CYP3A inhibitor (venetoclax label dose table) or "
                "QT-prolonging agents are ordered together, citing the labels.",
                {"medications": "MedicationRequest?patient={{context.patientId}}&status=active"}),
        Service(SERVICE_PATIENT_VIEW, PATIENT_VIEW, "AML Salvage: R/R AML salvage review",
                "Reads what it can of the relapse workup from the record and links to the AML Salvage workspace "
                "pre-filled with it.",
                {"patient": "Patient/{{context.patientId}}",
                 "observations": f"Observation?patient={{{{context.patientId}}}}&code={codes}"}),
    ]


def _card(*, summary: str, indicator: str, detail: str, source: dict, **more) -> dict:
    card = {"uuid": str(uuid.uuid4()), "summary": summary[:SUMMARY_MAX], "indicator": indicator,
            "detail": detail, "source": source}
    card.update({k: v for k, v in more.items() if v})
    return card


def _reference_source(kb: KnowledgeBase, ref_ids: Iterable[str]) -> dict:
    """A card's source: the first reference by its citation, the others named in the label."""
    refs = [kb.references[r] for r in dict.fromkeys(ref_ids) if r in kb.references]
    label = "; ".join(r.short for r in refs) or "AML Salvage knowledge base"
    source = {"label": f"{label} (AML Salvage knowledge base {kb.version})"}
    url = next((r.url for r in refs if r.url), None)
    if url:
        source["url"] = url
    return source


# --- order-sign ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Order:
    element: str  # where it sits in the request, for the suggestion's update action
    names: set[str]  # the drugs of the knowledge base it names
    resource: MedicationRequest
    draft: bool


def _medication_text(mr: MedicationRequest) -> str:
    parts: list[str] = []
    concept = mr.medicationCodeableConcept
    if concept is not None:
        parts.append(concept.text or "")
        parts += [c.display or "" for c in concept.coding or []]
    if mr.medicationReference is not None:
        parts.append(mr.medicationReference.display or "")
    return " ".join(parts).lower()


def _known_names(kb: KnowledgeBase) -> dict[str, tuple[list[str], str | None]]:
    """Drug name → (the words that name it in an order, its RxNorm code or None): codes.yaml's medications and
    the QT table's agents."""
    names = {m.name: ([m.name, *m.aliases], m.rxnorm) for m in kb.codes.medications}
    for row in kb.parameters.conditional_warnings.qtc:
        names.setdefault(row.drug, ([row.drug], None))
    return names


def _orders(bundle, *, element: str, draft: bool, kb: KnowledgeBase) -> list[_Order]:
    if bundle is None:
        return []
    known = _known_names(kb)
    out = []
    for i, entry in enumerate(bundle.entry or []):
        mr = entry.resource
        if mr is None or mr.get_resource_type() != "MedicationRequest":
            continue
        text = _medication_text(mr)
        codes = {c.code for c in (mr.medicationCodeableConcept.coding or [])} if mr.medicationCodeableConcept \
            else set()
        names = {name for name, (words, rxnorm) in known.items()
                 if any(re.search(rf"\b{re.escape(word)}\b", text) for word in words) or (rxnorm and rxnorm in codes)}
        if names:
            out.append(_Order(f"{element}.entry.{i}.resource", names, mr, draft))
    return out


def _ordered_mg(mr: MedicationRequest) -> float | None:
    for dosage in mr.dosageInstruction or []:
        for dose in dosage.doseAndRate or []:
            q = dose.doseQuantity
            if q is not None and q.value is not None and (q.code or q.unit or "").lower() == "mg":
                return float(q.value)
    return None


def _venetoclax_card(order: _Order, inhibitor: str, row: VenetoclaxInhibitorRow, kb: KnowledgeBase) -> dict:
    ordered = _ordered_mg(order.resource)
    if row.steady_mg is not None:
        ramp = ", ".join(f"{number(s.dose_mg)} mg {s.days}" for s in row.ramp_up)
        adjusted = row.steady_mg
        summary = (f"Venetoclax with {inhibitor}: {number(adjusted)} mg daily after the ramp-up"
                   + (f" ({ramp})" if ramp else "") + ", per the venetoclax label")
    else:
        adjusted = ordered * row.factor if ordered is not None else None
        summary = (f"Venetoclax with {inhibitor}: reduce the dose by at least {number(100 * (1 - row.factor), 0)}%"
                   + (f" ({number(ordered)} → {number(adjusted)} mg)" if adjusted is not None else "")
                   + ", per the venetoclax label")
    warning = kb.warnings.get("venetoclax-cyp3a4")
    detail = [f"**{row.text}**", f"Ordered: {number(ordered)} mg." if ordered is not None
              else "Ordered dose not stated in mg: check it against the label's table."]
    if warning is not None:
        detail.append(warning.text)
    suggestions = []
    if adjusted is not None and ordered != adjusted:
        suggestions.append(_dose_suggestion(order, adjusted, row.text))
    return _card(summary=summary, indicator="warning", detail="\n\n".join(detail),
                 source=_reference_source(kb, row.source + (warning.source if warning else [])
                                          + kb.codes.medication(inhibitor).source),
                 suggestions=suggestions, selectionBehavior="at-most-one" if suggestions else None)


def _dose_suggestion(order: _Order, mg: float, reason: str) -> dict:
    """An update of the venetoclax draft order to the label's adjusted dose."""
    data = order.resource.model_dump(mode="json", exclude_none=True)
    dosages = data.get("dosageInstruction") or [{}]
    first = dosages[0]
    first["doseAndRate"] = [{"doseQuantity": {"value": mg, "unit": "mg", "system": "http://unitsofmeasure.org",
                                              "code": "mg"}}]
    first["text"] = f"venetoclax {number(mg)} mg; {reason}"
    data["dosageInstruction"] = [first, *dosages[1:]]
    updated = MedicationRequest.model_validate(data)
    return {"label": f"Change venetoclax to {number(mg)} mg (venetoclax label)", "uuid": str(uuid.uuid4()),
            "isRecommended": True,
            "actions": [{"type": "update", "description": f"venetoclax {number(mg)} mg: {reason}",
                         "resource": updated.model_dump(mode="json", exclude_none=True)}]}


def _qt_card(agents: list[str], azoles: list[str], kb: KnowledgeBase) -> dict:
    rows = {row.drug: row for row in kb.parameters.conditional_warnings.qtc}
    thresholds = [f"{drug}: baseline QTcF above {rows[drug].threshold_ms} ms per its label" if
                  rows[drug].threshold_ms is not None else f"{drug}: no label QTcF threshold in our sources"
                  for drug in agents]
    if azoles:
        warning = kb.warnings["qtc-azole-combination"]
        summary = f"QT prolongation: {', '.join(agents)} with {', '.join(azoles)}: ECG and electrolyte monitoring"
        detail = [warning.text]
        sources = warning.source
    else:
        summary = f"QT prolongation: {', '.join(agents)} ordered together: ECG and electrolyte monitoring"
        detail = ["Each of these agents prolongs the QT interval per its label; together the risk adds up. "
                  "Obtain a baseline ECG (QTcF), correct potassium and magnesium, and follow each label's "
                  "ECG schedule."]
        sources = [s for drug in agents for s in rows[drug].source]
    detail.append("Label thresholds: " + "; ".join(thresholds) + ".")
    return _card(summary=summary, indicator="warning", detail="\n\n".join(detail),
                 source=_reference_source(kb, sources))


def order_sign_cards(request: HookRequest, kb: KnowledgeBase) -> list[dict]:
    drafts_data = request.context.get("draftOrders")
    if drafts_data is None:
        raise HookInvalid([("context.draftOrders", MSG_NO_DRAFT_ORDERS)])
    drafts = resource_parse(drafts_data, element="context.draftOrders", expected="Bundle")
    active_data = (request.prefetch or {}).get("medications")
    active = resource_parse(active_data, element="prefetch.medications", expected="Bundle") \
        if active_data is not None else None
    orders = _orders(drafts, element="context.draftOrders", draft=True, kb=kb) + \
        _orders(active, element="prefetch.medications", draft=False, kb=kb)
    meds = {m.name: m for m in kb.codes.medications}
    rows = {row.inhibitor: row for row in kb.parameters.venetoclax_inhibitors}
    cards = []
    # The label's rows in their order (posaconazole, other strong, moderate, P-gp): the first one found is the
    # one that lowers the dose most, and the card gives it.
    order_of = {row.inhibitor: i for i, row in enumerate(kb.parameters.venetoclax_inhibitors)}
    inhibitors = sorted({(name, meds[name].cyp3a) for o in orders for name in o.names
                         if name in meds and meds[name].cyp3a}, key=lambda item: (order_of[item[1]], item[0]))
    if inhibitors:
        name, row_key = inhibitors[0]
        cards += [_venetoclax_card(order, name, rows[row_key], kb)
                  for order in orders if order.draft and "venetoclax" in order.names]
    qt_agents = {row.drug for row in kb.parameters.conditional_warnings.qtc}
    agents = sorted({n for o in orders for n in o.names if n in qt_agents})
    azoles = sorted({n for o in orders for n in o.names if n in meds and meds[n].qt_prolonging})
    ordered_now = {n for o in orders if o.draft for n in o.names}
    if agents and (azoles or len(agents) > 1) and ordered_now & (set(agents) | set(azoles)):
        cards.append(_qt_card(agents, azoles, kb))
    return cards


# --- patient-view ----------------------------------------------------------------------------------------

# codes.yaml concept → the workup form field it fills.
_OBSERVATION_FIELDS = {"body-height": "height_cm", "body-weight": "weight_kg", "creatinine-mass": "creatinine_value",
                       "ecog": "ecog"}
_TO_CM = {"cm": 1.0, "m": 100.0, "[in_i]": 2.54, "in": 2.54}
_TO_KG = {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237, "lb": 0.45359237}
_CREATININE_UNITS = {"mg/dl": "mg/dL", "umol/l": "umol/L", "µmol/l": "umol/L"}


def _age_years(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _observation_values(bundle, kb: KnowledgeBase) -> dict[str, str]:
    """The latest value of each observation the workup uses, as form data (units converted to the form's)."""
    by_code = {kb.codes.concepts[key].code: field for key, field in _OBSERVATION_FIELDS.items()
               if kb.codes.concepts[key].code}
    latest: dict[str, tuple[str, object]] = {}
    for entry in (bundle.entry or []) if bundle is not None else []:
        obs = entry.resource
        if obs is None or obs.get_resource_type() != "Observation" or obs.status in ("entered-in-error",
                                                                                     "cancelled"):
            continue
        field = next((by_code[c.code] for c in (obs.code.coding or []) if c.code in by_code), None)
        if field is None:
            continue
        when = str(obs.effectiveDateTime or obs.issued or "")
        if field not in latest or when > latest[field][0]:
            latest[field] = (when, obs)
    values: dict[str, str] = {}
    for field, (_when, obs) in latest.items():
        q = obs.valueQuantity
        unit = (q.code or q.unit or "") if q is not None else ""
        if field == "ecog":
            value = obs.valueInteger if obs.valueInteger is not None else (q.value if q is not None else None)
            if value is not None:
                values[field] = str(int(value))
        elif q is None or q.value is None:
            continue
        elif field == "height_cm" and unit in _TO_CM:
            values[field] = number(float(q.value) * _TO_CM[unit], 1)
        elif field == "weight_kg" and unit in _TO_KG:
            values[field] = number(float(q.value) * _TO_KG[unit], 1)
        elif field == "creatinine_value" and unit.lower() in _CREATININE_UNITS:
            values[field] = number(float(q.value), 2)
            values["creatinine_unit"] = _CREATININE_UNITS[unit.lower()]
    return values


def workup_from_record(request: HookRequest, kb: KnowledgeBase, *, today: dt.date) -> dict[str, str]:
    """What the prefetched resources give of the workup, as workspace form data (nothing else is kept)."""
    prefetch = request.prefetch or {}
    values: dict[str, str] = {}
    if prefetch.get("patient") is not None:
        patient = resource_parse(prefetch["patient"], element="prefetch.patient", expected="Patient")
        if patient.gender in ("female", "male"):
            values["sex"] = patient.gender
        if patient.birthDate is not None:
            values["age_years"] = str(_age_years(patient.birthDate, today))
    if prefetch.get("observations") is not None:
        bundle = resource_parse(prefetch["observations"], element="prefetch.observations", expected="Bundle")
        values.update(_observation_values(bundle, kb))
    return values


def workup_missing(values: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The values the workspace accepts (one it would refuse is dropped, never pre-filled) and the labels of the
    required inputs still empty."""
    def bound(data: dict[str, str]) -> WorkupForm:
        form = WorkupForm(data={**_form_defaults(), **data})
        form.parse_workup()  # field conversions and the workup's own rules (e.g. CR1 duration for a relapse)
        return form

    form = bound(values)
    kept = {k: v for k, v in values.items() if k not in form.errors and not (
        k == "creatinine_unit" and "creatinine_value" in form.errors)}
    form = bound(kept)
    missing = [str(form.fields[name].label) for name in form.errors
               if name in form.fields and form.is_blank(name)]
    return kept, missing


def _form_defaults() -> dict:
    """A fresh workspace's values (units, formula, jurisdiction ...), as form data."""
    form = WorkupForm()
    data = {}
    for name, field in form.fields.items():
        if isinstance(field, django_forms.BooleanField):
            continue
        initial = form.get_initial_for_field(field, name)
        if initial not in (None, ""):
            data[name] = initial if isinstance(initial, list) else str(initial)
    return data


def patient_view_card(*, found: dict[str, str], missing: list[str], link: str, kb: KnowledgeBase) -> dict:
    """found: the form values read from the record (named by their labels, never shown: no patient data in a
    card); missing: the labels of the required inputs still empty."""
    n = len(missing)
    read = [str(WorkupForm.base_fields[name].label) for name in found if name != "creatinine_unit"]
    detail = [f"Read from the record: {', '.join(read) if read else 'nothing usable'}.",
              f"Still to enter in AML Salvage: {', '.join(missing) if missing else 'nothing required'}."]
    return _card(
        summary=f"R/R AML salvage review: {n} input{'s' if n != 1 else ''} missing",
        indicator="info", detail="\n\n".join(detail),
        source={"label": f"AML Salvage (DT20, FRC25 and drug labels; knowledge base {kb.version})"},
        links=[{"label": "Open the AML Salvage workspace (pre-filled)", "url": link, "type": "absolute"}],
    )
