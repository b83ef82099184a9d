"""Merge of 0004_secdb (unconditional immutability triggers) and 0004_store (compressed results, and the
write-once ``KnowledgeContent`` table).

Whichever of the two ran last, this puts 0004_secdb's unconditional triggers on every write-once table:
saved consults, audit events and knowledge-base content. 0004_store installs 0003's triggers (on SQLite they
asked a connection function that no longer exists; on PostgreSQL they call the shared function, whose body
0004_secdb replaced), and SQLite's table rebuilds in 0004_store drop triggers; after this step all three
tables refuse UPDATE, DELETE and TRUNCATE unconditionally.
"""

from importlib import import_module

from django.db import migrations

secdb = import_module("aml_salvage.migrations.0004_secdb_unconditional_immutability")
store = import_module("aml_salvage.migrations.0004_store_compressed_result")
TABLES = secdb.TABLES | store.CONTENT


def install(apps, schema_editor) -> None:
    secdb.install_on(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("aml_salvage", "0004_secdb_unconditional_immutability"),
        ("aml_salvage", "0004_store_compressed_result"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
