"""Personas (after healthchecks' hc/test.py): two clinicians of one care team, an outsider of another
team, a clinician without a team, a staff member, and the anonymous visitor. Plus POST data builders
that go through the form's own inverse mapping, so a test speaks in workups, not in field names."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from aml_salvage import services
from aml_salvage.consults import consult_create
from aml_salvage.forms import form_data_from_workup
from tests.factories import YOUNG_FIT, build

PASSWORD = "not-a-real-password-7f3a"  # test database only; MD5 hasher in settings/test.py


def _user(username: str, *groups: Group, **extra) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, first_name=username.title(), **extra)
    for group in groups:
        user.groups.add(group)
    return user


@pytest.fixture
def team(db):
    return Group.objects.create(name="Leukemia A")


@pytest.fixture
def other_team(db):
    return Group.objects.create(name="Leukemia B")


@pytest.fixture
def author(team):
    return _user("alice", team)


@pytest.fixture
def teammate(team):
    return _user("bob", team)


@pytest.fixture
def outsider(other_team):
    return _user("olga", other_team)


@pytest.fixture
def loner(db):
    return _user("lonny")


@pytest.fixture
def staff(team):
    return _user("stan", team, is_staff=True)


@pytest.fixture
def client_for(client):
    """client_for(user) → the test client signed in as that user."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


def post_data(workup: dict | None = None, **save) -> dict:
    """Form POST data for a workup (default DT20 Patient 1 archetype) plus save fields."""
    data = form_data_from_workup(workup if workup is not None else YOUNG_FIT)
    data.update({k: v for k, v in save.items() if v is not None})
    return data


def saved_consult(user, workup: dict | None = None, **kwargs):
    """A consult saved through the service, as the save view does."""
    parsed = services.workup_parse(data=workup if workup is not None else YOUNG_FIT)
    result = services.consult_evaluate(workup=parsed)
    preferred = next(o for o in result.options if o.tier == "preferred")
    defaults = {"chosen_option_id": preferred.id, "override_reason": "", "notes": "", "patient_identifier": "AB-1"}
    defaults.update(kwargs)
    return consult_create(author=user, workup=parsed, result=result, **defaults)


@pytest.fixture
def consult(author):
    return saved_consult(author, patient_identifier="MRN-1001")


__all__ = ["PASSWORD", "build", "post_data", "saved_consult"]
