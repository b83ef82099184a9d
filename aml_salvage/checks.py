"""System check: the knowledge base must load, or the server does not start serving advice."""

from django.core import checks


@checks.register()
def knowledge_base_check(app_configs, **kwargs):
    from . import services

    try:
        services.knowledge_get()
    except services.KnowledgeError as exc:
        return [
            checks.Error(
                "The clinical knowledge base is missing or invalid; AML Salvage will not serve partial advice.",
                hint="\n".join(exc.problems[:20]) + "\nRun `python manage.py validate_knowledge` for the full list.",
                id="aml_salvage.E001",
            )
        ]
    return []
