"""The FHIR R4 export: every worked case's saved consult as a document Bundle that fhir.resources parses back,
holding the consult's doses, tiers and rule ids; who may export it, and the audit trail it leaves."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle

from aml_salvage import services
from aml_salvage.domain.knowledge import KnowledgeError, knowledge_load
from aml_salvage.fhir.bundle import SYSTEM_OPTION, SYSTEM_RULE, SYSTEM_TIER
from aml_salvage.fhir.export import FHIR_JSON, consult_fhir_export
from aml_salvage.models import AuditEvent
from tests.factories import case_files
from tests.web.conftest import saved_consult

ROOT = Path(__file__).resolve().parent.parent.parent
CASES = case_files()
ROUTES = {"PO": "26643006", "IV": "47625008", "SC": "34206005"}  # SNOMED CT, FHIR route-codes value set


def _resources(bundle: Bundle, kind: str) -> list:
    return [e.resource for e in bundle.entry if e.resource.get_resource_type() == kind]


def _case_workup(path: Path) -> dict:
    return json.loads(path.read_text())["workup"]


def _tier_of_options(composition) -> dict[str, str]:
    """Option id → the tier section it is listed under."""
    options = next(s for s in composition.section if s.code.coding[0].code == "options")
    found = {}
    for tier in options.section:
        assert tier.code.coding[0].system == SYSTEM_TIER
        for option in tier.section or []:
            assert option.code.coding[0].system == SYSTEM_OPTION
            found[option.code.coding[0].code] = tier.code.coding[0].code
    return found


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_every_worked_case_exports_a_bundle_matching_its_consult(path, author):
    consult = saved_consult(author, _case_workup(path), patient_identifier="MRN-77")
    bundle = Bundle.model_validate_json(consult_fhir_export(consult=consult, user=author))
    stored = consult.result

    assert bundle.type == "document"
    composition = bundle.entry[0].resource
    assert composition.get_resource_type() == "Composition"
    titles = [s.title for s in composition.section]
    assert titles[:5] == ["Assessment", "Chosen option", "Every option by tier", "Warnings", "References"]

    # Tiers: every option of the consult, under the tier the consult gave it.
    assert _tier_of_options(composition) == {o["id"]: o["tier"] for o in stored["options"]}

    # Doses: one MedicationRequest per dose line of the chosen option, with its patient dose and route.
    chosen = next(o for o in stored["options"] if o["id"] == consult.chosen_option_id)
    requests = _resources(bundle, "MedicationRequest")
    assert len(requests) == len(chosen["doses"])
    for mr, line in zip(requests, chosen["doses"], strict=True):
        assert mr.intent == "proposal" and mr.medicationCodeableConcept.text == line["drug"]
        dosage = mr.dosageInstruction[0]
        assert dosage.route.text == line["route"] and line["days"] in dosage.timing.code.text
        if line["route"] in ROUTES:
            assert dosage.route.coding[0].code == ROUTES[line["route"]]
        assert line["basis"] in dosage.text
        for adjustment in line["adjustments"]:
            assert adjustment in dosage.text
        if line["rounded"] is not None and not line["withheld"]:
            assert float(dosage.doseAndRate[0].doseQuantity.value) == pytest.approx(line["rounded"])
            assert dosage.doseAndRate[0].doseQuantity.unit == line["computed_unit"]
        else:
            assert not dosage.doseAndRate
    group = _resources(bundle, "RequestGroup")[0]
    assert [a.resource.reference for a in group.action or []] == [e.fullUrl for e in bundle.entry
                                                            if e.resource.get_resource_type() == "MedicationRequest"]
    assert _resources(bundle, "CarePlan")[0].intent == "proposal"

    # Rule ids and knowledge-base version in the Provenance.
    provenance = _resources(bundle, "Provenance")[0]
    rule_ids = {e.what.identifier.value for e in provenance.entity if e.what.identifier.system == SYSTEM_RULE}
    expected = {r["rule_id"] for o in stored["options"] for r in o["rules"]} | \
        {a["rule_id"] for a in stored["actions"]}
    assert rule_ids == expected
    assert stored["kb_version"] in {e.what.identifier.value for e in provenance.entity}
    assert provenance.agent[0].who.display == author.get_full_name()

    # The patient by the identifier entered: no name, no date of birth.
    patient = _resources(bundle, "Patient")[0]
    assert [i.value for i in patient.identifier] == ["MRN-77"] and not patient.name and not patient.birthDate


def test_observations_carry_the_dosing_inputs_and_each_genetic_finding(author):
    workup = _case_workup(next(p for p in CASES if p.stem == "dt20-patient1-flt3-itd"))
    workup["genetics"]["pending"] = ["tp53"]
    consult = saved_consult(author, workup)
    bundle = Bundle.model_validate_json(consult_fhir_export(consult=consult, user=author))
    assessment = consult.result["assessment"]
    by_code = {o.code.coding[0].code: o for o in _resources(bundle, "Observation") if o.code.coding}
    assert float(by_code["8302-2"].valueQuantity.value) == workup["patient"]["height_cm"]
    assert float(by_code["29463-7"].valueQuantity.value) == workup["patient"]["weight_kg"]
    assert float(by_code["8277-6"].valueQuantity.value) == pytest.approx(assessment["bsa_used_m2"])
    assert by_code["89247-1"].valueInteger == workup["patient"]["ecog"]
    crcl = next(o for o in _resources(bundle, "Observation") if o.code.text.startswith("Creatinine clearance"))
    assert float(crcl.valueQuantity.value) == pytest.approx(assessment["crcl_ml_min"])
    assert crcl.component[0].code.text == f"body weight used ({assessment['crcl_weight']['basis']})"
    genetics = {o.code.text: o for o in _resources(bundle, "Observation") if o.code.text.endswith("at relapse")}
    assert genetics["FLT3-ITD at relapse"].valueCodeableConcept.coding[0].code == "LA9633-4"  # present
    assert genetics["NPM1 mutation at relapse"].valueCodeableConcept.coding[0].code == "LA9634-2"  # absent
    pending = genetics["TP53 mutation at relapse"]
    assert pending.status == "registered" and pending.valueCodeableConcept is None
    assert pending.dataAbsentReason.text == "result awaited"


def test_a_revision_replaces_the_consult_it_revises_and_keeps_the_clinicians_notes(consult, author):
    revision = saved_consult(author, revision_of=consult, notes="discussed with the patient's family")
    bundle = Bundle.model_validate_json(consult_fhir_export(consult=revision, user=author))
    composition = bundle.entry[0].resource
    [relation] = composition.relatesTo
    assert relation.code == "replaces" and relation.targetIdentifier.value == str(consult.pk)
    chosen = next(s for s in composition.section if s.title == "Chosen option")
    assert "Clinician&#x27;s notes: discussed with the patient&#x27;s family" in chosen.text.div


def test_every_code_exported_is_one_recorded_with_its_source(author):
    consult = saved_consult(author, _case_workup(CASES[0]))
    document = json.loads(consult_fhir_export(consult=consult, user=author))
    codes = services.knowledge_get().codes
    recorded = {(codes.systems[c.system], c.code) for c in codes.concepts.values() if c.code}

    def codings(node):
        if isinstance(node, dict):
            if "system" in node and "code" in node and not node["system"].startswith("urn:") \
                    and node["system"] != "http://unitsofmeasure.org":
                yield node["system"], node["code"]
            for value in node.values():
                yield from codings(value)
        elif isinstance(node, list):
            for value in node:
                yield from codings(value)

    exported = set(codings(document))
    assert exported and exported <= recorded


def test_a_medication_code_citing_an_unknown_reference_is_refused(tmp_path):
    kb_dir = tmp_path / "kb"
    shutil.copytree(ROOT / "fixtures" / "knowledge", kb_dir)
    codes = yaml.safe_load((kb_dir / "codes.yaml").read_text())
    codes["medications"][0]["source"] = ["no-such-label"]
    (kb_dir / "codes.yaml").write_text(yaml.safe_dump(codes))
    with pytest.raises(KnowledgeError) as refused:
        knowledge_load(kb_dir)
    assert any("codes.medications.venetoclax.source: unknown reference 'no-such-label'" in p
               for p in refused.value.problems)


# --- the view ----------------------------------------------------------------------------------------------

def test_author_and_teammate_export_and_each_export_is_audited(consult, author, teammate, client):
    url = reverse("consult_fhir", args=[consult.pk])
    for user in (author, teammate):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"].startswith(FHIR_JSON)
        assert "MRN-1001" not in response["Content-Disposition"]
        Bundle.model_validate_json(response.content)
        assert AuditEvent.objects.filter(consult=consult, user=user, action="exported").count() == 1


def test_the_consult_page_links_to_its_export(consult, author, client):
    client.force_login(author)
    page = client.get(reverse("consult_detail", args=[consult.pk])).content.decode()
    assert f'href="{reverse("consult_fhir", args=[consult.pk])}"' in page


def test_another_teams_consult_is_not_found_and_not_audited(consult, outsider, client):
    client.force_login(outsider)
    assert client.get(reverse("consult_fhir", args=[consult.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action="exported").exists()


def test_signed_out_visitor_is_sent_to_sign_in(consult, client):
    response = client.get(reverse("consult_fhir", args=[consult.pk]))
    assert response.status_code == 302 and reverse("login") in response["Location"]
    assert not AuditEvent.objects.filter(action="exported").exists()


# --- the command line --------------------------------------------------------------------------------------

def test_recommend_writes_the_workup_as_a_fhir_bundle(tmp_path):
    case = next(p for p in CASES if p.stem == "aza-ven-with-posaconazole")
    out = tmp_path / "consult.fhir.json"
    proc = subprocess.run(
        [sys.executable, "manage.py", "recommend", str(case), "--quiet", "--fhir", str(out),
         "--patient-id", "MRN-9", "--clinician", "Dr Ada"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "aml_salvage.settings.test"})
    assert proc.returncode == 0, proc.stderr
    bundle = Bundle.model_validate_json(out.read_text())
    result = services.consult_evaluate(workup=services.workup_parse(data=_case_workup(case)))
    preferred = next(o for o in result.options if o.tier == "preferred")
    care_plan = _resources(bundle, "CarePlan")[0]
    assert care_plan.title == preferred.name
    venetoclax = [mr for mr in _resources(bundle, "MedicationRequest") if mr.medicationCodeableConcept.text
                  == "venetoclax"]
    assert [float(mr.dosageInstruction[0].doseAndRate[0].doseQuantity.value) for mr in venetoclax] == \
        [line.rounded for line in preferred.doses if line.drug == "venetoclax"]
    assert [i.value for i in _resources(bundle, "Patient")[0].identifier] == ["MRN-9"]
    assert _resources(bundle, "Provenance")[0].agent[0].who.display == "Dr Ada"
