"""The audit trail takes security events: sign-ins (and failures), sign-outs, lockouts, two-factor events,
password changes, reset links, deactivations, consult lists and searches, denied access and the trail's own
export. Such events have no consult (and a failed sign-in may have no user): both become optional, with the
username tried, the client address and a detail (a search term, the reason a session ended).

On SQLite, altering the table rebuilds it, which drops its triggers (migration 0003's caution). The triggers
on the table are read before the change and created again after it, exactly as they were, so this migration
keeps whatever immutability triggers the table has at the time it runs.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TABLE = "aml_salvage_auditevent"
_kept: list[tuple[str, str]] = []


def _triggers_remember(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [TABLE])
        _kept[:] = cursor.fetchall()


def _triggers_restore(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [TABLE])
        present = {name for (name,) in cursor.fetchall()}
    for name, sql in _kept:
        if name not in present:
            schema_editor.execute(sql, params=None)
    _kept.clear()


class Migration(migrations.Migration):

    dependencies = [
        ("aml_salvage", "0003_record_immutability_triggers"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(_triggers_remember, _triggers_restore),
        migrations.AddField(
            model_name="auditevent",
            name="detail",
            field=models.TextField(blank=True,
                                   help_text="what was searched or filtered, why a session ended, for whom"),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="ip_address",
            field=models.GenericIPAddressField(blank=True, help_text="the client address, if known", null=True),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="username",
            field=models.CharField(blank=True, max_length=150,
                                   help_text="the username at the time, or the one tried at a failed sign-in"),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(choices=[
                ("created", "created"), ("viewed", "viewed"), ("revised", "revised"), ("printed", "printed"),
                ("exported", "exported"), ("denied", "access denied"), ("listed", "consult list shown"),
                ("searched", "identifier searched"), ("signed_in", "signed in"), ("sign_in_failed", "sign-in failed"),
                ("signed_out", "signed out"), ("locked_out", "sign-in paused"), ("mfa_enrolled", "two-factor enrolled"),
                ("mfa_verified", "two-factor code accepted"), ("mfa_failed", "two-factor code refused"),
                ("password_changed", "password changed"), ("reset_link_issued", "reset link issued"),
                ("deactivated", "account deactivated"), ("reactivated", "account reactivated"),
                ("trail_viewed", "audit trail viewed"), ("trail_exported", "audit trail exported"),
            ], max_length=32),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="consult",
            field=models.ForeignKey(blank=True, help_text="none for security events", null=True,
                                    on_delete=django.db.models.deletion.PROTECT, related_name="audit_events",
                                    to="aml_salvage.consult"),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="user",
            field=models.ForeignKey(blank=True, help_text="none for a failed sign-in with an unknown name",
                                    null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="audit_events", to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunPython(_triggers_restore, _triggers_remember),
    ]
