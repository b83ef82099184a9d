from django.apps import AppConfig


class AmlSalvageConfig(AppConfig):
    name = "aml_salvage"
    verbose_name = "AML Salvage"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The knowledge-base system check; security events into the audit trail.
        from . import checks, signals  # noqa: F401
