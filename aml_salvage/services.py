"""The seam used by views, the command line and the PDF: workup in, consult result out.

Keyword-only functions named <noun>_<verb>. The knowledge base is loaded once per process and
validated as it loads; an invalid knowledge base raises KnowledgeError, never partial advice. The
validated knowledge base is kept on disk between processes (knowledge_cache.py), keyed by the files'
bytes and the schema's code, in AML_SALVAGE_KNOWLEDGE_CACHE_DIR (default ``.cache/knowledge`` in the
project).
"""

from __future__ import annotations

import gc
import json
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from pydantic import ValidationError

from .domain.consult import consult_build
from .domain.dosing import DosingConfig
from .domain.errors import FieldError, WorkupInvalid, describe_validation_error
from .domain.knowledge import KnowledgeBase, KnowledgeError
from .domain.result import ConsultResult
from .domain.workup import Workup
from .knowledge_cache import knowledge_load_cached

__all__ = [
    "KnowledgeError", "WorkupInvalid", "FieldError", "knowledge_get", "knowledge_reset", "workup_parse",
    "consult_evaluate", "dosing_config",
]

_lock = threading.Lock()
_kb: KnowledgeBase | None = None


def knowledge_get() -> KnowledgeBase:
    """The process-wide knowledge base, loaded and validated on first use."""
    global _kb
    if _kb is None:
        with _lock:
            if _kb is None:
                _kb = knowledge_load_cached(Path(settings.AML_SALVAGE_KNOWLEDGE_DIR),
                                            cache_dir=knowledge_cache_dir())
    return _kb


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
    """Forget the loaded knowledge base (tests, or after the files change)."""
    global _kb
    with _lock:
        _kb = None


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
    return consult_build(workup=workup, kb=knowledge_get(), config=config or dosing_config())


def consult_to_json(*, result: ConsultResult, indent: int | None = 2) -> str:
    return json.dumps(result.model_dump(mode="json"), indent=indent, ensure_ascii=False)
