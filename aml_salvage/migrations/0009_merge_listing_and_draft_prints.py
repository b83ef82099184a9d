"""Merge of 0008_growth_list_indexes (indexes for the consult list) and 0008_pdf2_draft_printed (the
``draft_printed`` audit action, whose AlterField rebuilds the audit table on SQLite). As after every merge, the
last step puts the unconditional immutability triggers back on every write-once table."""

from importlib import import_module

from django.db import migrations

secdb = import_module("aml_salvage.migrations.0004_secdb_unconditional_immutability")
merge = import_module("aml_salvage.migrations.0005_merge_unconditional_triggers")


def install(apps, schema_editor) -> None:
    secdb.install_on(schema_editor, merge.TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("aml_salvage", "0008_growth_list_indexes"),
        ("aml_salvage", "0008_pdf2_draft_printed"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
