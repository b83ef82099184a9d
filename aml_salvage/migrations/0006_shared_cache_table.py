"""The database cache table of ``settings.CACHES`` (Django's ``createcachetable``), created by ``migrate`` so
that every way of setting up a database — ``make run``, the deployment's owner role, the tests, the bench —
has it. It holds the CDS Hooks patient-view pre-fill inputs for a few minutes, shared by every app server."""

from django.core.management import call_command
from django.db import migrations


def create(apps, schema_editor) -> None:
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("aml_salvage", "0005_merge_unconditional_triggers")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
