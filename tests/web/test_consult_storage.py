"""How a saved consult is stored (issue 15, item 3): its result compressed against the knowledge base of its
version, which is stored once (aml_salvage/storage.py). The storage per consult is at most a quarter of the
JSON it replaced, the result reads back exactly, a consult renders byte for byte as saved after the knowledge
base changes, the knowledge content is as immutable as the consults, and migration 0004 converts existing
consults despite the immutability triggers. Runs on SQLite and, in `make test-postgres`, on PostgreSQL."""

from __future__ import annotations

import json
import re

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from aml_salvage import consults, services
from aml_salvage.domain.consult import consult_build
from aml_salvage.models import Consult, KnowledgeContent, KnowledgeContentWriteOnce
from tests.factories import YOUNG_FIT, build
from tests.storage_support import CONSULT_TABLES, consults_save, table_bytes, varied_workups
from tests.web.conftest import saved_consult
from tests.web.test_security_records import refused

STORAGE_SAMPLE = 200  # consults, the worked cases with new numbers: bench/storage.py measures 1,000 (README)
OLD_TABLE = "storage_test_old_json"


@pytest.mark.django_db(transaction=True)
def test_a_saved_consult_takes_at_most_a_quarter_of_the_bytes_of_the_json_it_replaced(author):
    saved = consults_save(author=author, workups=varied_workups(STORAGE_SAMPLE))
    new = sum(table_bytes(connection, CONSULT_TABLES).values()) / len(saved)

    # The former representation of the same consults, measured the same way: the workup and the full result
    # as JSON columns (text on SQLite, jsonb with PostgreSQL's TOAST compression), nothing else.
    postgres = connection.vendor == "postgresql"
    kind, cast = ("jsonb", "::jsonb") if postgres else ("text", "")
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {OLD_TABLE} (id integer PRIMARY KEY, workup {kind}, result {kind})")
    try:
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {OLD_TABLE} VALUES (%s, %s{cast}, %s{cast})",
                               [(c.pk, json.dumps(c.workup), json.dumps(c.result)) for c in saved])
        old = table_bytes(connection, (OLD_TABLE,))[OLD_TABLE] / len(saved)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {OLD_TABLE}")
    assert new <= 0.25 * old, f"{new:.0f} B per consult now against {old:.0f} B as JSON ({new / old:.1%})"
    assert KnowledgeContent.objects.count() == 1, "the knowledge base is stored once, whatever the consults"


@pytest.mark.django_db
def test_the_stored_result_reads_back_as_the_result_shown(author):
    workup = services.workup_parse(data=build(YOUNG_FIT, **{"genetics.flt3_itd": True}))
    shown = services.consult_evaluate(workup=workup)
    consult = saved_consult(author, build(YOUNG_FIT, **{"genetics.flt3_itd": True}))
    stored = Consult.objects.get(pk=consult.pk)
    assert stored.result == shown.model_dump(mode="json")
    assert consults.consult_result(consult=stored) == shown
    assert stored.kb_content.kb_version == shown.kb_version == stored.kb_version
    assert len(bytes(stored.result_zstd)) < len(json.dumps(stored.result)) / 10


def _next_version(kb):
    """Version N+1 of the knowledge base: a new version number, a changed evidence figure, reference citation
    and early-relapse cut-off — each shown on the page of a consult saved under version N."""
    major, minor, patch = kb.version.split(".")
    regimen = kb.regimens["flag-ida"]
    evidence = [regimen.evidence[0].model_copy(update={"value_pct": 99.0}), *regimen.evidence[1:]]
    ref_id = regimen.evidence[0].reference
    references = {**kb.references,
                  ref_id: kb.references[ref_id].model_copy(update={"citation": "A corrected citation, 2027."})}
    return kb.model_copy(update={
        "meta": kb.meta.model_copy(update={"version": f"{major}.{minor}.{int(patch) + 1}"}),
        "regimens": {**kb.regimens, "flag-ida": regimen.model_copy(update={"evidence": evidence})},
        "references": references,
        "parameters": kb.parameters.model_copy(update={"early_relapse_months": 7.0}),
    })


CSRF = re.compile(r'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+')


def _renders(client, consult_id: int, user) -> tuple[str, bytes, bytes]:
    """The saved consult's page (its per-request CSRF tokens blanked), JSON and printable HTML."""
    page = client.get(reverse("consult_detail", args=[consult_id]))
    assert page.status_code == 200
    consult = Consult.objects.get(pk=consult_id)  # read afresh from the database each time
    as_json = services.consult_to_json(result=consults.consult_result(consult=consult)).encode()
    printable = consults.consult_print(consult=consult, user=user, as_html=True)
    return CSRF.sub(r"\1", page.content.decode()), as_json, printable


@pytest.mark.django_db
def test_a_consult_saved_under_version_n_renders_byte_identically_after_version_n_plus_1(
        author, client_for, monkeypatch):
    kb = services.knowledge_get()
    consult = saved_consult(author)  # DT20 Patient 1: early relapse (CR1 9 months), FLAG-Ida among the options
    client = client_for(author)
    page, as_json, printable = _renders(client, consult.pk, author)
    assert "early relapse" in page and "flag-ida" in as_json.decode()

    newer = _next_version(kb)
    # Computed afresh, the same workup would read differently under N+1: what follows can fail.
    now = consult_build(workup=services.workup_parse(data=consult.workup), kb=newer)
    assert now.model_dump(mode="json") != consult.result and now.kb_version != consult.kb_version
    monkeypatch.setattr(services, "_kb", newer)

    page_after, json_after, printable_after = _renders(client, consult.pk, author)
    assert json_after == as_json
    assert printable_after == printable
    # The page says once that the knowledge base has changed since; everything else is as saved.
    notice = (f" <strong>— the knowledge base is now {newer.version}.</strong> This snapshot is unchanged; "
              "revise it to see the current result.")
    assert page_after.count(notice) == 1
    assert page_after.replace(notice, "") == page


@pytest.mark.django_db
def test_knowledge_content_cannot_be_changed_or_deleted(author):
    saved_consult(author)
    content = KnowledgeContent.objects.get()
    with pytest.raises(KnowledgeContentWriteOnce):
        content.save()
    with pytest.raises(KnowledgeContentWriteOnce):
        content.delete()
    with pytest.raises(KnowledgeContentWriteOnce):
        KnowledgeContent.objects.update(kb_version="0")
    table = KnowledgeContent._meta.db_table
    assert "update refused" in refused(f"UPDATE {table} SET content = %s", ["{}"])
    assert "delete refused" in refused(f"DELETE FROM {table}")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        assert "truncate refused" in refused(f"TRUNCATE {table} CASCADE")
    assert KnowledgeContent.objects.get().content == content.content


@pytest.mark.django_db(transaction=True)
def test_migration_0004_converts_saved_consults_despite_the_immutability_triggers(author):
    before = [("aml_salvage", "0003_record_immutability_triggers")]
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("aml_salvage")
    executor.migrate(before)
    try:
        apps = executor.loader.project_state(before).apps
        Legacy = apps.get_model("aml_salvage", "Consult")
        shown = {}
        for i, changes in enumerate([{}, {"genetics.idh1": True, "patient.age_years": 74}]):
            workup = services.workup_parse(data=build(YOUNG_FIT, **changes))
            result = services.consult_evaluate(workup=workup).model_dump(mode="json")
            legacy = Legacy.objects.create(
                team_id=author.groups.get().pk, author_id=author.pk, workup=workup.model_dump(mode="json"),
                result=result, kb_version=result["kb_version"], chosen_option_id=result["options"][0]["id"],
                chosen_option_tier=result["options"][0]["tier"], patient_identifier=f"MRN-{i}")
            shown[legacy.pk] = result
        with pytest.raises(IntegrityError), transaction.atomic():  # 0003's trigger guards the legacy rows
            Legacy.objects.filter(pk=legacy.pk).update(notes="changed")
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(latest)

    for pk, result in shown.items():
        assert Consult.objects.get(pk=pk).result == result
    assert "update refused" in refused("UPDATE aml_salvage_consult SET notes = 'changed'")
    assert "update refused" in refused("UPDATE aml_salvage_knowledgecontent SET kb_version = '0'")
    call_command("migrate", "--check", verbosity=0)  # nothing left to apply
