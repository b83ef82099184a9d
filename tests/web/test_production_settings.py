"""Production settings and start-up, each in a fresh Python process: configured from the environment only,
`check --deploy` clean, refusing to start without a secret key or with a broken knowledge base (gunicorn
runs no system checks), and HTTPS-only behaviour over HTTP."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
KB = ROOT / "fixtures" / "knowledge"
GUNICORN = Path(sys.executable).parent / "gunicorn"


@pytest.fixture
def prod_env(tmp_path) -> dict[str, str]:
    ours = ("DJANGO_", "AML_SALVAGE_", "DATABASE_URL", "MIGRATION_DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update({
        "DJANGO_SETTINGS_MODULE": "aml_salvage.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
    })
    return env


def run(args: list[str], env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run([sys.executable, "manage.py", *args], env)


def python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run([sys.executable, "-c", textwrap.dedent(code)], env)


# --- settings ------------------------------------------------------------------------------------------------

def test_check_deploy_passes_with_no_warnings(prod_env):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=prod_env)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues (0 silenced)" in result.stdout
    assert "WARNING" not in result.stderr and "?: (" not in result.stderr


@pytest.mark.parametrize(("change", "message"), [
    ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY must be set in the environment"),
    ({"DJANGO_SECRET_KEY": "too-short"}, "DJANGO_SECRET_KEY must be at least 50 random characters"),
    ({"DJANGO_ALLOWED_HOSTS": ""}, "DJANGO_ALLOWED_HOSTS must name the host"),
    ({"DATABASE_URL": "mysql://u:p@db/aml"}, "DATABASE_URL must be a sqlite:/// or postgres:// URL"),
    ({"DJANGO_SECURE_SSL_REDIRECT": "maybe"}, "DJANGO_SECURE_SSL_REDIRECT must be true or false"),
    ({"DJANGO_TRUSTED_PROXIES": "10.0.0.1, nginx"}, "DJANGO_TRUSTED_PROXIES must list IP addresses or networks"),
    ({"MIGRATION_DATABASE_URL": "postgres://owner:pw@db/aml"}, "MIGRATION_DATABASE_URL is for PostgreSQL"),
    ({"DATABASE_URL": "postgres://app:pw@db/aml", "MIGRATION_DATABASE_URL": "postgres://owner:pw@db/other"},
     "MIGRATION_DATABASE_URL must name the same host, port and database"),
    ({"DATABASE_URL": "postgres://aml:pw@db/aml", "MIGRATION_DATABASE_URL": "postgres://aml:pw2@db/aml"},
     "must use two different roles"),
])
def test_refuses_to_start_on_a_missing_or_bad_setting(prod_env, change, message):
    prod_env.update(change)
    result = manage("check", env=prod_env)
    assert result.returncode != 0
    assert message in result.stderr


def test_settings_come_from_the_environment(prod_env):
    prod_env.update({"DATABASE_URL": "postgres://aml:s3cret@db.example.org:5432/aml_salvage",
                     "DJANGO_ALLOWED_HOSTS": "aml.example.org, aml2.example.org",
                     "AML_SALVAGE_INSTITUTION": "General Hospital", "DJANGO_TRUSTED_PROXY_COUNT": "1"})
    result = python("""
        import json, django
        django.setup()
        from django.conf import settings as s
        db = s.DATABASES["default"]
        print(json.dumps({"engine": db["ENGINE"], "host": db["HOST"], "name": db["NAME"],
            "hosts": s.ALLOWED_HOSTS, "institution": s.AML_SALVAGE_INSTITUTION, "debug": s.DEBUG,
            "proxies": s.AML_SALVAGE_TRUSTED_PROXY_COUNT, "ssl_header": s.SECURE_PROXY_SSL_HEADER,
            "session_secure": s.SESSION_COOKIE_SECURE, "csrf_secure": s.CSRF_COOKIE_SECURE,
            "hsts": s.SECURE_HSTS_SECONDS, "whitenoise": "whitenoise.middleware.WhiteNoiseMiddleware" in s.MIDDLEWARE}))
    """, prod_env)
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["engine"] == "django.db.backends.postgresql" and got["host"] == "db.example.org"
    assert got["name"] == "aml_salvage" and got["hosts"] == ["aml.example.org", "aml2.example.org"]
    assert got["institution"] == "General Hospital" and got["debug"] is False and got["proxies"] == 1
    assert got["ssl_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert got["session_secure"] and got["csrf_secure"] and got["hsts"] >= 31536000 and got["whitenoise"]


def test_two_database_roles_and_no_test_mechanism_in_production(prod_env):
    prod_env.update({"DATABASE_URL": "postgres://aml_app:pw@db.example.org:5432/aml_salvage",
                     "MIGRATION_DATABASE_URL": "postgres://aml_owner:pw2@db.example.org:5432/aml_salvage",
                     "DJANGO_TRUSTED_PROXIES": "10.0.0.0/24, 10.0.1.5"})
    result = python("""
        import json, django
        django.setup()
        from django.conf import settings as s
        from django.core.management import get_commands
        print(json.dumps({"users": {alias: db["USER"] for alias, db in s.DATABASES.items()},
            "proxies": [str(n) for n in s.AML_SALVAGE_TRUSTED_PROXIES], "flush": get_commands()["flush"],
            "test_app": any(app.startswith("tests") for app in s.INSTALLED_APPS)}))
    """, prod_env)
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["users"] == {"default": "aml_app", "owner": "aml_owner"}
    assert got["proxies"] == ["10.0.0.0/24", "10.0.1.5/32"]
    # The test suite's flush (which sets the immutability triggers aside) does not exist here: Django's own.
    assert got["flush"] == "django.core" and got["test_app"] is False


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(prod_env):
    result = python("""
        import django
        django.setup()
        from django.db import connection
        with connection.cursor() as c:
            c.execute("PRAGMA journal_mode"); mode = c.fetchone()[0]
            c.execute("PRAGMA busy_timeout"); timeout = c.fetchone()[0]
        print(mode, timeout, connection.transaction_mode, connection.settings_dict["CONN_MAX_AGE"],
              connection.settings_dict["CONN_HEALTH_CHECKS"])
    """, prod_env)
    assert result.returncode == 0, result.stderr
    # The connection is kept between requests (each worker its own), checked before reuse.
    assert result.stdout.split() == ["wal", "20000", "IMMEDIATE", "60", "True"]


# --- start-up through the WSGI module (what gunicorn imports) ---------------------------------------------------

@pytest.fixture
def wsgi_env(prod_env):
    """The production environment without DJANGO_SETTINGS_MODULE: wsgi.py must default to production."""
    del prod_env["DJANGO_SETTINGS_MODULE"]
    return prod_env


def fake_static_manifest(env: dict[str, str]) -> None:
    """A manifest naming every static file as itself, and the project's own files: what collectstatic writes,
    without its 10 s of hashing and compressing."""
    result = python("""
        import json, os, django
        django.setup()
        from django.contrib.staticfiles import finders
        paths = {p: p for f in finders.get_finders() for p, _ in f.list([])}
        root = os.environ["DJANGO_STATIC_ROOT"]
        os.makedirs(root, exist_ok=True)
        with open(os.path.join(root, "staticfiles.json"), "w") as out:
            json.dump({"paths": paths, "version": "1.1", "hash": "test"}, out)
    """, {**env, "DJANGO_SETTINGS_MODULE": "aml_salvage.settings.production"})
    assert result.returncode == 0, result.stderr
    shutil.copytree(ROOT / "static", env["DJANGO_STATIC_ROOT"], dirs_exist_ok=True)  # the project's own files


@pytest.fixture
def corrupt_kb(tmp_path) -> Path:
    kb = tmp_path / "knowledge"
    shutil.copytree(KB, kb)
    regimen = sorted((kb / "regimens").glob("*.yaml"))[0]
    regimen.write_text(regimen.read_text().replace("name:", "name: [unclosed", 1))
    return kb


def test_wsgi_starts_with_a_valid_configuration(wsgi_env):
    fake_static_manifest(wsgi_env)
    result = python("""
        import aml_salvage.wsgi, gc, os, weakref
        from django.template import engines
        from aml_salvage import services
        from aml_salvage.serving import GC_YOUNG_THRESHOLD
        env = engines["jinja2"].env
        print(os.environ["DJANGO_SETTINGS_MODULE"], services._kb is not None, gc.get_freeze_count() > 10_000,
              gc.get_threshold()[0] == GC_YOUNG_THRESHOLD,
              all(env.cache.get((weakref.ref(env.loader), name)) is not None
                  for name in ("live/update.html", "live/pieces.html", "partials/result_parts.html")))
    """, wsgi_env)
    assert result.returncode == 0, result.stderr
    # The knowledge base is loaded eagerly, then Django and it are set aside from the collector (gc.freeze), whose
    # youngest generation collects once per many requests, not several times in one; the live panel's templates
    # are compiled already, not on the first clinician's live update.
    assert result.stdout.split() == ["aml_salvage.settings.production", "True", "True", "True", "True"]


def test_wsgi_refuses_to_start_with_a_corrupt_knowledge_base(wsgi_env, corrupt_kb):
    fake_static_manifest(wsgi_env)
    wsgi_env["AML_SALVAGE_KNOWLEDGE_DIR"] = str(corrupt_kb)
    result = python("import aml_salvage.wsgi", wsgi_env)
    assert result.returncode == 4
    assert result.stderr.startswith("AML Salvage cannot start: the clinical knowledge base is missing or invalid")
    assert "does not serve partial advice" in result.stderr and "not valid YAML" in result.stderr
    assert "Traceback" not in result.stderr


def test_wsgi_refuses_to_start_without_a_knowledge_base(wsgi_env, tmp_path):
    fake_static_manifest(wsgi_env)
    wsgi_env["AML_SALVAGE_KNOWLEDGE_DIR"] = str(tmp_path / "nowhere")
    result = python("import aml_salvage.wsgi", wsgi_env)
    assert result.returncode == 4 and "knowledge base directory missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_wsgi_refuses_to_start_without_a_secret_key_or_collected_static_files(wsgi_env):
    result = python("import aml_salvage.wsgi", {**wsgi_env, "DJANGO_SECRET_KEY": ""})
    assert result.returncode == 4 and "DJANGO_SECRET_KEY must be set" in result.stderr
    assert "Traceback" not in result.stderr
    result = python("import aml_salvage.wsgi", wsgi_env)
    assert result.returncode == 4 and "collectstatic" in result.stderr


def test_gunicorn_stops_instead_of_serving_with_a_corrupt_knowledge_base(wsgi_env, corrupt_kb):
    fake_static_manifest(wsgi_env)
    wsgi_env["AML_SALVAGE_KNOWLEDGE_DIR"] = str(corrupt_kb)
    result = run([str(GUNICORN), "-c", "gunicorn.conf.py", "--workers", "2", "--bind", "127.0.0.1:0"], wsgi_env,
                 timeout=60)
    # The master loads the knowledge base before forking (preload_app) and stops with status 4, which the
    # systemd unit does not restart; no worker is ever started.
    assert result.returncode == 4, result.stderr
    assert "AML Salvage cannot start: the clinical knowledge base is missing or invalid" in result.stderr
    assert "Booting worker" not in result.stderr and "Traceback" not in result.stderr


# --- several app servers ---------------------------------------------------------------------------------------

APP_SERVER = """
    import json, sys, django
    django.setup()
    from django.test import Client
    https = {"HTTP_HOST": "example.org", "HTTP_X_FORWARDED_PROTO": "https"}
    step, cookie = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""
    client = Client(**https)
    client.cookies["sessionid"] = cookie
    if step == "sign-in":
        from django.contrib.auth.models import User
        from django.core.management import call_command
        call_command("migrate", verbosity=0)
        alice = User.objects.create_user("alice", password="a-long-test-password-42")
        User.objects.create_user("bob", password="a-long-test-password-42")
        # Production asks clinicians for a second factor: alice has one and gives a recovery code.
        from django_otp.plugins.otp_static.models import StaticDevice
        StaticDevice.objects.create(user=alice, name="recovery codes").token_set.create(token="abcd2345")
        client.post("/accounts/login/", {"username": "alice", "password": "a-long-test-password-42"})
        client.post("/accounts/two-factor/verify/", {"code": "abcd2345"})
        for _ in range(5):
            Client(**https).post("/accounts/login/", {"username": "bob", "password": "wrong-password-123"})
        print(json.dumps({"cookie": client.cookies["sessionid"].value}))
    elif step == "use":
        page = client.get("/")
        bob = Client(**https).post("/accounts/login/", {"username": "bob", "password": "a-long-test-password-42"})
        print(json.dumps({"page": page.status_code, "bob": bob.status_code}))
    elif step == "sign-out":
        print(json.dumps({"sign_out": client.post("/accounts/logout/").status_code}))
"""


def app_server(step: str, env: dict[str, str], cookie: str = "") -> dict:
    """One request on a fresh process: another app server, sharing only the database with the others."""
    result = run([sys.executable, "-c", textwrap.dedent(APP_SERVER), step, cookie], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_app_server_sees_the_same_sessions_and_sign_in_pauses(prod_env):
    # Nothing another app server needs lives in process memory: a sign-in (and its second factor) on one
    # server is honoured by another, a sign-out on one ends the session on all, and failed sign-ins counted
    # on one pause the username on all (django-axes' database handler).
    fake_static_manifest(prod_env)
    cookie = app_server("sign-in", prod_env)["cookie"]
    assert app_server("use", prod_env, cookie) == {"page": 200, "bob": 429}
    assert app_server("sign-out", prod_env, cookie) == {"sign_out": 302}
    assert app_server("use", prod_env, cookie)["page"] == 302


# --- behaviour over HTTP ----------------------------------------------------------------------------------------

def test_https_only_behaviour(prod_env):
    fake_static_manifest(prod_env)
    result = python("""
        import json, django
        django.setup()
        from django.core.management import call_command
        call_command("migrate", verbosity=0)
        from django.test import Client
        plain = Client().get("/accounts/login/", HTTP_HOST="example.org")
        page = Client().get("/accounts/login/", HTTP_HOST="example.org", HTTP_X_FORWARDED_PROTO="https")
        static = Client().get("/static/css/app.css", HTTP_HOST="example.org", HTTP_X_FORWARDED_PROTO="https")
        other = Client().get("/accounts/login/", HTTP_HOST="evil.example.com", HTTP_X_FORWARDED_PROTO="https")
        cookie = page.cookies["csrftoken"]
        print(json.dumps({"plain": [plain.status_code, plain.get("Location")], "page": page.status_code,
            "hsts": page.get("Strict-Transport-Security"), "csp": page.get("Content-Security-Policy"),
            "cookie_secure": bool(cookie["secure"]), "static": static.status_code, "other": other.status_code}))
    """, prod_env)
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout.strip().splitlines()[-1])
    assert got["plain"] == [301, "https://example.org/accounts/login/"]
    assert got["page"] == 200 and got["cookie_secure"] is True
    assert got["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert "default-src 'self'" in got["csp"] and "frame-ancestors 'none'" in got["csp"]
    assert got["static"] == 200, "WhiteNoise serves the static files"
    assert got["other"] == 400, "a host not in DJANGO_ALLOWED_HOSTS is refused"
