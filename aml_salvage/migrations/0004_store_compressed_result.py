"""Store each consult's result compressed against the knowledge base, kept once per version (issue 15, item 3).

New: the write-once table ``aml_salvage_knowledgecontent`` (the knowledge base as JSON, keyed by SHA-256),
and on the consult ``result_zstd`` (the result's JSON, zstd-compressed with that content as dictionary) and
``kb_content``; the JSON column ``result`` goes. See aml_salvage/storage.py and the README, "Stored data".

Existing consults are converted in place, which the immutability triggers of 0003 refuse (UPDATE). So the
conversion drops the consult table's triggers, rewrites each row and puts them back, all inside this
migration's one transaction: no other client ever sees the table unguarded (SQLite holds the write lock;
PostgreSQL's DROP TRIGGER locks the table until commit), and a failure rolls everything back. Each row's
compressed result is decompressed and compared with the stored JSON before it is written: the content of
the record does not change, only its encoding. Legacy rows are compressed against the knowledge base
installed when the migration runs (any dictionary decompresses what it compressed).

SQLite rebuilds a table on RemoveField/AlterField and drops its triggers (0003's caution), so the last step
installs the triggers again, on the consult table and on the new one. Reversible: backwards, the JSON is
written back from the compressed results.

Afterwards the space the old JSON took is given back by ``VACUUM`` (SQLite) or ``VACUUM FULL`` (PostgreSQL),
which cannot run inside a migration.
"""

import importlib

import django.db.models.deletion
from django.db import migrations, models

triggers = importlib.import_module("aml_salvage.migrations.0003_record_immutability_triggers")

CONSULT = {"aml_salvage_consult": triggers.TABLES["aml_salvage_consult"]}
CONTENT = {"aml_salvage_knowledgecontent": "knowledge-base content of saved consults is written once"}


def _statements(template: str, tables: dict[str, str], separator: str) -> list[str]:
    return [part.strip() for table, message in tables.items()
            for part in template.format(table=table, message=message).strip().split(separator) if part.strip()]


def _triggers_drop(schema_editor, tables: dict[str, str]) -> None:
    drop = triggers.SQLITE_DROP if schema_editor.connection.vendor == "sqlite" else triggers.POSTGRES_DROP
    for statement in _statements(drop, tables, "\n"):
        schema_editor.execute(statement)


def _triggers_create(schema_editor, tables: dict[str, str]) -> None:
    """0003's triggers on these tables (dropped first if present); PostgreSQL's function comes from 0003."""
    _triggers_drop(schema_editor, tables)
    if schema_editor.connection.vendor == "sqlite":
        for statement in _statements(triggers.SQLITE, tables, "END;"):
            schema_editor.execute(statement + " END;")
    else:
        for statement in _statements(triggers.POSTGRES, tables, ";\n"):
            schema_editor.execute(statement.rstrip(";"))


def _unguarded_rewrite(schema_editor, rewrite) -> None:
    """Run ``rewrite`` with the consult table's triggers off, then check the deferred foreign keys now
    (PostgreSQL refuses ALTER TABLE with pending trigger events) and put the triggers back."""
    _triggers_drop(schema_editor, CONSULT)
    rewrite()
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    _triggers_create(schema_editor, CONSULT)


def results_compress(apps, schema_editor) -> None:
    from aml_salvage import services, storage

    # On the migrating connection (`migrate --database owner`): another connection would wait for this one's
    # locks on the altered table, and this one for it.
    db = schema_editor.connection.alias
    Consult = apps.get_model("aml_salvage", "Consult")
    KnowledgeContent = apps.get_model("aml_salvage", "KnowledgeContent")
    if not Consult.objects.using(db).exists():
        return
    kb = services.knowledge_get()
    content = kb.model_dump_json().encode()
    sha256 = storage.content_sha256(content)
    if not KnowledgeContent.objects.using(db).filter(pk=sha256).exists():
        KnowledgeContent.objects.using(db).create(sha256=sha256, kb_version=kb.version, content=content.decode())

    def rewrite() -> None:
        for pk, result in Consult.objects.using(db).order_by("pk").values_list("pk", "result").iterator(chunk_size=200):
            blob = storage.result_compress(result, content=content)
            if storage.result_decompress(blob, content=content) != result:
                raise RuntimeError(f"consult {pk}: the compressed result does not read back as stored")
            Consult.objects.using(db).filter(pk=pk).update(result_zstd=blob, kb_content_id=sha256)

    _unguarded_rewrite(schema_editor, rewrite)


def results_decompress(apps, schema_editor) -> None:
    from aml_salvage import storage

    db = schema_editor.connection.alias
    Consult = apps.get_model("aml_salvage", "Consult")
    KnowledgeContent = apps.get_model("aml_salvage", "KnowledgeContent")
    contents = {row.pk: row.content.encode() for row in KnowledgeContent.objects.using(db).all()}

    def rewrite() -> None:
        rows = Consult.objects.using(db).order_by("pk").values_list("pk", "result_zstd", "kb_content_id")
        for pk, blob, sha256 in rows.iterator(chunk_size=200):
            result = storage.result_decompress(blob, content=contents[sha256])
            Consult.objects.using(db).filter(pk=pk).update(result=result)

    _unguarded_rewrite(schema_editor, rewrite)


def triggers_install(apps, schema_editor) -> None:
    _triggers_create(schema_editor, CONSULT | CONTENT)


def content_triggers_uninstall(apps, schema_editor) -> None:
    _triggers_drop(schema_editor, CONTENT)


def consult_triggers_install(apps, schema_editor) -> None:
    _triggers_create(schema_editor, CONSULT)


class Migration(migrations.Migration):
    dependencies = [("aml_salvage", "0003_record_immutability_triggers")]

    operations = [
        # Backwards, SQLite's table rebuilds drop the consult triggers again: this first step restores them last.
        migrations.RunPython(migrations.RunPython.noop, consult_triggers_install),
        migrations.CreateModel(
            name="KnowledgeContent",
            fields=[
                ("sha256", models.CharField(help_text="SHA-256 of content (UTF-8)", max_length=64, primary_key=True,
                                            serialize=False)),
                ("kb_version", models.CharField(db_index=True, max_length=32)),
                ("content", models.TextField(help_text="the knowledge base as JSON (readable; the zstd dictionary)")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"verbose_name_plural": "knowledge contents"},
        ),
        migrations.AddField(
            model_name="consult",
            name="result_zstd",
            field=models.BinaryField(null=True),
        ),
        migrations.AddField(
            model_name="consult",
            name="kb_content",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="consults",
                                    to="aml_salvage.knowledgecontent"),
        ),
        migrations.AlterField(
            model_name="consult",
            name="result",
            field=models.JSONField(null=True, help_text="the full consult result shown at the time"),
        ),
        migrations.RunPython(results_compress, results_decompress),
        migrations.RemoveField(model_name="consult", name="result"),
        migrations.AlterField(
            model_name="consult",
            name="result_zstd",
            field=models.BinaryField(help_text="the full consult result shown at the time: zstd-compressed JSON "
                                               "with kb_content as dictionary (see README, Stored data)"),
        ),
        migrations.AlterField(
            model_name="consult",
            name="kb_content",
            field=models.ForeignKey(help_text="the knowledge base the result is compressed against",
                                    on_delete=django.db.models.deletion.PROTECT, related_name="consults",
                                    to="aml_salvage.knowledgecontent"),
        ),
        migrations.RunPython(triggers_install, content_triggers_uninstall),
    ]
