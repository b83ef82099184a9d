"""The WSGI application for gunicorn (production settings unless DJANGO_SETTINGS_MODULE says otherwise).

Start-up fails, with one clear message and no traceback, when the settings are incomplete or the
clinical knowledge base is missing or invalid: gunicorn runs no system checks, and a server must not
come up to serve partial advice. Under gunicorn.conf.py the master imports this module before forking
(preload_app), so the knowledge base is loaded once and every worker inherits it; a refusal there stops
gunicorn with exit status 4 before any worker starts (without preloading, a worker exiting with 4 makes
gunicorn stop: "App failed to load"), and the systemd unit does not restart on 4.
"""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aml_salvage.settings.production")

EXIT_APP_LOAD_ERROR = 4  # gunicorn's APP_LOAD_ERROR: the arbiter halts rather than respawning


def _refuse_to_start(reason: str, details: list[str]) -> None:
    lines = [f"AML Salvage cannot start: {reason}", *(f"  - {d}" for d in details)]
    print("\n".join(lines), file=sys.stderr, flush=True)
    raise SystemExit(EXIT_APP_LOAD_ERROR)


def _load():
    from django.core.exceptions import ImproperlyConfigured

    try:
        from django.core.wsgi import get_wsgi_application

        wsgi_application = get_wsgi_application()
    except ImproperlyConfigured as exc:
        _refuse_to_start("the configuration is incomplete.", [str(exc)])

    from aml_salvage import services

    try:
        services.worker_start()  # load and validate now, not on the first clinician's request
    except services.KnowledgeError as exc:
        problems = list(exc.problems[:20])
        if len(exc.problems) > 20:
            problems.append(f"... and {len(exc.problems) - 20} more")
        _refuse_to_start(
            "the clinical knowledge base is missing or invalid, and AML Salvage does not serve partial advice. "
            "Run `python manage.py validate_knowledge` for the full list.",
            problems,
        )

    from django.contrib.staticfiles.storage import staticfiles_storage

    manifest = getattr(staticfiles_storage, "manifest_name", None)
    if manifest and not staticfiles_storage.exists(manifest):
        _refuse_to_start(
            "the static files have not been collected: every page would fail.",
            [f"run `python manage.py collectstatic --noinput` (into {staticfiles_storage.location})"],
        )
    from aml_salvage.serving import gc_for_serving, templates_compile

    templates_compile()  # compiled before the garbage collector is set, so they are frozen with the rest
    gc_for_serving()
    return wsgi_application


application = _load()
