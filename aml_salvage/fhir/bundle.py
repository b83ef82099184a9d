"""A consult as a FHIR R4 document Bundle, built from the one presentation model (``presentation.consult_view``)
and the workup. Pure: no ORM, no settings, no clock; the caller passes who, when and which codes.

Every resource is made by its fhir.resources R4B model, so a wrong element fails here, where it is built, and
the Bundle is validated once more as a whole before it is returned. Codes come from the knowledge base's
``codes.yaml`` with their sources; a concept without a code there is exported as text only.

Layout: the Composition first (assessment, chosen option, every option by tier with its reasons and evidence,
warnings, references), then the Patient (the identifier the clinician entered: no name, no date of birth),
the Observations behind the doses, the CarePlan (intent proposal) and the RequestGroup of MedicationRequests
for the chosen option, and the Provenance (clinician, time, knowledge-base version, rule ids).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.composition import Composition
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.provenance import Provenance
from fhir.resources.R4B.requestgroup import RequestGroup

from ..domain.knowledge import CodeRecord, Codes
from ..domain.result import ConsultResult, OptionResult
from ..domain.workup import Workup
from ..presentation import ConsultMeta, OptionView, consult_view, labels
from ..presentation.doses import DoseLineView
from ..presentation.formatting import (
    crcl_text,
    evidence_n,
    evidence_os,
    evidence_response,
    number,
    ref_numbers_text,
)

# Our own identifiers (options, tiers, rules, consults, the knowledge base): URNs, since they are no
# standard terminology. Readers compare the export with the consult's JSON through them.
SYSTEM_OPTION = "urn:aml-salvage:option"
SYSTEM_TIER = "urn:aml-salvage:tier"
SYSTEM_RULE = "urn:aml-salvage:rule"
SYSTEM_CONSULT = "urn:aml-salvage:consult"
SYSTEM_KB = "urn:aml-salvage:knowledge-base"
SYSTEM_SECTION = "urn:aml-salvage:section"
SYSTEM_UCUM = "http://unitsofmeasure.org"
XHTML = "http://www.w3.org/1999/xhtml"
DOCUMENT_TITLE = "AML Salvage consult: salvage therapy for relapsed/refractory AML"
UCUM_DOSE = {"mg": "mg", "mcg": "ug"}
# The workup's creatinine units in UCUM.
UCUM_LAB = {"umol/L": "umol/L", "mg/dL": "mg/dL"}
GENES = ("flt3_itd", "flt3_tkd", "idh1", "idh2", "npm1", "kmt2a_rearranged", "tp53")


@dataclass(frozen=True)
class _Entry:
    url: str
    resource: object


class _Ids:
    """Stable urn:uuid names: the same consult exported twice gives the same Bundle."""

    def __init__(self, seed: str):
        self.seed = seed

    def __call__(self, name: str) -> str:
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{self.seed}/{name}')}"


def _div(paragraphs: Iterable[str]) -> dict:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs if p) or "<p>none</p>"
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{body}</div>'}


def _list_div(heading: str | None, items: Iterable[str]) -> dict:
    items = [i for i in items if i]
    head = f"<p>{escape(heading)}</p>" if heading else ""
    body = "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>" if items else "<p>none</p>"
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{head}{body}</div>'}


def _concept(codes: Codes, key: str) -> dict:
    """A CodeableConcept from codes.yaml: the coding when the record has a code, its words always."""
    record: CodeRecord = codes.concepts[key]
    concept: dict = {"text": record.display}
    if record.code is not None:
        concept["coding"] = [{"system": codes.systems[record.system], "code": record.code,
                              "display": record.display}]
    return concept


def _own(system: str, code: str, display: str | None = None) -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], "text": display or code}


def _quantity(value: float, unit: str, ucum: str | None) -> dict:
    q = {"value": round(value, 4), "unit": unit}
    if ucum:
        q.update(system=SYSTEM_UCUM, code=ucum)
    return q


def consult_seed(*, result: ConsultResult, meta: ConsultMeta) -> str:
    """What names the Bundle and its entries: the saved consult's id, or for an unsaved workup (the command
    line) a hash of its result and time."""
    if meta.consult_id is not None:
        return f"consult/{meta.consult_id}"
    digest = hashlib.sha256((result.model_dump_json() + meta.generated_at).encode()).hexdigest()
    return f"workup/{digest[:32]}"


def consult_bundle(*, result: ConsultResult, workup: Workup, meta: ConsultMeta, codes: Codes) -> Bundle:
    """The consult as a validated FHIR R4 document Bundle (see the module docstring for its layout)."""
    view = consult_view(result=result, parameters=None, workup=workup)
    ids = _Ids(consult_seed(result=result, meta=meta))
    when = meta.generated_at
    patient_url = ids("patient")
    subject = {"reference": patient_url}
    author = {"display": meta.clinician or "clinician not recorded"}

    patient: dict = {"resourceType": "Patient", "gender": workup.patient.sex}
    if meta.patient_identifier:
        patient["identifier"] = [{"value": meta.patient_identifier}]

    observations = _observations(result=result, workup=workup, codes=codes, ids=ids, subject=subject, when=when)
    chosen = view.option(meta.chosen_option_id)
    requests = _medication_requests(chosen, codes=codes, ids=ids, subject=subject, when=when, author=author) \
        if chosen is not None else []
    request_group_url, care_plan_url = ids("request-group"), ids("care-plan")
    plan_entries = _plan(chosen, requests, meta=meta, subject=subject, when=when, author=author,
                         care_plan_url=care_plan_url, request_group_url=request_group_url) if chosen else []

    composition_url, provenance_url = ids("composition"), ids("provenance")
    composition = Composition.model_validate({
        "resourceType": "Composition", "status": "final", "date": when, "title": DOCUMENT_TITLE,
        "type": {"text": "Salvage therapy consult (relapsed/refractory AML)"},
        "identifier": _consult_identifier(meta, ids),
        "subject": subject, "author": [author],
        # A revision replaces the consult it revises (saved consults are never changed, only revised).
        "relatesTo": [{"code": "replaces", "targetIdentifier": {"system": SYSTEM_CONSULT,
                                                                "value": str(meta.revision_of)}}]
        if meta.revision_of is not None else None,
        "section": _sections(view=view, meta=meta, chosen=chosen, observations=observations,
                             plan_urls=[care_plan_url, request_group_url] if chosen else []),
    })

    entries = [_Entry(composition_url, composition), _Entry(patient_url, Patient.model_validate(patient)),
               *observations, *plan_entries, *requests]
    provenance = Provenance.model_validate({
        "resourceType": "Provenance",
        "target": [{"reference": e.url} for e in entries],
        "recorded": when,
        "agent": [{"type": {"text": "author"}, "who": author}],
        "reason": [{"text": "salvage therapy decision support for relapsed/refractory AML"}],
        "entity": [
            {"role": "source", "what": {"identifier": {"system": SYSTEM_KB, "value": result.kb_version},
                                        "display": f"AML Salvage knowledge base {result.kb_version}"}},
            *({"role": "derivation", "what": {"identifier": {"system": SYSTEM_RULE, "value": rule_id},
                                              "display": f"rule {rule_id}"}}
              for rule_id in result_rule_ids(result)),
        ],
    })
    entries.append(_Entry(provenance_url, provenance))
    return Bundle.model_validate({
        "resourceType": "Bundle", "type": "document", "timestamp": when,
        "identifier": _consult_identifier(meta, ids),
        "entry": [{"fullUrl": e.url, "resource": e.resource} for e in entries],
    })


def _plan(chosen: OptionView, requests: list[_Entry], *, meta: ConsultMeta, subject: dict, when: str,
          author: dict, care_plan_url: str, request_group_url: str) -> list[_Entry]:
    """The chosen option as a proposed CarePlan whose activity is a RequestGroup of its MedicationRequests."""
    request_group = RequestGroup.model_validate({
        "resourceType": "RequestGroup", "status": "draft", "intent": "proposal", "subject": subject,
        "authoredOn": when, "author": author,
        "code": _own(SYSTEM_OPTION, chosen.option.id, chosen.option.name),
        "note": [{"text": n} for n in [chosen.doses.basis if chosen.doses else None,
                                        chosen.option.dosing_note] if n] or None,
        "action": [{"title": f"{mr.resource.medicationCodeableConcept.text} "
                             f"({mr.resource.dosageInstruction[0].timing.code.text})",
                    "resource": {"reference": mr.url}} for mr in requests] or None,
    })
    care_plan = CarePlan.model_validate({
        "resourceType": "CarePlan", "status": "draft", "intent": "proposal", "subject": subject,
        "created": when, "author": author,
        "title": chosen.option.name,
        "description": f"{chosen.option.summary} ({labels.TIER[chosen.option.tier]})",
        "note": [{"text": f"Reason for choosing a non-preferred option: {meta.override_reason}"}]
        if meta.override_reason else None,
        "activity": [{"reference": {"reference": request_group_url}}],
    })
    return [_Entry(care_plan_url, care_plan), _Entry(request_group_url, request_group)]


def _consult_identifier(meta: ConsultMeta, ids: _Ids) -> dict:
    if meta.consult_id is not None:
        return {"system": SYSTEM_CONSULT, "value": str(meta.consult_id)}
    return {"system": "urn:ietf:rfc:3986", "value": ids("document")}


def result_rule_ids(result: ConsultResult) -> list[str]:
    """Every rule that fired for this result (options and actions), each once, in order."""
    found = [r.rule_id for o in result.options for r in o.rules] + [a.rule_id for a in result.actions]
    return list(dict.fromkeys(found))


# --- observations -----------------------------------------------------------------------------------------

def _observations(*, result: ConsultResult, workup: Workup, codes: Codes, ids: _Ids, subject: dict,
                  when: str) -> list[_Entry]:
    a, p, g = result.assessment, workup.patient, workup.genetics
    vital = [_concept(codes, "vital-signs")]
    lab = [_concept(codes, "laboratory")]

    def obs(name: str, **fields) -> _Entry:
        data = {"resourceType": "Observation", "status": "final", "subject": subject, "effectiveDateTime": when,
                **fields}
        return _Entry(ids(f"observation/{name}"), Observation.model_validate(data))

    out = [
        obs("height", category=vital, code=_concept(codes, "body-height"),
            valueQuantity=_quantity(a.height_cm, "cm", "cm")),
        obs("weight", category=vital, code=_concept(codes, "body-weight"),
            valueQuantity=_quantity(a.weight_kg, "kg", "kg"),
            note=[{"text": "actual body weight"}]),
        obs("bsa", category=vital, code=_concept(codes, "body-surface-area"),
            valueQuantity=_quantity(a.bsa_used_m2, "m²", "m2"),
            method={"text": labels.BSA_FORMULA[a.bsa_formula]},
            note=[{"text": f"calculated {number(a.bsa_m2)} m², capped at {number(a.bsa_cap_m2)} m²"}]
            if a.bsa_cap_m2 is not None else None),
    ]
    if p.creatinine is not None:
        key = "creatinine-mass" if p.creatinine.unit == "mg/dL" else "creatinine-molar"
        out.append(obs("creatinine", category=lab, code=_concept(codes, key),
                       valueQuantity=_quantity(p.creatinine.value, labels.LAB_UNIT[p.creatinine.unit],
                                               UCUM_LAB[p.creatinine.unit])))
    else:
        out.append(obs("creatinine", status="registered", category=lab, code=_concept(codes, "creatinine-mass"),
                       dataAbsentReason={"text": "not entered: doses depending on renal function not assessed"}))
    if a.crcl_ml_min is not None:
        basis = a.crcl_weight
        out.append(obs("crcl", category=lab, code=_concept(codes, "creatinine-clearance-cockcroft-gault"),
                       valueQuantity=_quantity(a.crcl_ml_min, "mL/min", "mL/min"),
                       method={"text": crcl_text(a) or "Cockcroft–Gault"},
                       component=[{"code": {"text": f"body weight used ({basis.basis})"},
                                   "valueQuantity": _quantity(basis.kg, "kg", "kg")}] if basis else None,
                       note=[{"text": a.crcl_note}] if a.crcl_note else None))
    out.append(obs("ecog", category=[_concept(codes, "survey")], code=_concept(codes, "ecog"), valueInteger=p.ecog))
    pending = set(g.pending)
    retested = "re-tested at relapse" if g.retested_at_relapse else "not re-tested at relapse"
    for lesion in GENES:
        gene = codes.genes[lesion]
        component = [{"code": _concept(codes, "gene-studied"), "valueCodeableConcept": {"text": gene.gene}}]
        common = {"category": lab, "code": {**_concept(codes, "genetic-variant-assessment"),
                                            "text": f"{gene.finding} at relapse"},
                  "component": component, "note": [{"text": retested}]}
        if lesion in pending:
            out.append(obs(f"genetics/{lesion}", status="registered", dataAbsentReason={"text": labels.AWAITED},
                           **common))
        else:
            answer = "present" if getattr(g, lesion) else "absent"
            out.append(obs(f"genetics/{lesion}", valueCodeableConcept=_concept(codes, answer), **common))
    for symbol in g.other_mutations:
        out.append(obs(f"genetics/other/{symbol}", category=lab,
                       code={**_concept(codes, "genetic-variant-assessment"), "text": f"{symbol} at relapse"},
                       component=[{"code": _concept(codes, "gene-studied"),
                                   "valueCodeableConcept": {"text": symbol}}],
                       valueCodeableConcept=_concept(codes, "present"), note=[{"text": retested}]))
    if "cd33_positive" in pending or g.cd33_positive is not None:
        cd33 = {"category": lab, "code": {"text": "CD33 expression on blasts"}}
        if "cd33_positive" in pending:
            out.append(obs("cd33", status="registered", dataAbsentReason={"text": labels.AWAITED}, **cd33))
        else:
            out.append(obs("cd33", valueCodeableConcept=_concept(codes, "present" if g.cd33_positive
                                                                  else "absent"), **cd33))
    return out


# --- the chosen option's orders ----------------------------------------------------------------------------

def _dosage_text(dv: DoseLineView) -> str:
    line = dv.line
    parts = [f"{line.drug} {dv.patient_dose} {line.route} {line.frequency}, {line.days}"
             + (f", {line.infusion}" if line.infusion else ""),
             f"regimen dose {dv.regimen_dose}", f"basis: {dv.basis}"]
    parts += [f"adjustment: {adj}" for adj in line.adjustments]
    if line.rounding:
        parts.append(f"rounding: {line.rounding}")
    if dv.not_assessed:
        parts.append(f"not assessed: {dv.not_assessed}")
    parts += [f"note: {n}" for n in line.notes]
    return "; ".join(parts)


def _medication_requests(chosen: OptionView, *, codes: Codes, ids: _Ids, subject: dict, when: str,
                         author: dict) -> list[_Entry]:
    if chosen.doses is None:
        return []
    out = []
    for n, dv in enumerate(chosen.doses.lines, start=1):
        line = dv.line
        medication: dict = {"text": line.drug}
        known = codes.medication(line.drug)
        if known is not None and known.rxnorm:
            medication["coding"] = [{"system": codes.systems["rxnorm"], "code": known.rxnorm, "display": line.drug}]
        dosage: dict = {
            "sequence": n,
            "text": _dosage_text(dv),
            "route": _concept(codes, codes.routes[line.route]) | {"text": line.route} if line.route in codes.routes
            else {"text": line.route},
            "timing": {"code": {"text": f"{line.frequency}, {line.days} of the cycle ({line.schedule_label})"}},
        }
        if line.rounded is not None and line.computed_unit and not line.withheld:
            dosage["doseAndRate"] = [{"doseQuantity": _quantity(line.rounded, line.computed_unit,
                                                                UCUM_DOSE[line.computed_unit])}]
        data = {
            "resourceType": "MedicationRequest", "status": "draft", "intent": "proposal",
            "medicationCodeableConcept": medication, "subject": subject, "authoredOn": when,
            "requester": author, "dosageInstruction": [dosage],
            "groupIdentifier": {"system": SYSTEM_OPTION, "value": chosen.option.id},
        }
        if line.withheld:
            data["doNotPerform"] = True
            data["reasonCode"] = [{"text": "; ".join(line.adjustments) or "label: do not give"}]
        out.append(_Entry(ids(f"medication-request/{n}"), MedicationRequest.model_validate(data)))
    return out


# --- the Composition's sections ----------------------------------------------------------------------------

def _section(key: str, title: str, text: dict, **more) -> dict:
    return {"title": title, "code": _own(SYSTEM_SECTION, key, title), "text": text, **more}


def _option_lines(o: OptionResult, numbers: dict[str, int]) -> list[str]:
    lines = [o.summary, f"Availability ({o.availability_detail.jurisdiction}): {o.availability}"
             + (f" — {o.availability_detail.note}" if o.availability_detail.note else "")]
    if o.targets:
        lines.append("Target: " + ", ".join(o.targets))
    if o.provisional:
        lines.append("Provisional: genetics were not re-tested at relapse")
    lines += [f"Reason {r.rule_id}: {r.text} [{r.attribution}] {ref_numbers_text(r.sources, numbers)}".rstrip()
              for r in o.rules]
    lines += [f"View of {v.source} ({v.rule_id}): {v.text}" for v in o.views]
    for ev in o.evidence:
        lines.append(f"Evidence: {ev.study} — {ev.design}, {ev.population}; {evidence_n(ev)}; "
                     f"{evidence_response(ev)}; median OS {evidence_os(ev)} "
                     f"{ref_numbers_text([ev.reference], numbers)}".rstrip())
    if not o.evidence and o.evidence_note:
        lines.append(f"Evidence: {o.evidence_note}")
    return lines


def _sections(*, view, meta: ConsultMeta, chosen: OptionView | None, observations: list[_Entry],
              plan_urls: list[str]) -> list[dict]:
    result, a = view.result, view.result.assessment
    numbers = view.reference_numbers
    assessment = [
        f"{a.status_label}: {a.status_definition}",
        f"Relapse number {a.relapse_number}" if a.relapse_number else None,
        f"CR1 duration {number(a.cr1_duration_months, 1)} months" if a.cr1_duration_months is not None else None,
        f"Early relapse: {'yes' if a.early_relapse else 'no'}" if a.early_relapse is not None else None,
        f"After allogeneic HCT, {number(a.months_since_hct, 1)} months" if a.post_hct else None,
        f"EPI score {a.epi.score} ({a.epi.group}): 1-year OS {number(a.epi.os_1y_pct, 0)}%, "
        f"5-year OS {number(a.epi.os_5y_pct, 0)}%" if a.epi else a.epi_note,
        f"Height {number(a.height_cm, 1)} cm, weight {number(a.weight_kg, 1)} kg, BSA {number(a.bsa_used_m2)} m² "
        f"({labels.BSA_FORMULA[a.bsa_formula]})",
        f"CrCl {crcl_text(a)}" if a.crcl_ml_min is not None else a.crcl_note,
        "Targetable lesions at relapse: " + (", ".join(a.targets) if a.targets else "none"),
        *a.notes,
    ]
    sections = [_section("assessment", "Assessment", _div(assessment),
                         entry=[{"reference": e.url} for e in observations])]
    if chosen is not None:
        o = chosen.option
        chosen_lines = [f"{o.name} — {labels.TIER[o.tier]}", o.summary,
                        f"Reason for choosing a non-preferred option: {meta.override_reason}"
                        if meta.override_reason else None,
                        f"Clinician's notes: {meta.notes}" if meta.notes else None,
                        f"Dosing basis: {chosen.doses.basis}" if chosen.doses else o.dosing_note,
                        *(_dosage_text(dv) for dv in (chosen.doses.lines if chosen.doses
                                                                             else []))]
        sections.append(_section("chosen-option", "Chosen option", _div(chosen_lines),
                                 entry=[{"reference": u} for u in plan_urls]))
    tiers = []
    for group in view.tier_groups:
        options = [{"title": ov.option.name, "code": _own(SYSTEM_OPTION, ov.option.id, ov.option.name),
                    "text": _list_div(f"{ov.option.name} — {group.label}", _option_lines(ov.option, numbers))}
                   for ov in group.options]
        tiers.append({"title": group.label, "code": _own(SYSTEM_TIER, group.tier, group.label),
                      "text": _div([group.description] if options else [group.description, "no option"]),
                      "section": options or None})
    sections.append(_section("options", "Every option by tier", _div(["Options ranked for this workup, "
                                                                      "each with its reasons and evidence."]),
                             section=tiers))
    warnings = [f"{act.text} ({act.rule_id})" for act in result.actions]
    if chosen is not None:
        warnings += [f"{w.text} {ref_numbers_text(w.sources, numbers)}".rstrip()
                     for w in chosen.option.warning_details]
        warnings += [f"{dv.line.drug} {dv.line.days}: not assessed — {dv.not_assessed}"
                     for dv in (chosen.doses.lines if chosen.doses else []) if dv.not_assessed]
    sections.append(_section("warnings", "Warnings", _list_div(None, warnings)))
    sections.append(_section("references", "References",
                             _list_div(None, [f"[{r.number}] {r.citation}" + (f" doi:{r.doi}" if r.doi else "")
                                              for r in result.references])))
    sections.append(_section("disclaimer", "Disclaimer", _div([result.disclaimer])))
    return sections
