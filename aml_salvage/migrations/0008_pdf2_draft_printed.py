"""Draft prints are audited: a new action, "draft_printed" (an event with no consult). Changing the field's
choices makes SQLite rebuild the audit table, which drops its immutability triggers: the last step puts them
back on every write-once table, exactly as 0007 does."""

from importlib import import_module

from django.db import migrations, models

secdb = import_module("aml_salvage.migrations.0004_secdb_unconditional_immutability")
merge = import_module("aml_salvage.migrations.0005_merge_unconditional_triggers")


def install(apps, schema_editor) -> None:
    secdb.install_on(schema_editor, merge.TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("aml_salvage", "0007_merge_security_events"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(
                max_length=32,
                choices=[
                    ("created", "created"),
                    ("viewed", "viewed"),
                    ("revised", "revised"),
                    ("printed", "printed"),
                    ("draft_printed", "draft printed"),
                    ("exported", "exported"),
                    ("denied", "access denied"),
                    ("listed", "consult list shown"),
                    ("searched", "identifier searched"),
                    ("signed_in", "signed in"),
                    ("sign_in_failed", "sign-in failed"),
                    ("signed_out", "signed out"),
                    ("locked_out", "sign-in paused"),
                    ("mfa_enrolled", "two-factor enrolled"),
                    ("mfa_verified", "two-factor code accepted"),
                    ("mfa_failed", "two-factor code refused"),
                    ("password_changed", "password changed"),
                    ("reset_link_issued", "reset link issued"),
                    ("deactivated", "account deactivated"),
                    ("reactivated", "account reactivated"),
                    ("trail_viewed", "audit trail viewed"),
                    ("trail_exported", "audit trail exported"),
                ],
            ),
        ),
        migrations.RunPython(install, migrations.RunPython.noop),
    ]
