"""The EHR's side of CDS Hooks, played over HTTP on loopback (live_server): the test holds its own EC P-384 key,
publishes the public half as the configured JWK Set, signs each call's JWT, and reads the cards back."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.core import signing
from django.urls import reverse
from django.utils.html import escape

from aml_salvage.cds_hooks import auth, prefill
from aml_salvage.cds_hooks.prefill import MSG_EXPIRED
from aml_salvage.models import AuditEvent, Consult

ISSUER = "https://ehr.test.example"
KID = "ehr-key-1"
PATIENT_ID = "pat-123"


@pytest.fixture(scope="module")
def ehr_key():
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture
def ehr(settings, ehr_key, live_server):
    """The EHR trusted by the app: its issuer allowed and its public key configured."""
    public = jwt.algorithms.ECAlgorithm.to_jwk(ehr_key.public_key(), as_dict=True)
    settings.AML_SALVAGE_CDS_HOOKS_ISSUERS = [ISSUER]
    settings.AML_SALVAGE_CDS_HOOKS_JWKS = {"keys": [{**public, "kid": KID, "alg": "ES384", "use": "sig"}]}
    return live_server


def token(key, *, audience: str, issuer: str = ISSUER, lifetime: int = 120, issued_ago: int = 0, **extra) -> str:
    now = int(time.time()) - issued_ago
    claims = {"iss": issuer, "sub": "ehr-client", "aud": audience, "iat": now, "exp": now + lifetime,
              "jti": str(uuid.uuid4()), **extra}
    return jwt.encode(claims, key, algorithm="ES384", headers={"kid": KID, "typ": "JWT"})


def call(url: str, *, body=None, bearer: str | None = None, raw: bytes | None = None) -> tuple[int, dict, dict]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET",
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
    if bearer:
        request.add_header("Authorization", f"Bearer {bearer}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}"), dict(error.headers)


def medication_request(name: str, mg: float | None = None, *, status: str = "draft", rid: str = "mr-1") -> dict:
    mr = {"resourceType": "MedicationRequest", "id": rid, "status": status, "intent": "order",
          "subject": {"reference": f"Patient/{PATIENT_ID}"}, "medicationCodeableConcept": {"text": name}}
    if mg is not None:
        mr["dosageInstruction"] = [{"text": f"{name} {mg} mg daily", "doseAndRate": [{"doseQuantity": {
            "value": mg, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}}]}]
    return mr


def bundle(*resources: dict, kind: str = "collection") -> dict:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}


def order_sign(drafts: list[dict], active: list[dict] | None = None) -> dict:
    request = {"hook": "order-sign", "hookInstance": str(uuid.uuid4()), "fhirServer": "https://ehr.test.example/fhir",
               "context": {"userId": "Practitioner/1", "patientId": PATIENT_ID, "draftOrders": bundle(*drafts)}}
    if active is not None:
        request["prefetch"] = {"medications": bundle(*active, kind="searchset")}
    return request


def service_url(server, service_id: str) -> str:
    return server.url + reverse("cds_service", args=[service_id])


def post_hook(server, service_id: str, body, key, **token_args):
    url = service_url(server, service_id)
    return call(url, body=body, bearer=token(key, audience=url, **token_args))


# --- discovery and order-sign ----------------------------------------------------------------------------

def test_discovery_lists_both_services_with_their_prefetch(ehr):
    status, body, _ = call(ehr.url + "/cds-services")
    assert status == 200
    services = {s["id"]: s for s in body["services"]}
    assert services["aml-salvage-order-sign"]["hook"] == "order-sign"
    assert services["aml-salvage-patient-view"]["hook"] == "patient-view"
    assert "http://loinc.org|8302-2" in services["aml-salvage-patient-view"]["prefetch"]["observations"]


def test_venetoclax_with_posaconazole_gets_70_mg_after_the_ramp_up(ehr, ehr_key):
    status, body, _ = post_hook(ehr, "aml-salvage-order-sign", order_sign(
        [medication_request("Venetoclax 100 MG Oral Tablet", 400)],
        active=[medication_request("posaconazole 300 mg delayed-release tablet", status="active", rid="mr-9")]),
        ehr_key)
    assert status == 200, body
    [card] = body["cards"]
    assert card["indicator"] == "warning"
    assert "70 mg daily after the ramp-up (10 mg D1, 20 mg D2, 50 mg D3)" in card["summary"]
    assert "Venetoclax (Venclexta) prescribing information" in card["source"]["label"]
    [suggestion] = card["suggestions"]
    [action] = suggestion["actions"]
    assert action["type"] == "update" and action["resource"]["id"] == "mr-1"
    dose = action["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert (dose["value"], dose["unit"]) == (70, "mg")
    assert card["selectionBehavior"] == "at-most-one"


def test_venetoclax_with_voriconazole_gets_the_strong_inhibitor_dose(ehr, ehr_key):
    _, body, _ = post_hook(ehr, "aml-salvage-order-sign", order_sign(
        [medication_request("venetoclax", 400), medication_request("voriconazole", 200, rid="mr-2")]), ehr_key)
    venetoclax = next(c for c in body["cards"] if c["summary"].startswith("Venetoclax"))
    dose = venetoclax["suggestions"][0]["actions"][0]["resource"]["dosageInstruction"][0]["doseAndRate"][0]
    assert dose["doseQuantity"]["value"] == 100
    # voriconazole alone with venetoclax is no QT combination among the AML agents: one card only
    assert len(body["cards"]) == 1


def test_gilteritinib_with_posaconazole_is_a_qt_warning_citing_the_labels(ehr, ehr_key):
    _, body, _ = post_hook(ehr, "aml-salvage-order-sign", order_sign(
        [medication_request("gilteritinib 40 mg tablet", 120)],
        active=[medication_request("posaconazole", status="active", rid="mr-3")]), ehr_key)
    [card] = body["cards"]
    assert card["indicator"] == "warning" and card["summary"].startswith("QT prolongation: gilteritinib with posa")
    assert "monitor ECGs and electrolytes" in card["detail"] and "500 ms" in card["detail"]
    assert "Gilteritinib (Xospata) prescribing information" in card["source"]["label"]
    assert "suggestions" not in card


def test_an_order_without_interaction_gets_no_card(ehr, ehr_key):
    status, body, _ = post_hook(ehr, "aml-salvage-order-sign",
                                order_sign([medication_request("azacitidine", 140)]), ehr_key)
    assert (status, body) == (200, {"cards": []})


# --- authentication ----------------------------------------------------------------------------------------

def test_an_unknown_issuer_is_refused(ehr, ehr_key):
    status, body, headers = post_hook(ehr, "aml-salvage-order-sign", order_sign([]), ehr_key,
                                      issuer="https://rogue.example")
    assert status == 401 and body["issue"][0]["diagnostics"] == auth.MSG_UNKNOWN_ISSUER
    assert headers["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_is_refused(ehr, ehr_key):
    status, body, _ = post_hook(ehr, "aml-salvage-order-sign", order_sign([]), ehr_key, issued_ago=600)
    assert status == 401 and body["issue"][0]["diagnostics"] == auth.MSG_EXPIRED


def test_a_token_signed_by_another_key_or_for_another_service_is_refused(ehr, ehr_key):
    stranger = ec.generate_private_key(ec.SECP384R1())
    status, body, _ = post_hook(ehr, "aml-salvage-order-sign", order_sign([]), stranger)
    assert status == 401 and "Signature verification failed" in body["issue"][0]["diagnostics"]
    other = service_url(ehr, "aml-salvage-patient-view")
    status, body, _ = call(service_url(ehr, "aml-salvage-order-sign"), body=order_sign([]),
                           bearer=token(ehr_key, audience=other))
    assert status == 401 and "Audience" in body["issue"][0]["diagnostics"]


def test_a_missing_token_a_long_lived_one_and_a_replayed_one_are_refused(ehr, ehr_key):
    url = service_url(ehr, "aml-salvage-order-sign")
    assert call(url, body=order_sign([]))[1]["issue"][0]["diagnostics"] == auth.MSG_NO_TOKEN
    long_lived = token(ehr_key, audience=url, lifetime=3600)
    assert call(url, body=order_sign([]), bearer=long_lived)[1]["issue"][0]["diagnostics"] == auth.MSG_LIFETIME
    once = token(ehr_key, audience=url)
    assert call(url, body=order_sign([]), bearer=once)[0] == 200
    status, body, _ = call(url, body=order_sign([]), bearer=once)
    assert status == 401 and body["issue"][0]["diagnostics"] == auth.MSG_REPLAYED


# --- bad input: 400 with an OperationOutcome naming the element ---------------------------------------------

@pytest.mark.parametrize(("body", "element"), [
    ({"hook": "order-sign", "hookInstance": "x", "context": {"draftOrders": bundle(
        {"resourceType": "MedicationRequest", "status": "draft", "intent": "order",
         "medicationCodeableConcept": {"text": "venetoclax"}})}},
     "context.draftOrders.entry.0.resource.subject"),
    ({"hook": "order-sign", "hookInstance": "x", "context": {"draftOrders": bundle({"resourceType": "Pill"})}},
     "context.draftOrders.entry.0.resource.resourceType"),
    ({"hook": "order-sign", "hookInstance": "x", "context": {"draftOrders": {"resourceType": "Patient"}}},
     "context.draftOrders.resourceType"),
    ({"hook": "order-sign", "hookInstance": "x", "context": {}}, "context.draftOrders"),
    ({"hook": "patient-view", "hookInstance": "x", "context": {"draftOrders": bundle()}}, "hook"),
    ({"hookInstance": "x", "context": {}}, "hook"),
])
def test_a_malformed_hook_request_is_a_400_naming_the_element(ehr, ehr_key, body, element):
    status, outcome, headers = post_hook(ehr, "aml-salvage-order-sign", body, ehr_key)
    assert status == 400 and outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == [element]
    assert "Traceback" not in json.dumps(outcome)
    assert not Consult.objects.exists() and not AuditEvent.objects.exists()


def test_a_body_that_is_not_json_is_a_400(ehr, ehr_key):
    url = service_url(ehr, "aml-salvage-order-sign")
    status, outcome, _ = call(url, raw=b"\xff not json", bearer=token(ehr_key, audience=url))
    assert status == 400 and outcome["issue"][0]["diagnostics"] == "the request body is not a JSON object"


def test_a_malformed_prefetched_observation_is_a_400(ehr, ehr_key):
    body = patient_view_request(observations=bundle({"resourceType": "Observation", "status": "final",
                                                     "code": {"text": "height"}, "valueQuantity": {"value": "tall"}}))
    status, outcome, _ = post_hook(ehr, "aml-salvage-patient-view", body, ehr_key)
    assert status == 400
    assert outcome["issue"][0]["expression"] == ["prefetch.observations.entry.0.resource.valueQuantity.value"]


# --- patient-view ---------------------------------------------------------------------------------------------

def observation(code: str, when: str, **value) -> dict:
    return {"resourceType": "Observation", "status": "final", "subject": {"reference": f"Patient/{PATIENT_ID}"},
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]}, "effectiveDateTime": when, **value}


def patient_view_request(*, patient: dict | None = None, observations: dict | None = None) -> dict:
    prefetch = {}
    if patient is not None:
        prefetch["patient"] = patient
    if observations is not None:
        prefetch["observations"] = observations
    return {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/1", "patientId": PATIENT_ID}, "prefetch": prefetch}


RECORD = {
    "patient": {"resourceType": "Patient", "id": PATIENT_ID, "gender": "female", "birthDate": "1958-03-14",
                "name": [{"family": "Doe", "given": ["Jane"]}]},
    "observations": bundle(
        observation("8302-2", "2026-01-01T09:00:00Z", valueQuantity={"value": 160, "unit": "cm", "code": "cm"}),
        observation("8302-2", "2026-11-01T09:00:00Z", valueQuantity={"value": 163.5, "unit": "cm", "code": "cm"}),
        observation("29463-7", "2026-11-01T09:00:00Z", valueQuantity={"value": 61.2, "unit": "kg", "code": "kg"}),
        observation("2160-0", "2026-11-02T09:00:00Z", valueQuantity={"value": 0.9, "unit": "mg/dL"}),
        observation("89247-1", "2026-11-02T09:00:00Z", valueInteger=1),
        kind="searchset"),
}


def test_patient_view_counts_the_missing_inputs_and_links_to_a_prefilled_workspace(ehr, ehr_key, client_for,
                                                                                   author):
    status, empty, _ = post_hook(ehr, "aml-salvage-patient-view", patient_view_request(), ehr_key)
    assert status == 200
    status, body, _ = post_hook(ehr, "aml-salvage-patient-view", patient_view_request(**RECORD), ehr_key)
    assert status == 200
    [card], [nothing] = body["cards"], empty["cards"]
    assert card["indicator"] == "info" and card["source"]["label"].startswith("AML Salvage")
    found, missing_before = int(card["summary"].split(": ")[1].split()[0]), \
        int(nothing["summary"].split(": ")[1].split()[0])
    assert card["summary"] == f"R/R AML salvage review: {found} inputs missing"
    assert missing_before - found == 5  # age, sex, height, weight and ECOG came from the record
    assert "Age" not in card["detail"].split("Still to enter")[1]

    [link] = card["links"]
    assert link["type"] == "absolute"
    # No patient data in the URL: only the signed key (no name, birth date, age or measurement).
    for datum in ("Doe", "1958", "163.5", "61.2", PATIENT_ID):
        assert datum not in link["url"]
    parts = urlsplit(link["url"])
    assert parts.path == reverse("workspace")
    token_value = parse_qs(parts.query)["prefill"][0]

    page = client_for(author).get(reverse("workspace"), {"prefill": token_value})
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="height_cm" value="163.5"' in html and 'name="weight_kg" value="61.2"' in html
    assert 'name="creatinine_value" value="0.9"' in html
    assert '<option value="mg/dL" selected>' in html and '<option value="female" selected>' in html
    # The signed token holds a random key, not the values (a signature is readable, not secret).
    key = signing.loads(token_value, salt=prefill.SALT)
    assert isinstance(key, str) and len(key) >= 32 and not any(d in key for d in ("163.5", "61.2", "female"))


def test_a_forged_or_expired_prefill_link_opens_an_empty_workspace_saying_so(ehr, ehr_key, client_for, author,
                                                                             settings):
    _, body, _ = post_hook(ehr, "aml-salvage-patient-view", patient_view_request(**RECORD), ehr_key)
    token_value = parse_qs(urlsplit(body["cards"][0]["links"][0]["url"]).query)["prefill"][0]
    client = client_for(author)
    forged = client.get(reverse("workspace"), {"prefill": token_value[:-2] + "xx"}).content.decode()
    assert escape(MSG_EXPIRED) in forged and 'value="163.5"' not in forged
    settings.AML_SALVAGE_CDS_HOOKS_PREFILL_SECONDS = -1  # every token is now older than allowed
    expired = client.get(reverse("workspace"), {"prefill": token_value}).content.decode()
    assert escape(MSG_EXPIRED) in expired and 'value="163.5"' not in expired


def test_a_value_the_workspace_would_refuse_is_not_prefilled_and_counts_as_missing():
    from aml_salvage.cds_hooks.services import workup_missing

    kept, missing = workup_missing({"height_cm": "1635", "weight_kg": "61.2", "sex": "female"})
    assert kept == {"weight_kg": "61.2", "sex": "female"}  # 1635 cm: a unit error, never pre-filled
    assert "Height" in missing and "Weight" not in missing and "Sex" not in missing


def test_venetoclax_with_a_moderate_inhibitor_is_halved_per_the_label(ehr, ehr_key):
    _, body, _ = post_hook(ehr, "aml-salvage-order-sign", order_sign(
        [medication_request("venetoclax", 400)],
        active=[medication_request("Isavuconazonium sulfate 186 MG Oral Capsule", status="active", rid="m4")]),
        ehr_key)
    [card] = body["cards"]
    assert card["summary"].startswith("Venetoclax with isavuconazole: reduce the dose by at least 50% (400 → 200 mg)")
    assert "FDA: examples of drugs that interact with CYP enzymes" in card["source"]["label"]
    assert card["source"]["url"].startswith("https://www.fda.gov/")
    dose = card["suggestions"][0]["actions"][0]["resource"]["dosageInstruction"][0]["doseAndRate"][0]
    assert dose["doseQuantity"]["value"] == 200


def test_trusted_issuers_without_a_usable_key_fail_the_system_check(settings):
    from aml_salvage.checks import cds_hooks_keys_check

    settings.AML_SALVAGE_CDS_HOOKS_ISSUERS = [ISSUER]
    settings.AML_SALVAGE_CDS_HOOKS_JWKS = {"keys": []}
    assert [e.id for e in cds_hooks_keys_check(None)] == ["aml_salvage.E016"]
    settings.AML_SALVAGE_CDS_HOOKS_ISSUERS = []
    assert cds_hooks_keys_check(None) == []
