"""Differential test: our fast JWT verification (``auth/validator.py``) against joserfc.

Every token of the forged-token matrices (tests/integration/test_auth_attacks.py and the
claim cases of tests/unit/auth/test_validator.py, plus a few more edges) and tokens from
the real issuance path (``auth/tokens.py``) must be accepted or rejected identically by
:class:`TokenValidator` and by a reference built on joserfc: ``jwt.decode`` (RS256 only,
our JWKS) + ``JWTClaimsRegistry`` for the RFC 7519 claims, plus the header rules of
RFC 9068 §4 and the policies our validator documents (size cap, ``kid`` required, no
key-carrying headers, no leeway on ``exp``).
"""

from __future__ import annotations

import secrets
import time
from types import SimpleNamespace
from typing import Any, cast

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization
from joserfc.jwt import JWTClaimsRegistry

from switchboard.auth.keys import KeyProvider, MemoryStorage
from switchboard.auth.models import GrantUser
from switchboard.auth.tokens import access_token_claims, sign_access_token
from switchboard.auth.validator import MAX_TOKEN_BYTES, TokenInvalid, TokenValidator
from tests.integration.test_auth_attacks import CASES, Ctx
from tests.unit.auth.tokens import ISSUER, RESOURCE, b64, b64json, claims, sign

LEEWAY = 30
NOT_A_SINGLE_BEARER_TOKEN = {"bearer without a token", "Basic scheme", "two tokens"}
"""Attack cases refused by the Authorization header parsing, before any verification."""


class AccessTokenClaims(JWTClaimsRegistry):
    """joserfc's RFC 7519 §4.1 checks; ``exp`` without leeway (an expired token is
    expired; the leeway is for ``nbf``/``iat`` clock skew), ``scope`` a string or a list
    of strings (RFC 9068 §2.2.3, RFC 8693 §4.2)."""

    def validate_exp(self, value: object) -> None:
        leeway, self.leeway = self.leeway, 0
        try:
            super().validate_exp(value)
        finally:
            self.leeway = leeway

    def validate_scope(self, value: object) -> None:
        if not (
            isinstance(value, str)
            or (isinstance(value, list) and all(isinstance(s, str) for s in value))
        ):
            raise JoseError("scope")


def reference_accepts(token: str, key_set: KeySet, now: int) -> bool:
    if len(token) > MAX_TOKEN_BYTES:  # policy: size cap before any parsing
        return False
    try:
        decoded = jwt.decode(token, key_set, algorithms=["RS256"])
    except (JoseError, ValueError, TypeError, KeyError):
        return False
    header = decoded.header
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:  # policy: joserfc would use a lone key
        return False
    if {"crit", "jku", "x5u", "jwk"} & header.keys():  # policy: keys never come from a token
        return False
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in ("at+jwt", "application/at+jwt"):
        return False  # RFC 9068 §4
    registry = AccessTokenClaims(
        now=now,
        leeway=LEEWAY,
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": RESOURCE},
        sub={"essential": True},
        exp={"essential": True},
    )
    try:
        registry.validate(decoded.claims)
    except JoseError:
        return False
    return True


async def ours_accepts(validator: TokenValidator, token: str) -> bool:
    try:
        await validator.validate(token, RESOURCE)
    except TokenInvalid:
        return False
    return True


class MatrixCtx(Ctx):
    """The attack matrix's context without a running engine: same issuer and resource
    as the unit tokens, our key from a KeyProvider."""

    def __init__(self, provider: KeyProvider) -> None:
        self.engine = SimpleNamespace(base_url=ISSUER)  # type: ignore[assignment]
        self.url = RESOURCE
        self.other = f"{ISSUER}/servers/other/mcp"
        self.refresh = secrets.token_urlsafe(32)
        self.kid, self.key = provider.signing_key()
        self.attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.good = self.ours(jti="good")


def _unit_matrix(provider: KeyProvider, now: int) -> list[tuple[str, str]]:
    kid, key = provider.signing_key()

    def own(**over: Any) -> str:
        return sign(key, claims(**over), kid=kid)

    soon = now + 120
    raw_exp = b64json({"alg": "RS256", "typ": "at+jwt", "kid": kid})

    def raw_payload(payload: str) -> str:
        # A payload JSON cannot carry through json.dumps (NaN, Infinity), signed for real.
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        signing_input = f"{raw_exp}.{b64(payload.encode())}"
        sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64(sig)}"

    base = claims()
    return [
        ("valid", own()),
        ("wrong iss", own(iss="http://127.0.0.1:9999")),
        ("no exp", own(exp=None)),
        ("exp a string", own(exp="never")),
        ("exp long past", own(exp=1)),
        ("exp true", own(exp=True)),
        ("exp a float", own(exp=now + 600.5)),
        ("exp now", own(exp=now)),
        ("nbf in two minutes", own(nbf=soon)),
        ("nbf within leeway", own(nbf=now + LEEWAY - 5)),
        ("nbf a string", own(nbf="x")),
        ("iat in two minutes", own(iat=soon)),
        ("aud another server", own(aud=[f"{ISSUER}/servers/x/mcp"])),
        ("no aud", own(aud=None)),
        ("aud list with a number", own(aud=[RESOURCE, 5])),
        ("aud list with us", own(aud=["x", RESOURCE], scope=None, scp=["a", "b"])),
        ("no sub", own(sub=None)),
        ("empty sub", own(sub="")),
        ("scope a number", own(scope=5)),
        ("scope a list", own(scope=["mcp"])),
        ("HS256 with a guess", sign(b"secret", claims(), kid=kid, alg="HS256")),
        ("missing kid", sign(key, claims(), kid=None)),
        ("typ JWT", sign(key, claims(), kid=kid, typ="JWT")),
        ("no typ", sign(key, claims(), kid=kid, typ=None)),
        ("typ application/at+jwt", sign(key, claims(), kid=kid, typ="application/at+jwt")),
        ("typ AT+JWT", sign(key, claims(), kid=kid, typ="AT+JWT")),
        ("crit header", sign(key, claims(), kid=kid, extra_header={"crit": ["exp"]})),
        ("exp NaN", raw_payload(_with_raw(base, "exp", "NaN"))),
        ("exp Infinity", raw_payload(_with_raw(base, "exp", "Infinity"))),
        ("exp 1e400", raw_payload(_with_raw(base, "exp", "1e400"))),
    ]


def _with_raw(payload: dict[str, Any], name: str, literal: str) -> str:
    import json

    rest = {k: v for k, v in payload.items() if k != name}
    return json.dumps(rest, separators=(",", ":"))[:-1] + f',"{name}":{literal}}}'


@pytest.fixture(scope="module")
def provider() -> KeyProvider:
    kp = KeyProvider(MemoryStorage())
    kp.load_or_create()
    return kp


async def test_our_verify_and_joserfc_agree_on_every_forged_token(provider: KeyProvider) -> None:
    now = int(time.time())
    validator = TokenValidator(
        ISSUER,
        key_provider=provider,
        expected_typ="at+jwt",
        leeway=LEEWAY,
        cache_size=0,
        clock=lambda: float(now),
    )
    key_set = KeySet.import_key_set(cast(KeySetSerialization, provider.jwks()))
    ctx = MatrixCtx(provider)
    tokens: list[tuple[str, str]] = []
    skipped = set()
    for name, build, _status in CASES:
        value = build(ctx) or ""
        scheme, _, token = (
            value.partition(" ") if value.startswith(("Bearer", "Basic")) else ("Bearer", "", value)
        )
        if scheme != "Bearer" or not token or " " in token:
            skipped.add(name)
            continue
        tokens.append((f"attack: {name}", token))
    assert skipped == NOT_A_SINGLE_BEARER_TOKEN
    tokens += [(f"unit: {n}", t) for n, t in _unit_matrix(provider, now)]
    verdicts: dict[str, tuple[bool, bool]] = {}
    for name, token in tokens:
        verdicts[name] = (
            await ours_accepts(validator, token),
            reference_accepts(token, key_set, now),
        )
    differing = {n: v for n, v in verdicts.items() if v[0] != v[1]}
    assert not differing, differing
    accepted = {n for n, (ours, _) in verdicts.items() if ours}
    # Positive controls, so agreement is not "both reject everything".
    assert {
        "attack: valid signature, no mcp scope",
        "unit: valid",
        "unit: typ application/at+jwt",
    } <= accepted
    assert len(verdicts) - len(accepted) >= 40


async def test_issued_tokens_verify_with_both(provider: KeyProvider) -> None:
    """The real issuance path (joserfc-signed) is accepted by both verifiers, for one
    audience and for an array of picked servers (RFC 9068 §2.2)."""
    now = int(time.time())
    validator = TokenValidator(
        ISSUER, key_provider=provider, expected_typ="at+jwt", cache_size=0, clock=lambda: float(now)
    )
    key_set = KeySet.import_key_set(cast(KeySetSerialization, provider.jwks()))
    kid, key = provider.signing_key()
    other = f"{ISSUER}/servers/other/mcp"
    for user in (
        GrantUser("g1", "local-user", "echo", RESOURCE, "mcp"),
        GrantUser("g2", "local-user", "echo other", f"{RESOURCE} {other}", "mcp"),
        GrantUser(None, "switchboard-cli", "echo", RESOURCE, "mcp"),
    ):
        c = access_token_claims(
            issuer=ISSUER, user=user, client_id="c1", scope="mcp", now=now, ttl=900
        )
        token = sign_access_token(c, kid, key)
        assert await ours_accepts(validator, token), user
        assert reference_accepts(token, key_set, now), user
        assert jwt.decode(token, key_set).header == {"alg": "RS256", "typ": "at+jwt", "kid": kid}
