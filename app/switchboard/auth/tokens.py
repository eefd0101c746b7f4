"""RFC 9068 JWT access tokens: the claims we issue and their signature (joserfc).

Header ``{"typ": "at+jwt", "alg": "RS256", "kid": ...}`` (RFC 9068 §2.1); claims
(RFC 9068 §2.2): ``iss`` (the configured listener), ``sub``, ``aud`` (the RFC 8707
resource, or the array of the servers the person picked), ``client_id``, ``scope``,
``iat``/``nbf``/``exp``, ``jti`` and our ``gid`` (the grant, so revoking it revokes its
access tokens). Signed with joserfc's :func:`joserfc.jwt.encode` (RFC 7519, RFC 7515);
verification stays in ``auth/validator.py`` (a fast path of its own, cross-checked
against joserfc in tests/unit/auth/test_tokens_differential.py).
"""

from __future__ import annotations

import secrets
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import RSAKey
from joserfc.jws import JWSRegistry

from switchboard.auth.keys import ALG
from switchboard.auth.models import GrantUser

TYP = "at+jwt"
"""RFC 9068 §2.1: the ``typ`` header of our access tokens."""
_REGISTRY = JWSRegistry(algorithms=[ALG])


def access_token_claims(
    *, issuer: str, user: GrantUser, client_id: str, scope: str, now: int, ttl: int
) -> dict[str, Any]:
    """The RFC 9068 §2.2 claims of one access token (a fresh ``jti`` each time)."""
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": user.subject,
        "aud": user.audience(),
        "client_id": client_id,
        "scope": scope,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": secrets.token_urlsafe(16),
    }
    if user.grant_id:
        claims["gid"] = user.grant_id
    return claims


def sign_access_token(claims: dict[str, Any], kid: str, key: rsa.RSAPrivateKey) -> str:
    """The compact JWS of ``claims`` (RS256, ``typ: at+jwt``, RFC 9068 §2.1)."""
    header = {"alg": ALG, "typ": TYP, "kid": kid}
    return jwt.encode(header, claims, RSAKey.import_key(key), registry=_REGISTRY, default_type=None)
