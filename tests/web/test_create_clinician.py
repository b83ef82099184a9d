"""The newcomer's first account: a clinician in a care team, the password typed at a prompt and checked by
the project's validators; no default password anywhere."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from aml_salvage.management.commands.create_clinician import MSG_USERNAME_TAKEN
from tests.web.conftest import PASSWORD, otp_verified

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


def test_staff_can_lift_a_colleagues_sign_in_pause(typed, client, author):
    typed(GOOD, GOOD)
    call_command("create_clinician", "--username", "stan", "--team", "T", "--staff")
    for _ in range(5):
        client.post(reverse("login"), {"username": "alice", "password": "wrong-password-123"})
    assert client.post(reverse("login"), {"username": "alice", "password": PASSWORD}).status_code == 429
    staff = Client(REMOTE_ADDR="10.9.9.9")
    stan = User.objects.get(username="stan")
    staff.force_login(stan)
    otp_verified(staff, stan)  # staff sign in with a second factor
    attempt = AccessAttempt.objects.get(username="alice")
    page = staff.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    assert page.status_code == 302 and not AccessAttempt.objects.exists()
    assert Client(REMOTE_ADDR="10.1.1.1").post(reverse("login"), {"username": "alice", "password": PASSWORD}
                                               ).status_code == 302


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


@pytest.mark.parametrize("taken", ["ALICE", "Alice", "alice"])
def test_a_username_differing_only_in_case_is_refused(typed, author, taken):
    with pytest.raises(CommandError) as refusal:
        call_command("create_clinician", "--username", taken, "--team", "T")
    assert str(refusal.value) == MSG_USERNAME_TAKEN.format(username=taken, existing="alice")
    assert User.objects.count() == 1


@pytest.mark.parametrize(("username", "reason"), [
    ("alice smith", "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_"),
    ("alice<script>", "Enter a valid username."),
    ("a;drop", "Enter a valid username."),
    ("x" * 151, "Ensure this value has at most 150 characters (it has 151)."),
])
def test_usernames_are_checked_like_djangos_own_forms(typed, username, reason):
    with pytest.raises(CommandError) as refusal:
        call_command("create_clinician", "--username", username, "--team", "T")
    message = str(refusal.value)
    assert message.startswith(f"username {username!r} refused: ") and reason in message
    assert not User.objects.exists(), "refused before the password prompt; nothing created"


@pytest.mark.parametrize(("typed_name", "stored"), [
    ("zoë.oneil", "zoë.oneil"),  # letters of any language, as Django's forms allow
    ("\uff4d\uff41\uff52\uff49\uff45", "marie"),  # full-width letters, normalised (NFKC) as Django does
])
def test_unicode_usernames_are_accepted_and_normalised(typed, typed_name, stored):
    typed(GOOD, GOOD)
    call_command("create_clinician", "--username", typed_name, "--team", "T")
    assert User.objects.get().username == stored


def test_an_empty_username_is_refused_naming_the_field(typed, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda prompt="": "   ")
    with pytest.raises(CommandError, match="^username: a username is required$"):
        call_command("create_clinician", "--team", "T")
