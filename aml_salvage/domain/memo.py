"""Per-object memo for immutable knowledge-base objects (validated pydantic records are frozen).

The engine derives lookup tables from the loaded knowledge base once and reuses them for every
workup. Pydantic models holding dicts are not hashable, so the memo keys by identity and keeps the
object alive beside its value, so that its ``id`` cannot be reused by another object.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
_MAX_ENTRIES = 64  # a few knowledge bases (tests load several) × the regimens and tables of each


class IdentityMemo:
    def __init__(self, max_entries: int = _MAX_ENTRIES) -> None:
        self._store: dict[int, tuple[object, object]] = {}
        self._max = max_entries

    def get(self, obj: object, build: Callable[[], T]) -> T:
        entry = self._store.get(id(obj))
        if entry is None or entry[0] is not obj:
            if len(self._store) >= self._max:
                self._store.clear()
            entry = self._store[id(obj)] = (obj, build())
        return entry[1]  # type: ignore[return-value]
