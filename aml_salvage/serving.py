"""What a server process sets up once it has loaded everything it serves (aml_salvage/wsgi.py; the bench's
in-process profile does the same, to measure what gunicorn runs)."""

from __future__ import annotations

import gc

# The youngest generation's threshold: tracked objects allocated, net, before the cyclic garbage collector runs.
GC_YOUNG_THRESHOLD = 10_000


def templates_compile() -> int:
    """Compile the consult's Jinja2 templates (templates/jinja2/: the live panel, its parts, the components) now,
    at start-up, not during the first live updates a server process answers: each template compiles once, on
    its first use, and the first clinician to type after a start or a reload would wait for all of them.
    Returns how many."""
    from django.template import engines

    env = engines["jinja2"].env
    names = env.list_templates(extensions=["html"])
    for name in names:
        env.get_template(name)
    return len(names)


def gc_for_serving() -> None:
    """The cyclic garbage collector set for a server process, once everything that lives as long as the process
    is loaded (Django, the knowledge base, the templates).

    That need not be traversed at every full collection, a pause of tens of milliseconds that holds up every
    request queued behind it: gc.freeze() moves it out of the collector's generations (and, under preload_app,
    keeps the workers' copies of it shared); unfreeze and collect first, so that what a knowledge-base reload
    (kill -HUP) leaves behind is freed, not frozen.

    A live update allocates thousands of short-lived objects, some in reference cycles only the collector
    frees. At Python's default threshold (700) it runs more than once per update, mid-render, and moves what
    the update still holds to the older generations, whose collections then come often and cost more. At
    GC_YOUNG_THRESHOLD it runs once in some tens of updates, when most of those objects are already garbage
    (README, Performance: what it changed).
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
