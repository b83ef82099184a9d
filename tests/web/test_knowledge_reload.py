"""Service survival, in one process: the knowledge base is pinned once loaded, a file corrupted under a running
server changes nothing until a deliberate reload, the reload refuses invalid files and keeps serving the good
ones, an option-detail token is completed only with the knowledge base it was computed with, and /health/
reports the database and the knowledge base served. (tests/integration/test_gunicorn_instances.py does the
same through real gunicorn processes.)"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.urls import reverse

from aml_salvage import services
from aml_salvage.domain.knowledge import KnowledgeError
from aml_salvage.health import MSG_KNOWLEDGE_UNAVAILABLE
from aml_salvage.views.option_detail import KB_CHANGED_MESSAGE, URL_NAME
from tests.factories import YOUNG_FIT
from tests.web.conftest import post_data
from tests.web.test_workspace import HX, TOKEN_META, workup_token_of

KB = Path(__file__).resolve().parent.parent.parent / "fixtures" / "knowledge"


def kb_copy(where: Path, *, version: str | None = None) -> Path:
    """A copy of the knowledge base, optionally with another version in meta.yaml."""
    shutil.copytree(KB, where)
    if version:
        meta = where / "meta.yaml"
        text = meta.read_text()
        current = services.knowledge_stamp_of(services.knowledge_get()).split("+")[0]
        assert f"version: {current}" in text or f'version: "{current}"' in text
        meta.write_text(text.replace(current, version, 1))
    return where


def corrupt(kb_dir: Path) -> None:
    regimen = sorted((kb_dir / "regimens").glob("*.yaml"))[0]
    regimen.write_text(regimen.read_text().replace("name:", "name: [unclosed", 1))


@pytest.fixture
def kb_dir(settings, tmp_path):
    """The server reads its knowledge base from a copy this test may change; the default is back afterwards."""
    services.knowledge_reset()
    settings.AML_SALVAGE_KNOWLEDGE_DIR = kb_copy(tmp_path / "knowledge")
    settings.AML_SALVAGE_KNOWLEDGE_CACHE_DIR = tmp_path / "cache"
    yield settings.AML_SALVAGE_KNOWLEDGE_DIR
    services.knowledge_reset()


# --- pinned until a deliberate reload -------------------------------------------------------------------------

def test_a_file_corrupted_after_start_changes_nothing_until_a_reload_which_refuses_it(kb_dir, caplog):
    served = services.knowledge_get()
    stamp = services.knowledge_stamp()
    corrupt(kb_dir)
    with pytest.raises(KnowledgeError):
        services.knowledge_load_cached(kb_dir, cache_dir=kb_dir.parent / "cache")  # the files are bad now
    assert services.knowledge_get() is served and services.knowledge_stamp() == stamp  # nothing re-read

    with pytest.raises(KnowledgeError) as refused:
        services.knowledge_reload()
    assert any("not valid YAML" in p for p in refused.value.problems)
    assert services.knowledge_get() is served and services.knowledge_stamp() == stamp  # still the good one
    assert "reload refused" in caplog.text and f"still serving {stamp}" in caplog.text


def test_a_reload_of_valid_files_switches_to_them(kb_dir, tmp_path):
    before = services.knowledge_stamp()
    shutil.rmtree(kb_dir)
    kb_copy(kb_dir, version="2099.1.1")
    assert services.knowledge_stamp() == before  # pinned
    after = services.knowledge_reload()
    assert after.startswith("2099.1.1+") and services.knowledge_stamp() == after
    assert services.knowledge_get().version == "2099.1.1"


def test_the_stamp_changes_with_the_content_even_when_the_version_does_not(kb_dir):
    before = services.knowledge_stamp()
    rules = kb_dir / "rules.yaml"
    text = rules.read_text()
    first_title = next(line for line in text.splitlines() if line.strip().startswith("title:"))
    rules.write_text(text.replace(first_title, first_title.rstrip() + " (edited)", 1))
    after = services.knowledge_reload()
    assert after.split("+")[0] == before.split("+")[0] and after != before


# --- option-detail tokens carry the knowledge base --------------------------------------------------------------

@pytest.fixture
def client(client_for, author):
    return client_for(author)


def test_a_result_from_one_knowledge_base_is_never_completed_with_another(kb_dir, client):
    panel = client.post(reverse("workspace"), post_data(), **HX).content.decode()
    token = workup_token_of(panel)
    url = reverse(URL_NAME, args=["hma"])
    detail = 'class="option-summary"'
    assert detail in client.get(url, **HX, **{TOKEN_META: token}).content.decode()

    shutil.rmtree(kb_dir)
    kb_copy(kb_dir, version="2099.1.1")
    services.knowledge_reload()  # what another server, or this one after a reload, serves

    response = client.get(url, **HX, **{TOKEN_META: token})
    body = response.content.decode()
    assert response.status_code == 200  # htmx swaps only successful responses: the message replaces "Loading…"
    assert KB_CHANGED_MESSAGE in body and detail not in body and "option-" not in body
    plain = client.get(url, **{TOKEN_META: token})
    assert plain.status_code == 409 and KB_CHANGED_MESSAGE in plain.content.decode()

    fresh = workup_token_of(client.post(reverse("workspace"), post_data(), **HX).content.decode())
    assert detail in client.get(url, **HX, **{TOKEN_META: fresh}).content.decode()  # refreshed: completed


# --- /health/ -------------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_health_answers_anonymous_visitors_with_ok_and_the_knowledge_base_stamp(kb_dir, client):
    client.logout()
    response = client.get("/health/?format=json")
    assert response.status_code == 200
    assert response.json() == {
        "Database(alias='default')": "OK",
        f"KnowledgeBase(version='{services.knowledge_stamp()}')": "OK",
    }
    assert "no-store" in response["Cache-Control"]  # a load balancer never sees a cached answer


@pytest.mark.django_db
def test_health_fails_when_no_valid_knowledge_base_can_be_served(kb_dir, client):
    client.logout()
    corrupt(kb_dir)
    services.knowledge_reset()  # a process that never had a valid knowledge base
    response = client.get("/health/?format=json")
    assert response.status_code == 500
    assert response.json() == {"Database(alias='default')": "OK",
                               "KnowledgeBase(version=None)": f"Unavailable: {MSG_KNOWLEDGE_UNAVAILABLE}"}
    assert str(kb_dir) not in response.content.decode()  # no paths, no details: validate_knowledge has them


# --- a save carries the knowledge base the clinician chose from -----------------------------------------------

def test_a_choice_made_on_one_knowledge_base_is_not_saved_with_a_result_from_another(kb_dir, client, author):
    from aml_salvage.consults import MSG_KB_CHANGED
    from aml_salvage.models import Consult
    from aml_salvage.views.workspace import KB_STAMP_FIELD

    panel = client.post(reverse("workspace"), post_data()).content.decode()
    seen = services.knowledge_stamp()
    assert f'name="{KB_STAMP_FIELD}" value="{seen}"' in panel  # the page posts back what it showed
    preferred = next(o for o in services.consult_evaluate(workup=services.workup_parse(data=YOUNG_FIT))
                     .options if o.tier == "preferred")

    shutil.rmtree(kb_dir)
    kb_copy(kb_dir, version="2099.1.1")
    services.knowledge_reload()  # the save reaches a server with another knowledge base

    typed = {"chosen_option_id": preferred.id, "patient_identifier": "MRN-55", "notes": "Tumour board."}
    response = client.post(reverse("consult_create"), post_data(**typed, **{KB_STAMP_FIELD: seen}))
    body = response.content.decode()
    assert response.status_code == 200 and not Consult.objects.exists()
    assert MSG_KB_CHANGED in body
    assert 'value="MRN-55"' in body and "Tumour board." in body  # nothing typed is lost
    now = services.knowledge_stamp()
    assert f'name="{KB_STAMP_FIELD}" value="{now}"' in body  # the updated result, to review

    response = client.post(reverse("consult_create"), post_data(**typed, **{KB_STAMP_FIELD: now}))
    assert response.status_code == 302 and Consult.objects.get().kb_version == "2099.1.1"
