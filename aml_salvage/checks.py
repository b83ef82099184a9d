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


@checks.register()
def print_settings_check(app_configs, **kwargs):
    """A bad paper size must fail at start-up, not when a clinician prints."""
    from django.conf import settings

    from .pdf import PAPER_SIZES

    paper = str(getattr(settings, "AML_SALVAGE_PAPER_SIZE", "letter")).lower()
    if paper not in PAPER_SIZES:
        return [checks.Error(
            f"AML_SALVAGE_PAPER_SIZE is {paper!r}; it must be one of {sorted(PAPER_SIZES)}.",
            id="aml_salvage.E002",
        )]
    return []


@checks.register()
def cds_hooks_keys_check(app_configs, **kwargs):
    """Trusted EHR issuers without a usable key would refuse every hook call: say so at start-up."""
    import jwt
    from django.conf import settings

    if not settings.AML_SALVAGE_CDS_HOOKS_ISSUERS:
        return []
    try:
        jwt.PyJWKSet.from_dict(settings.AML_SALVAGE_CDS_HOOKS_JWKS)
    except (jwt.PyJWKSetError, TypeError, AttributeError) as exc:
        return [checks.Error(
            f"AML_SALVAGE_CDS_HOOKS_ISSUERS is set but the JWK Set holds no usable key ({exc}).",
            hint="Set AML_SALVAGE_CDS_HOOKS_JWKS_FILE (or AML_SALVAGE_CDS_HOOKS_JWKS) to the EHR's public keys.",
            id="aml_salvage.E016",
        )]
    return []
