"""The validated knowledge base kept on disk, so a process starts without parsing and checking the YAML again.

An entry is the JSON of a knowledge base that passed ``knowledge_load``, named by a key computed from
what it stands for: every file under the knowledge-base directory (path and bytes) and the code that
defines and checks it (``domain/knowledge.py``'s source and the pydantic version). A changed file or a
changed schema therefore looks for another entry and never finds a stale one.

Each entry starts with a line holding the SHA-256 of the key and the JSON that follows. An entry whose
digest does not match (truncated, flipped bits, renamed from another key) or whose JSON does not validate
is rebuilt from the YAML, never used; the JSON is validated again by the same pydantic models, including
the cross-reference checks, when it is read. Nothing is unpickled. A directory that other users can write
is not read at all (they could plant advice): the knowledge base is then loaded from the YAML every time.

Standard library and pydantic only; the caller (``services.knowledge_get``) passes the directory in.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pydantic
from pydantic import ValidationError

from .domain import knowledge
from .domain.knowledge import KnowledgeBase, knowledge_load


def knowledge_cache_key(directory: Path) -> str:
    """SHA-256 of the schema code and of every file under ``directory`` (its relative path and bytes)."""
    digest = hashlib.sha256()
    digest.update(Path(knowledge.__file__).read_bytes())
    digest.update(pydantic.VERSION.encode())
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        name = path.relative_to(directory).as_posix().encode()
        data = path.read_bytes()
        # Lengths delimit the fields, so no two different directories hash the same byte stream.
        digest.update(b"%d:%s%d:" % (len(name), name, len(data)))
        digest.update(data)
    return digest.hexdigest()


def _entry_digest(key: str, payload: bytes) -> bytes:
    return hashlib.sha256(key.encode() + b"\n" + payload).hexdigest().encode()


def _private(cache_dir: Path) -> bool:
    """The directory is ours and nobody else can write to it."""
    info = cache_dir.stat()
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(entry: Path) -> KnowledgeBase | None:
    try:
        digest, _, payload = entry.read_bytes().partition(b"\n")
    except OSError:  # no entry yet, or one being replaced
        return None
    if digest != _entry_digest(entry.stem, payload):
        return None
    try:
        return KnowledgeBase.model_validate_json(payload)
    except ValidationError:
        return None


def _write(entry: Path, kb: KnowledgeBase) -> None:
    """Write atomically (another process may be reading the same entry), then drop the entries of other
    versions: only the knowledge base in use is worth keeping. A failure leaves no partial entry."""
    payload = kb.model_dump_json().encode()
    tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(_entry_digest(entry.stem, payload) + b"\n" + payload)
        os.replace(tmp, entry)
    finally:
        tmp.unlink(missing_ok=True)
    for old in entry.parent.glob("*.json"):
        if old != entry:
            old.unlink(missing_ok=True)


def knowledge_load_cached(directory: Path, *, cache_dir: Path) -> KnowledgeBase:
    """``knowledge_load(directory)``, from the cache entry for exactly these files when there is a sound one.

    Raises KnowledgeError as ``knowledge_load`` does: an invalid knowledge base is never cached, so it is
    read and refused every time. The cache only saves time: when its directory cannot be created, read or
    written, the knowledge base is loaded from the YAML as if there were no cache.
    """
    directory, cache_dir = Path(directory), Path(cache_dir)
    entry = None
    if directory.is_dir():  # otherwise knowledge_load gives its "directory missing" refusal
        try:
            key = knowledge_cache_key(directory)
            cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            if _private(cache_dir):
                entry = cache_dir / f"{key}.json"
        except OSError:  # e.g. an unreadable knowledge-base file, which knowledge_load then names
            pass
    if entry is not None:
        kb = _read(entry)
        if kb is not None:
            return kb
    kb = knowledge_load(directory)
    if entry is not None:
        try:
            _write(entry, kb)
        except OSError:
            pass  # a read-only or full disk: the next process loads from the YAML again
    return kb
