"""Who may call the hooks: the EHR, proven by the JWT in the Authorization header (CDS Hooks 2.0, "Trusting CDS
Clients"). PyJWT verifies the signature and the registered claims; this module only says which keys and
issuers to trust and what the claims must hold:

- ``iss`` among the configured issuers (an unknown issuer is refused before any key is looked at);
- signed with a key of the configured JWK Set (chosen by the header's ``kid``), ES384 or RS384 (the algorithms
  the specification requires services to accept);
- ``aud`` is this service's URL; ``exp``, ``iat`` and ``jti`` present; not expired; lifetime at most five
  minutes (the specification's limit); a ``jti`` is accepted once (a replayed token is refused).
"""

from __future__ import annotations

import logging

import jwt
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

ALGORITHMS = ["ES384", "RS384"]
MAX_LIFETIME_SECONDS = 5 * 60
LEEWAY_SECONDS = 30  # clock difference tolerated between the EHR and this server
REPLAY_CACHE_PREFIX = "cds-hooks-jti:"

MSG_NO_TOKEN = "Authorization header missing: a CDS Hooks call carries 'Bearer <JWT>' signed by the EHR"
MSG_MALFORMED = "the bearer token is not a JWT"
MSG_UNKNOWN_ISSUER = "issuer not trusted by this service"
MSG_NO_KEY = "no configured key matches the token (kid)"
MSG_EXPIRED = "the token has expired"
MSG_LIFETIME = "the token lives longer than five minutes (exp - iat)"
MSG_REPLAYED = "this token (jti) was already used"
MSG_INVALID = "the token is not valid: {detail}"


class HookUnauthorized(Exception):
    """The call is refused (401); ``message`` says why without echoing the token."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def _key_set() -> dict[str, jwt.PyJWK]:
    try:
        keys = jwt.PyJWKSet.from_dict(settings.AML_SALVAGE_CDS_HOOKS_JWKS).keys
    except (jwt.PyJWKSetError, TypeError, AttributeError):  # not a JWK Set at all (system check E016 says so)
        logger.error("AML_SALVAGE_CDS_HOOKS_JWKS holds no usable key: every hook call is refused")
        return {}
    return {k.key_id or "": k for k in keys}


def hook_token_verify(*, authorization: str | None, audience: str) -> dict:
    """The verified claims of the call's JWT, or HookUnauthorized naming what is wrong."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HookUnauthorized(MSG_NO_TOKEN)
    token = token.strip()
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise HookUnauthorized(MSG_MALFORMED) from None
    if unverified.get("iss") not in settings.AML_SALVAGE_CDS_HOOKS_ISSUERS:
        raise HookUnauthorized(MSG_UNKNOWN_ISSUER)
    keys = _key_set()
    key = keys.get(header.get("kid") or "") or (next(iter(keys.values())) if len(keys) == 1 else None)
    if key is None:
        raise HookUnauthorized(MSG_NO_KEY)
    try:
        claims = jwt.decode(
            token, key, algorithms=ALGORITHMS, audience=audience,
            issuer=settings.AML_SALVAGE_CDS_HOOKS_ISSUERS, leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise HookUnauthorized(MSG_EXPIRED) from None
    except jwt.PyJWTError as exc:
        raise HookUnauthorized(MSG_INVALID.format(detail=exc)) from None
    if claims["exp"] - claims["iat"] > MAX_LIFETIME_SECONDS:
        raise HookUnauthorized(MSG_LIFETIME)
    # Kept until the token could no longer be accepted anyway; add() is atomic in the cache backends.
    ttl = max(1, int(claims["exp"] - claims["iat"]) + 2 * LEEWAY_SECONDS)
    if not cache.add(f"{REPLAY_CACHE_PREFIX}{claims['iss']}:{claims['jti']}", 1, timeout=ttl):
        raise HookUnauthorized(MSG_REPLAYED)
    return claims
