"""The seam used by views, the command line and the PDF: workup in, consult result out.

Keyword-only functions named <noun>_<verb>. The knowledge base is loaded once per process and
validated as it loads; an invalid knowledge base raises KnowledgeError, never partial advice. The
validated knowledge base is kept on disk between processes (knowledge_cache.py), keyed by the files'
bytes and the schema's code, in AML_SALVAGE_KNOWLEDGE_CACHE_DIR (default ``.cache/knowledge`` in the
project).

Once loaded, the knowledge base is pinned: files changed under a running process change nothing until a
deliberate ``knowledge_reload()``, which validates the new files first and switches only when they are
valid. Under gunicorn the master loads it before forking (gunicorn.conf.py: preload_app), so every worker
serves the same version and a respawned worker inherits it instead of reading the files again; SIGHUP to
the master runs ``knowledge_reload()`` there, then replaces the workers.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from pydantic import ValidationError

from .domain.consult import KnowledgeFacts, consult_build, knowledge_facts
from .domain.dosing import DosingConfig
from .domain.errors import FieldError, WorkupInvalid, describe_validation_error
from .domain.knowledge import KnowledgeBase, KnowledgeError
from .domain.result import ConsultResult
from .domain.workup import Workup
from .knowledge_cache import knowledge_load_cached

__all__ = [
    "KnowledgeError", "WorkupInvalid", "FieldError", "knowledge_get", "knowledge_reset", "knowledge_reload",
    "knowledge_stamp", "workup_parse", "consult_evaluate", "dosing_config",
]

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_kb: KnowledgeBase | None = None
_stamp: str | None = None
_facts: KnowledgeFacts | None = None  # the engine's precompute of _kb (domain/consult.py), pinned with it


def _load() -> KnowledgeBase:
    return knowledge_load_cached(Path(settings.AML_SALVAGE_KNOWLEDGE_DIR), cache_dir=knowledge_cache_dir())


def knowledge_stamp_of(kb: KnowledgeBase) -> str:
    """What a knowledge base says, in one short string: its version, then the start of a SHA-256 of its
    validated content. Two servers with the same stamp give the same advice for the same workup; an edit
    that forgot to change ``meta.yaml``'s version still changes the stamp."""
    return f"{kb.version}+{hashlib.sha256(kb.model_dump_json().encode()).hexdigest()[:12]}"


def _pin(kb: KnowledgeBase) -> KnowledgeBase:
    global _kb, _stamp, _facts
    _facts = knowledge_facts(kb)
    _kb, _stamp = kb, knowledge_stamp_of(kb)
    return kb


def knowledge_get() -> KnowledgeBase:
    """The process-wide knowledge base, loaded and validated on first use, then pinned (see the module's
    docstring): later changes to the files are read only by ``knowledge_reload``."""
    kb = _kb
    if kb is None:
        with _lock:
            kb = _kb if _kb is not None else _pin(_load())
    return kb


def knowledge_stamp() -> str:
    """The stamp (version and content digest) of the knowledge base this process serves; cross-request
    artefacts carry it, so that a server with another knowledge base refuses to complete them."""
    knowledge_get()
    return _stamp


def knowledge_reload() -> str:
    """Validate the knowledge-base files as they are now and switch to them only if they are valid.

    Returns the stamp now served. A missing or invalid knowledge base is refused: KnowledgeError is raised
    and the knowledge base loaded before stays in use, unchanged (also when nothing was loaded yet, in
    which case nothing is served). Logged either way, for the operator who asked for the reload.
    """
    with _lock:
        before = _stamp
        try:
            kb = _load()
        except KnowledgeError as exc:
            logger.error("Knowledge base reload refused (%d problem(s); run `manage.py validate_knowledge`); "
                         "still serving %s. First problem: %s", len(exc.problems), before or "nothing",
                         exc.problems[0] if exc.problems else "?")
            raise
        _pin(kb)
        logger.info("Knowledge base reloaded: %s, was %s.", _stamp, before or "not loaded")
        return _stamp


def knowledge_cache_dir() -> Path:
    """Where the validated knowledge base is kept between processes: inside the project by default, so it is
    as private as the knowledge-base files themselves (not a shared temporary directory)."""
    return Path(getattr(settings, "AML_SALVAGE_KNOWLEDGE_CACHE_DIR", None)
                or Path(settings.BASE_DIR) / ".cache" / "knowledge")


def worker_start() -> KnowledgeBase:
    """What a server process does once, before its first request (wsgi.py; the benchmarks do the same):
    load and validate the knowledge base, then take everything alive so far — Django, the knowledge base,
    ~100k long-lived objects — out of the garbage collector's full passes (``gc.freeze``). Those passes
    otherwise walk all of it again and again while a request allocates."""
    kb = knowledge_get()
    gc.collect()
    gc.freeze()
    return kb


def knowledge_reset() -> None:
    """Forget the loaded knowledge base (tests): the next use loads the files as they are then."""
    global _kb, _stamp, _facts
    with _lock:
        _kb = _stamp = _facts = None


def dosing_config() -> DosingConfig:
    return DosingConfig(bsa_cap_m2=getattr(settings, "AML_SALVAGE_BSA_CAP_M2", None) or None)


def workup_parse(*, data: Any) -> Workup:
    """Validate a workup given as a dict, a JSON string or bytes; raise WorkupInvalid naming fields."""
    try:
        if isinstance(data, (str, bytes, bytearray)):
            return Workup.model_validate_json(data)
        return Workup.model_validate(data)
    except ValidationError as exc:
        raise WorkupInvalid(describe_validation_error(exc)) from None
    except (ValueError, TypeError) as exc:  # e.g. non-JSON bytes handed to the JSON parser
        raise WorkupInvalid([FieldError(path="", message=f"not a valid workup ({exc})")]) from None


def consult_evaluate(*, workup: Workup, config: DosingConfig | None = None) -> ConsultResult:
    """Assessment, ranked options, doses, evidence and actions for one workup."""
    kb, facts = knowledge_get(), _facts
    if facts is not None and facts.kb is not kb:  # a reload in between: consult_build builds kb's own
        facts = None
    return consult_build(workup=workup, kb=kb, config=config or dosing_config(), facts=facts)


def consult_to_json(*, result: ConsultResult, indent: int | None = 2) -> str:
    return json.dumps(result.model_dump(mode="json"), indent=indent, ensure_ascii=False)
