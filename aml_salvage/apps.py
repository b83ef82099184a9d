from django.apps import AppConfig


class AmlSalvageConfig(AppConfig):
    name = "aml_salvage"
    verbose_name = "AML Salvage"
    default_auto_field = "django.db.models.BigAutoField"
