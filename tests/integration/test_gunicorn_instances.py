"""Real gunicorn processes on loopback with gunicorn.conf.py and the production settings, over one database of
this run's kind (SQLite, or PostgreSQL in `make test-postgres`):

- a knowledge-base file corrupted under a running server changes nothing: killed workers come back serving the
  version loaded at start; SIGHUP (the deliberate reload) refuses the bad file and goes on serving the good one,
  and /health/ says so; a valid change is taken at the next SIGHUP;
- two instances with different knowledge bases against one database: a result computed by one is never
  completed by the other (the refresh answer instead), and the two share no pid file or control socket;
- workers do not outlive their master.

Every process is started in its own session and the whole group is killed at the end, whatever happened.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from aml_salvage.views.option_detail import KB_CHANGED_MESSAGE, TOKEN_HEADER
from tests.integration.test_backup_restore import fresh_database
from tests.web.conftest import post_data
from tests.web.test_production_settings import fake_static_manifest

ROOT = Path(__file__).resolve().parent.parent.parent
KB = ROOT / "fixtures" / "knowledge"
GUNICORN = Path(sys.executable).parent / "gunicorn"
HOST = "example.org"  # DJANGO_ALLOWED_HOSTS; requests go to 127.0.0.1 with this Host header
START_TIMEOUT_S = 60
DETAIL = 'class="option-summary"'  # in an option's detail, and only there




# --- set-up ---------------------------------------------------------------------------------------------------

def kb_copy(where: Path, *, version: str | None = None) -> Path:
    shutil.copytree(KB, where)
    if version:
        meta = where / "meta.yaml"
        meta.write_text(re.sub(r'(?m)^version: .*$', f'version: "{version}"', meta.read_text(), count=1))
    return where


def corrupt(kb_dir: Path) -> None:
    regimen = sorted((kb_dir / "regimens").glob("*.yaml"))[0]
    regimen.write_text(regimen.read_text().replace("name:", "name: [unclosed", 1))


def base_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AML_SALVAGE_", "DATABASE_URL"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "aml_salvage.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),  # the same on every instance, as the README says
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DATABASE_URL": database_url,
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
        "AML_SALVAGE_KNOWLEDGE_CACHE_DIR": str(tmp_path / "kb-cache"),
    })
    return env


SETUP = """
    import django, json
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import Group, User
    from django.test import Client
    user = User.objects.create_user("alice", password="a-long-test-password-42")
    user.groups.add(Group.objects.create(name="Leukemia A"))
    client = Client()
    client.force_login(user)  # a session row in the shared database
    # Production asks clinicians for a second factor: this session has passed it (django-otp's session key).
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.create(user=user, name="phone", confirmed=True).persistent_id
    session.save()
    print(json.dumps({"session": client.cookies["sessionid"].value}))
"""


def database_with_a_signed_in_clinician(env: dict[str, str]) -> str:
    """Migrate, create a clinician, sign in; the session cookie (valid on every instance)."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(SETUP)], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])["session"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- one instance -------------------------------------------------------------------------------------------------

@dataclass
class Instance:
    name: str
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def master(self) -> int:
        return self.process.pid

    def workers(self) -> set[int]:
        return children_of(self.master)

    def request(self, method: str, path: str, *, headers: dict | None = None, body: str | None = None,
                https: bool = True) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            sent = {"Host": HOST, **({"X-Forwarded-Proto": "https"} if https else {}), **(headers or {})}
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()

    def health(self) -> tuple[int, dict]:
        # Plain HTTP, as a load balancer on the private network probes it: answered, not redirected.
        status, body = self.request("GET", "/health/?format=json", https=False)
        return status, json.loads(body) if body.startswith("{") else {"body": body[:200]}

    def stamp(self) -> str:
        status, checks = self.health()
        assert status == 200, (status, checks, self.log.read_text()[-3000:])
        (label,) = [k for k in checks if k.startswith("KnowledgeBase(")]
        return re.fullmatch(r"KnowledgeBase\(version='(.+)'\)", label).group(1)


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat")
    return state.exists() and state.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def wait_for(condition, *, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}" + (f"\n{log.read_text()[-3000:]}" if log else ""))


@contextmanager
def gunicorn(tmp_path: Path, env: dict[str, str], *, name: str, kb_dir: Path, run_dir: Path,
             workers: int = 2) -> Iterator[Instance]:
    port = free_port()
    log = tmp_path / f"{name}.log"
    instance_env = {**env, "AML_SALVAGE_INSTANCE": name, "AML_SALVAGE_BIND": f"127.0.0.1:{port}",
                    "AML_SALVAGE_WORKERS": str(workers), "AML_SALVAGE_RUN_DIR": str(run_dir),
                    "AML_SALVAGE_KNOWLEDGE_DIR": str(kb_dir)}
    with log.open("wb") as out:
        process = subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py"], env=instance_env, cwd=ROOT,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    instance = Instance(name, port, process, log)
    try:
        def up():
            if process.poll() is not None:
                raise AssertionError(f"gunicorn {name} exited {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                return instance.health()[0] == 200 and len(instance.workers()) == workers
            except OSError:
                return False
        wait_for(up, timeout=START_TIMEOUT_S, what=f"gunicorn {name} to serve", log=log)
        yield instance
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)  # the master and anything it started, nothing else
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if process.poll() is None:
            process.wait(timeout=10)


def replaced_workers(instance: Instance, before: set[int], count: int) -> set[int]:
    """Wait until ``count`` workers run and none of them is one of ``before``."""
    def fresh():
        now = instance.workers()
        return now if len(now) == count and not now & before else None
    return wait_for(fresh, timeout=START_TIMEOUT_S, what=f"new workers of {instance.name}", log=instance.log)


# --- the clinician's requests ---------------------------------------------------------------------------------------

def session_headers(session: str, csrf: str) -> dict[str, str]:
    return {"Cookie": f"sessionid={session}; csrftoken={csrf}", "X-CSRFToken": csrf,
            "Origin": f"https://{HOST}", "HX-Request": "true"}


def live_update(instance: Instance, session: str) -> str:
    """The live panel for the default workup, as htmx asks for it; the workup token it carries."""
    csrf = secrets.token_hex(16)  # a CSRF secret the client chose: 32 characters, as Django's own
    status, body = instance.request(
        "POST", "/", body=urllib.parse.urlencode(post_data(), doseq=True),
        headers={**session_headers(session, csrf), "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, body[:500]
    match = re.search(r'<div id="result-head" class="result-head" data-workup-token="([^"]+)"', body)
    assert match, "the result's head carries its workup token"
    return match.group(1)


def option_detail(instance: Instance, session: str, token: str, option_id: str = "hma") -> tuple[int, str]:
    return instance.request("GET", f"/result/options/{option_id}/",
                            headers={**session_headers(session, "x" * 32), TOKEN_HEADER: token})


# --- tests ------------------------------------------------------------------------------------------------------------

@pytest.fixture
def deployment(tmp_path):
    with fresh_database(tmp_path, "instances") as url:
        env = base_env(tmp_path, url)
        fake_static_manifest(env)
        yield env, database_with_a_signed_in_clinician(env)


@pytest.mark.uses_database  # the deployment: a fresh database of this run's kind
def test_a_corrupted_file_changes_nothing_until_a_reload_which_refuses_it(tmp_path, deployment):
    env, _session = deployment
    kb_dir = kb_copy(tmp_path / "knowledge")
    with gunicorn(tmp_path, env, name="solo", kb_dir=kb_dir, run_dir=tmp_path / "run") as server:
        good = server.stamp()
        corrupt(kb_dir)

        # Workers killed (a crash, the OOM killer) come back from the master with the knowledge base it holds.
        before = server.workers()
        for pid in before:
            os.kill(pid, signal.SIGKILL)
        replaced_workers(server, before, 2)
        assert {server.stamp() for _ in range(6)} == {good}
        assert server.process.poll() is None, "the master is still running"

        # The deliberate reload reads the bad file, refuses it, and new workers serve the good version.
        before = server.workers()
        os.kill(server.master, signal.SIGHUP)
        replaced_workers(server, before, 2)
        assert {server.stamp() for _ in range(6)} == {good}
        log = server.log.read_text()
        assert "Knowledge base reload refused" in log and f"still serving {good}" in log and "not valid YAML" in log

        # A valid knowledge base is taken at the next reload.
        shutil.rmtree(kb_dir)
        kb_copy(kb_dir, version="2099.1.1")
        before = server.workers()
        os.kill(server.master, signal.SIGHUP)
        replaced_workers(server, before, 2)
        new = server.stamp()
        assert new.startswith("2099.1.1+") and new != good


@pytest.mark.uses_database  # the deployment: a fresh database of this run's kind
def test_two_instances_with_different_knowledge_bases_never_complete_each_others_results(tmp_path, deployment):
    env, session = deployment
    run_dir = tmp_path / "run"  # shared, as /run is: each instance keeps its own files in it
    kb_a = kb_copy(tmp_path / "kb-a")
    kb_b = kb_copy(tmp_path / "kb-b", version="2099.1.1")  # an upgrade rolling out
    with gunicorn(tmp_path, env, name="a", kb_dir=kb_a, run_dir=run_dir) as a, \
            gunicorn(tmp_path, env, name="b", kb_dir=kb_b, run_dir=run_dir) as b:
        assert a.stamp() != b.stamp()
        assert (run_dir / "a.pid").read_text().strip() == str(a.master)
        assert (run_dir / "b.pid").read_text().strip() == str(b.master)
        assert (run_dir / "a.ctl").is_socket() and (run_dir / "b.ctl").is_socket()

        from_a, from_b = live_update(a, session), live_update(b, session)  # one session, both servers
        status, body = option_detail(a, session, from_a)
        assert status == 200 and DETAIL in body
        status, body = option_detail(b, session, from_a)
        assert status == 200 and KB_CHANGED_MESSAGE in body and DETAIL not in body
        status, body = option_detail(a, session, from_b)
        assert KB_CHANGED_MESSAGE in body and DETAIL not in body
        status, body = option_detail(b, session, from_b)
        assert status == 200 and DETAIL in body


@pytest.mark.uses_database  # the deployment: a fresh database of this run's kind
def test_workers_stop_when_their_master_dies(tmp_path, deployment):
    env, _session = deployment
    with gunicorn(tmp_path, env, name="orphans", kb_dir=kb_copy(tmp_path / "knowledge"),
                  run_dir=tmp_path / "run") as server:
        workers = server.workers()
        assert len(workers) == 2
        os.kill(server.master, signal.SIGKILL)
        server.process.wait(timeout=10)
        # Well within the 15 s after which an idle sync worker would notice by itself: PR_SET_PDEATHSIG.
        wait_for(lambda: not any(alive(pid) for pid in workers), timeout=5, what="orphaned workers to exit")
        with pytest.raises(OSError):
            server.health()


@pytest.mark.parametrize(("name", "value", "message"), [
    ("AML_SALVAGE_INSTANCE", "../other", "AML_SALVAGE_INSTANCE must be letters, digits"),
    ("AML_SALVAGE_WORKERS", "four", "AML_SALVAGE_WORKERS must be a whole number, not 'four'"),
    ("AML_SALVAGE_WORKERS", "0", "AML_SALVAGE_WORKERS must be at least 1"),
])
def test_the_gunicorn_configuration_refuses_bad_values_by_name(tmp_path, name, value, message):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AML_SALVAGE_")}
    result = subprocess.run([str(GUNICORN), "-c", "gunicorn.conf.py", "--check-config"],
                            env={**env, name: value}, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and message in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
