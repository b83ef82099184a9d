"""Merge of 0004_secauth (security events in the audit trail; on SQLite it rebuilds the audit table) with the
line ending at 0006. Whatever order the branches ran in, this puts the unconditional immutability triggers of
0004_secdb back on every write-once table (0005 lists them), as its last step."""

from importlib import import_module

from django.db import migrations

secdb = import_module("aml_salvage.migrations.0004_secdb_unconditional_immutability")
merge = import_module("aml_salvage.migrations.0005_merge_unconditional_triggers")


def install(apps, schema_editor) -> None:
    secdb.install_on(schema_editor, merge.TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("aml_salvage", "0006_shared_cache_table"),
        ("aml_salvage", "0004_secauth_security_events"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
