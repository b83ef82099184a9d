"""The documented two-role deployment, from an empty database (README, "Security and audit"): the database
administrator creates an owner role, the database (owned by it) and a runtime role; the owner runs
``migrate --database owner`` and ``grant_runtime_role`` with the production settings; the app servers then
connect as the runtime role (DATABASE_URL) and work, and that role cannot remove a record or unprotect it.
"""

from __future__ import annotations

import json
import secrets

import psycopg
import pytest
from django.db import connection

from tests.web.test_production_settings import fake_static_manifest, manage, prod_env, python  # noqa: F401

pytestmark = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL roles")


def administrator():
    """A session as the cluster's administrator (the suite's superuser), outside any test transaction."""
    params = connection.settings_dict
    return psycopg.connect(host=params["HOST"], port=params["PORT"], dbname="postgres", user=params["USER"],
                           autocommit=True)


@pytest.fixture
def fresh_database(prod_env):  # noqa: F811
    """An empty database owned by a new owner role, a new runtime role, and the production environment for
    both connections."""
    suffix = secrets.token_hex(4)
    owner, runtime, name = f"aml_owner_{suffix}", f"aml_app_{suffix}", f"aml_deploy_{suffix}"
    with administrator() as admin:
        admin.execute(f"CREATE ROLE {owner} LOGIN")
        admin.execute(f"CREATE ROLE {runtime} LOGIN")
        admin.execute(f"CREATE DATABASE {name} OWNER {owner}")
    where = f"{connection.settings_dict['HOST']}:{connection.settings_dict['PORT']}/{name}"
    prod_env.update({"DATABASE_URL": f"postgres://{runtime}@{where}",
                     "MIGRATION_DATABASE_URL": f"postgres://{owner}@{where}"})
    yield {"env": prod_env, "runtime": runtime, "owner": owner, "name": name}
    with administrator() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"DROP ROLE IF EXISTS {runtime}")
        admin.execute(f"DROP ROLE IF EXISTS {owner}")


APP_SERVER = """
    import json, django
    django.setup()
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client
    from tests.web.conftest import post_data
    https = {"HTTP_HOST": "example.org", "HTTP_X_FORWARDED_PROTO": "https"}
    user = User.objects.create_user("alice", password="a-long-test-password-42")
    user.groups.add(Group.objects.create(name="Leukemia A"))
    client = Client(**https)
    Client(**https).post("/accounts/login/", {"username": "alice", "password": "wrong-password-123"})
    signed_in = client.post("/accounts/login/", {"username": "alice", "password": "a-long-test-password-42"})
    saved = client.post("/consults/new/", post_data(chosen_option_id="flag-ida"))
    page = client.get(saved["Location"])
    refused = []
    for statement in ("DELETE FROM aml_salvage_auditevent", "TRUNCATE aml_salvage_consult CASCADE",
                      "ALTER TABLE aml_salvage_consult DISABLE TRIGGER USER", "CREATE TABLE ddl (id int)"):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET aml_salvage.allow_record_deletion = 'on'")
                cursor.execute(statement)
        except Exception as exc:
            refused.append(type(exc.__cause__).__name__)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, count(*) FROM aml_salvage_auditevent GROUP BY 1")
        who, events = cursor.fetchone()
    print(json.dumps({"sign_in": signed_in.status_code, "save": saved.status_code, "page": page.status_code,
                      "refused": refused, "user": who, "events": events}))
"""


def test_a_fresh_two_role_deployment_migrates_as_owner_and_serves_as_the_runtime_role(fresh_database):
    env = fresh_database["env"]
    assert manage("migrate", "--noinput", "--database", "owner", env=env).returncode == 0
    granted = manage("grant_runtime_role", env=env)
    assert granted.returncode == 0, granted.stderr
    assert f"{fresh_database['runtime']}: " in granted.stdout
    assert "no TRUNCATE, no DDL, owns nothing" in granted.stdout
    assert "does not know" not in granted.stdout and "can still create" not in granted.stdout
    fake_static_manifest(env)
    result = python(APP_SERVER, env)
    assert result.returncode == 0, result.stderr[-3000:]
    got = json.loads(result.stdout.strip().splitlines()[-1])
    assert got == {"sign_in": 302, "save": 302, "page": 200, "user": fresh_database["runtime"], "events": 2,
                   "refused": ["InsufficientPrivilege"] * 4}
