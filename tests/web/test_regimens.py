"""The regimen library: every regimen and strategy with its schedule, evidence metric by metric,
availability by jurisdiction, warnings and references."""

from __future__ import annotations

import typing

import pytest
from django.urls import reverse
from django.utils.html import escape
from markupsafe import escape as component_escape  # the evidence table is a Jinja2 component

from aml_salvage import services
from aml_salvage.domain.knowledge import JURISDICTIONS, OPTION_IDS, OptionKind
from aml_salvage.presentation import evidence_response
from aml_salvage.presentation.labels import OPTION_KIND as KIND_LABELS

pytestmark = pytest.mark.django_db

def kb():
    return services.knowledge_get()


@pytest.fixture
def client(client_for, author):
    return client_for(author)


def test_every_kind_has_a_heading():
    assert set(KIND_LABELS) == set(typing.get_args(OptionKind))


def test_library_lists_every_regimen_and_strategy(client):
    body = client.get(reverse("regimen_list")).content.decode()
    for regimen_id in OPTION_IDS:
        assert f'href="{reverse("regimen_detail", args=[regimen_id])}"' in body, regimen_id
    assert kb().version in body


@pytest.mark.parametrize("regimen_id", OPTION_IDS)
def test_regimen_page_shows_the_basis(client, regimen_id):
    regimen = kb().regimens[regimen_id]
    response = client.get(reverse("regimen_detail", args=[regimen_id]))
    assert response.status_code == 200
    body = response.content.decode()
    assert escape(regimen.name) in body
    for heading in ("Components and schedule", "Evidence", "Availability by jurisdiction",
                    "Warnings and monitoring", "References"):
        assert f">{heading}</h2>" in body
    for ev in regimen.evidence:  # metric by metric, each defined
        assert component_escape(evidence_response(ev)) in body
        assert component_escape(f"{ev.metric}: {ev.metric_definition}") in body
    for step in (s for sched in regimen.schedules for s in sched.steps):
        assert f"<td>{escape(step.drug)}</td>" in body
    for jur in JURISDICTIONS:
        assert regimen.availability[jur].as_of.isoformat() in body
    if regimen.targets:
        assert ", ".join(regimen.targets) in body
    for warning_id in regimen.warnings:
        assert escape(kb().warnings[warning_id].text) in body


def test_unknown_regimen_is_404(client):
    assert client.get(reverse("regimen_detail", args=["not-a-regimen"])).status_code == 404
