from django.apps import AppConfig


class AmlSalvageConfig(AppConfig):
    name = "aml_salvage"
    verbose_name = "AML Salvage"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the knowledge-base system check)
