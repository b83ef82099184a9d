"""The newcomer's first account: a clinician in a care team, the password typed at a prompt and checked by
the project's validators; no default password anywhere."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db

GOOD = "tangerine-ward-rounds-42"


@pytest.fixture
def typed(monkeypatch):
    """typed(*passwords) → what the clinician types at each getpass prompt, in order."""

    def answers(*values):
        queue = list(values)
        monkeypatch.setattr("getpass.getpass", lambda prompt="": queue.pop(0))

    return answers


def test_creates_a_clinician_in_a_new_team(typed):
    typed(GOOD, GOOD)
    call_command("create_clinician", "--username", "alice", "--team", "Leukemia A", "--first-name", "Alice")
    user = User.objects.get(username="alice")
    assert user.check_password(GOOD) and not user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["Leukemia A"]


def test_joins_an_existing_team(typed):
    Group.objects.create(name="Leukemia A")
    typed(GOOD, GOOD)
    call_command("create_clinician", "--username", "bob", "--team", "Leukemia A")
    assert Group.objects.count() == 1


def test_staff_gets_read_only_admin_access(typed):
    typed(GOOD, GOOD)
    call_command("create_clinician", "--username", "stan", "--team", "T", "--staff")
    user = User.objects.get(username="stan")
    assert user.is_staff and not user.is_superuser
    assert user.has_perm("aml_salvage.view_consult") and not user.has_perm("aml_salvage.change_consult")


@pytest.mark.parametrize("weak", ["", "short", "123456789012", "password1234"])
def test_weak_or_empty_passwords_are_refused(typed, weak):
    typed(weak, weak, weak, weak, weak, weak)
    with pytest.raises(CommandError, match="no acceptable password"):
        call_command("create_clinician", "--username", "carol", "--team", "T")
    assert not User.objects.exists()


def test_mismatch_then_good_password(typed):
    typed(GOOD, GOOD + "x", GOOD, GOOD)
    call_command("create_clinician", "--username", "dave", "--team", "T")
    assert User.objects.get(username="dave").check_password(GOOD)


def test_prompts_for_username_team_and_names(typed, monkeypatch):
    answers = iter(["erin", "Leukemia B", "Erin", "Okafor"])
    prompts = []
    monkeypatch.setattr("builtins.input", lambda prompt="": prompts.append(prompt) or next(answers))
    typed(GOOD, GOOD)
    call_command("create_clinician")
    erin = User.objects.get(username="erin")
    assert erin.groups.get().name == "Leukemia B"
    assert erin.get_full_name() == "Erin Okafor"  # what consults and the PDF print as the clinician
    assert [p.split(" ")[0] for p in prompts] == ["Username:", "Care", "First", "Last"]


def test_names_by_flag_are_stored_without_prompting(typed):
    typed(GOOD, GOOD)
    call_command("create_clinician", "--username", "fay", "--team", "T", "--first-name", "Fay", "--last-name", "Ng")
    assert User.objects.get(username="fay").get_full_name() == "Fay Ng"


def test_existing_username_is_refused(typed, author):
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_clinician", "--username", "alice", "--team", "T")
