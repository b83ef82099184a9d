"""Random and hostile form data (hypothesis) against the workspace and the consult endpoints: wrong types,
huge numbers, nan/inf, unicode, null bytes, missing and extra fields, HTML and script. Never a 500, nothing
stored unless the save succeeded, no markup echoed unescaped, and a readable message beside a bad field."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aml_salvage.forms import ConsultSaveForm, WorkupForm
from aml_salvage.models import AuditEvent, Consult
from tests.web.conftest import post_data

pytestmark = pytest.mark.django_db

FIELDS = sorted(set(WorkupForm().fields) | set(ConsultSaveForm().fields))
EXTRA_KEYS = ["csrfmiddlewaretoken", "is_staff", "author", "team", "id", "pk", "kb_version", "result", "workup",
              "created_at", "__proto__", "q", "next", "age_years[]", "patient.age_years"]
PAYLOADS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "</textarea><svg onload=alert(1)>",
            "{{ 7*7 }}", "{% debug %}", "'; DROP TABLE aml_salvage_consult; --"]
HOSTILE = [*PAYLOADS, "", " ", "nan", "NaN", "inf", "-inf", "1e309", "-0", "0x1F", "1_000", "١٢٣", "²", "٣.5",
           "\x00", "a\x00b", "9" * 400, str(10**30), str(-(10**30)), "1e-400", "true", "null", "[]", "{}",
           "é" * 3000, "\u202e\u0041", "🧬🩸", "\ud7ff"]

values = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=60),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
form_data = st.dictionaries(
    keys=st.sampled_from(FIELDS + EXTRA_KEYS),
    values=st.one_of(values, st.lists(values, min_size=2, max_size=3)),
    max_size=len(FIELDS) + 5,
)
# Start from a valid workup and damage part of it: exercises the deeper validation, not only "required".
damaged = st.builds(lambda changes, drop: {**{k: v for k, v in post_data().items() if k not in drop}, **changes},
                    form_data, st.sets(st.sampled_from(FIELDS), max_size=6))

HYPOTHESIS = settings(max_examples=60, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def check(response, data: dict, counts_before: tuple[int, int]) -> None:
    assert response.status_code < 500
    body = response.content.decode("utf-8", "replace")
    for value in (v for vs in data.values() for v in (vs if isinstance(vs, list) else [vs])):
        if value in PAYLOADS[:3]:
            assert value not in body, f"echoed unescaped: {value!r}"
    if response.status_code != 302:
        assert (Consult.objects.count(), AuditEvent.objects.count()) == counts_before, "stored on invalid input"


def counts() -> tuple[int, int]:
    return Consult.objects.count(), AuditEvent.objects.count()


@pytest.fixture
def signed_in(client_for, author):
    return client_for(author)


@HYPOTHESIS
@given(data=st.one_of(form_data, damaged), htmx=st.booleans())
def test_workspace_survives_hostile_input(signed_in, data, htmx):
    before = counts()
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    check(signed_in.post("/", data, **extra), data, before)


@HYPOTHESIS
@given(data=st.one_of(form_data, damaged))
def test_saving_survives_hostile_input(signed_in, data):
    before = counts()
    response = signed_in.post(reverse("consult_create"), data)
    check(response, data, before)
    if response.status_code == 302:  # only a save that passed every check stores anything
        assert counts() == (before[0] + 1, before[1] + 1)


@HYPOTHESIS
@given(data=st.one_of(form_data, damaged), htmx=st.booleans())
def test_revising_survives_hostile_input(signed_in, consult, data, htmx):
    before = counts()
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    check(signed_in.post(reverse("consult_revise", args=[consult.pk]), data, **extra), data, before)


@HYPOTHESIS
@given(query=values)
def test_search_survives_hostile_input(signed_in, query):
    response = signed_in.post(reverse("consult_list"), {"q": query}, follow=True)
    assert response.status_code == 200
    if query in PAYLOADS[:3]:
        assert query not in response.content.decode()


@pytest.mark.parametrize("pk", ["0", "9" * 18, "9" * 30])
def test_unknown_and_out_of_range_consult_ids_answer_404(signed_in, pk):
    for name in ("consult_detail", "consult_revise", "consult_pdf"):
        assert signed_in.get(f"/consults/{pk}/{'' if name == 'consult_detail' else name[8:] + '/'}").status_code == 404


@pytest.mark.parametrize("revision_of", ["²", "١٢٣", "9" * 30, "-1", "1.0", " 1"])
def test_a_malformed_revision_reference_is_refused_without_error(signed_in, consult, revision_of):
    response = signed_in.post(reverse("consult_create"), post_data(chosen_option_id="flag-ida",
                                                                   revision_of=revision_of))
    assert response.status_code in (400, 404)
    assert Consult.objects.count() == 1


@pytest.mark.parametrize(("field", "value", "message"), [
    ("age_years", "abc", "Enter a whole number."),
    ("age_years", str(10**30), "must be at most 120"),
    ("weight_kg", "nan", "Enter a number."),
    ("height_cm", "inf", "Enter a number."),
    ("other_mutations", "<script>alert(1)</script>", ""),
    # Contract v2 inputs
    ("bilirubin_value", "nan", "Enter a number."),
    ("bilirubin_value", "1e309", "Enter a number."),
    ("bilirubin_unit", "<script>alert(1)</script>", "Select a valid choice."),
    ("child_pugh", "D", "Select a valid choice."),
    ("crcl_weight", "obese", "Select a valid choice."),
    ("lvef_pct", "60.5", "Enter a whole number."),
    ("qtcf_ms", str(10**30), "must be at most 700"),
    ("prior_epirubicin_mg_m2", "-inf", "Enter a number."),
    ("genetics_pending", "<script>alert(1)</script>", "Select a valid choice."),
    ("genetics_pending", ["npm1", "flt3_itd", "\x00"], "Select a valid choice."),
])
def test_a_bad_field_gets_a_readable_message_beside_it(signed_in, field, value, message):
    response = signed_in.post("/", post_data(**{field: value}))
    body = response.content.decode()
    assert response.status_code == 200
    error = re.search(rf'<div id="err-{field}" class="field-error">(.*?)</div>', body, re.S).group(1)
    assert error.strip(), f"no message beside {field}"
    assert message in error
    assert "<script>alert(1)</script>" not in body
