"""The patient-view card's link: the workup inputs read from the record stay on the server (the cache) under
a random key for AML_SALVAGE_CDS_HOOKS_PREFILL_SECONDS; the link carries only that key, signed with
django.core.signing and timestamped, so it names no patient and is refused once it is older than that.

The cache must be shared by the app's processes (CACHES) when more than one serves requests: the EHR's call
and the clinician's click may reach different ones."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core import signing
from django.core.cache import cache

SALT = "aml_salvage.cds_hooks.prefill"
CACHE_PREFIX = "cds-hooks-prefill:"
QUERY_PARAMETER = "prefill"
MSG_EXPIRED = ("The link from the health record has expired or is not valid: the workspace opens empty. Open the "
               "patient's chart again for a new link.")


def prefill_store(values: dict[str, str]) -> str:
    """Keep these form values for a short while; the signed token that finds them again."""
    key = secrets.token_urlsafe(24)
    cache.set(CACHE_PREFIX + key, dict(values), timeout=settings.AML_SALVAGE_CDS_HOOKS_PREFILL_SECONDS)
    return signing.dumps(key, salt=SALT)


def prefill_load(token: str) -> dict[str, str] | None:
    """The values behind a token, or None when it is forged, too old or its values have gone."""
    try:
        key = signing.loads(token, salt=SALT, max_age=settings.AML_SALVAGE_CDS_HOOKS_PREFILL_SECONDS)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    return cache.get(CACHE_PREFIX + key) if isinstance(key, str) else None
