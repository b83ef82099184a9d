"""What `grant_runtime_role` would grant, decided table by table (the PostgreSQL run shows it applied:
tests/postgres/test_runtime_role.py). Every table of the app is classified on purpose: a new model fails
here until someone decides whether the app only appends to it."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from aml_salvage.management.commands.grant_runtime_role import AML_SALVAGE_TABLES, table_privileges


def test_every_table_of_the_app_is_classified():
    plan = table_privileges()
    for model in apps.get_app_config("aml_salvage").get_models():
        if model._meta.managed:
            assert model._meta.db_table in AML_SALVAGE_TABLES, model
            assert model._meta.db_table in plan


def test_records_are_read_and_appended_only_and_nothing_is_ever_truncated():
    plan = table_privileges()
    assert plan["aml_salvage_consult"][0] == plan["aml_salvage_auditevent"][0] == ("SELECT", "INSERT")
    assert plan["django_session"][0] == ("SELECT", "INSERT", "UPDATE", "DELETE")
    assert plan["auth_user"][0] == ("SELECT", "INSERT", "UPDATE", "DELETE")
    assert plan["django_admin_log"][0] == ("SELECT", "INSERT")
    assert not [table for table, (privileges, _why) in plan.items()
                if set(privileges) - {"SELECT", "INSERT", "UPDATE", "DELETE"}]


@pytest.mark.django_db
@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="the SQLite answer")
def test_on_sqlite_the_command_says_there_are_no_roles():
    with pytest.raises(CommandError, match="grant_runtime_role is for PostgreSQL. SQLite has no roles"):
        call_command("grant_runtime_role", role="aml_app")
    assert connection.vendor == "sqlite"
