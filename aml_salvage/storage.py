"""How a saved consult's result is stored: Zstandard-compressed JSON, with the knowledge base it was computed
under as the compression dictionary.

A result is about 200 KB of JSON, most of it knowledge-base text (evidence records, references, warnings,
regimen summaries) that every consult saved under the same version repeats. The knowledge base is stored
once per version, as JSON, in a write-once table keyed by its SHA-256 (``models.KnowledgeContent``); each
consult stores its result compressed against it (a raw-content dictionary: zstd finds the repeated text
there), about 5 KB. Measured by ``bench/storage.py`` (1,000 varied consults): see the README, "Stored data".

Lossless by construction: ``result_decompress(result_compress(r)) == r``, so a saved consult renders as it was
saved whatever knowledge base is loaded later. Any dictionary decompresses what it compressed; the one a
consult names is the knowledge base loaded when it was saved.

Reading one by hand (no Python): write out the consult's ``result_zstd`` and its knowledge content's
``content`` (both columns of the database or a backup), then ``zstd -d -D content.json result.zst``; see
the README. Framework-free: standard library and zstandard only.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

import zstandard

# Level 9: close to the smallest output of the high levels at a small fraction of their time (bench/storage.py
# and the README's "Stored data" give the sizes).
COMPRESSION_LEVEL = 9


def json_canonical(value: Any) -> bytes:
    """Compact UTF-8 JSON, keys in the order given (a result's fields in the contract's order)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def content_sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@lru_cache(maxsize=8)
def _dictionary(content: bytes) -> zstandard.ZstdCompressionDict:
    # Keyed by the content itself: one entry per knowledge-base version in use.
    return zstandard.ZstdCompressionDict(content, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


def result_compress(result: dict, *, content: bytes) -> bytes:
    """The result as stored: its canonical JSON, compressed with the knowledge content as dictionary (the
    frame records its size and a checksum, so a damaged blob fails to decompress instead of reading wrong)."""
    compressor = zstandard.ZstdCompressor(level=COMPRESSION_LEVEL, dict_data=_dictionary(content),
                                          write_content_size=True, write_checksum=True)
    return compressor.compress(json_canonical(result))


def result_decompress(blob: bytes, *, content: bytes) -> dict:
    """The stored result as the JSON object it was."""
    return json.loads(zstandard.ZstdDecompressor(dict_data=_dictionary(content)).decompress(bytes(blob)))
