"""TokenValidator: checks a bearer JWT for one resource (the gateway calls it per request).

Key lookup order (the point of the design, see ARCHITECTURE.md "Token path"):

1. the in-process :class:`~switchboard.auth.keys.KeyProvider` by ``kid`` — our own
   tokens never cause an HTTP request to our own JWKS endpoint;
2. on a miss or a provider error: the issuer's JWKS over HTTP (OIDC / RFC 8414
   discovery, cached, refetched on an unknown ``kid`` at most once per interval);
3. else the token is rejected.

Checks: ``alg`` in the allow-list (never ``none`` or HS*), ``kid`` present, signature,
``iss`` exact, ``aud`` contains the resource, ``exp`` required and in the future, ``nbf``
and ``iat`` with at most 60 s leeway, ``typ`` = ``at+jwt`` for our tokens (RFC 9068),
revocation. A bounded cache of verified tokens lets repeat requests skip the signature
check (never the expiry, audience or revocation checks).

Errors are :class:`TokenInvalid` with a fixed ``reason`` code; callers must not put
exception text into responses.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from switchboard.auth.keys import KeyProvider
from switchboard.core.loopback import canonical_url

log = logging.getLogger("switchboard.auth")

MAX_TOKEN_BYTES = 8192
MAX_LEEWAY = 60.0
DEFAULT_ALGS = frozenset({"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"})
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
_EC_SIZES = {"ES256": 32, "ES384": 48}


class TokenInvalid(Exception):
    """A token was rejected. ``reason`` is a fixed code (safe to log and to show)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True, slots=True)
class VerifiedToken:
    """The claims that matter, from a token whose signature was verified."""

    issuer: str
    subject: str
    audience: tuple[str, ...]
    expires_at: float
    scopes: frozenset[str]
    client_id: str | None
    token_id: str | None
    grant_id: str | None
    kid: str


def _b64d(part: str) -> bytes:
    if not part or len(part) % 4 == 1:
        raise TokenInvalid("malformed")
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise TokenInvalid("malformed") from None


def _json_part(part: str) -> dict[str, Any]:
    try:
        value = orjson.loads(_b64d(part))
    except orjson.JSONDecodeError:
        raise TokenInvalid("malformed") from None
    if not isinstance(value, dict):
        raise TokenInvalid("malformed")
    return value


def verify_signature(alg: str, key: Any, signing_input: bytes, signature: bytes) -> None:
    """Verify a JWS signature with a ``cryptography`` public key; the key type must fit
    the algorithm (no RSA/HMAC confusion). Raises TokenInvalid."""
    try:
        if alg.startswith(("RS", "PS")):
            if not isinstance(key, rsa.RSAPublicKey):
                raise TokenInvalid("key_mismatch")
            h = _HASHES[alg[2:]]()
            pad: padding.AsymmetricPadding = (
                padding.PKCS1v15()
                if alg[0] == "R"
                else padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size)
            )
            key.verify(signature, signing_input, pad, h)
        elif alg in _EC_SIZES:
            if not isinstance(key, ec.EllipticCurvePublicKey):
                raise TokenInvalid("key_mismatch")
            size = _EC_SIZES[alg]
            if len(signature) != 2 * size or key.curve.key_size != size * 8:
                raise TokenInvalid("bad_signature")
            r = int.from_bytes(signature[:size], "big")
            s = int.from_bytes(signature[size:], "big")
            key.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(_HASHES[alg[2:]]()))
        elif alg == "EdDSA":
            if not isinstance(key, ed25519.Ed25519PublicKey):
                raise TokenInvalid("key_mismatch")
            key.verify(signature, signing_input)
        else:
            raise TokenInvalid("alg_not_allowed")
    except InvalidSignature:
        raise TokenInvalid("bad_signature") from None
    except (ValueError, KeyError):
        raise TokenInvalid("bad_signature") from None


class JWKSClient:
    """An issuer's JWKS over HTTP: discovery, cache, refetch on unknown ``kid`` at most
    once per ``min_refetch_interval``. ``fetches`` counts JWKS HTTP requests."""

    def __init__(
        self,
        issuer: str,
        *,
        jwks_uri: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        min_refetch_interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = 10.0,
    ) -> None:
        self.issuer = issuer
        self.jwks_uri = jwks_uri
        self._transport = transport
        self.min_refetch_interval = min_refetch_interval
        self._clock = clock
        self._timeout = timeout
        self._keys: dict[str, tuple[str | None, Any]] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0
        self.discoveries = 0
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport, timeout=self._timeout, trust_env=False
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _discover(self) -> str:
        base = self.issuer.rstrip("/")
        self.discoveries += 1
        for url in (
            f"{base}/.well-known/openid-configuration",
            f"{base}/.well-known/oauth-authorization-server",
        ):
            try:
                resp = await self._http().get(url)
                if resp.status_code == 200:
                    data = resp.json()
                    if isinstance(data, dict) and isinstance(data.get("jwks_uri"), str):
                        if data.get("issuer") != self.issuer:
                            log.warning("issuer %s: discovery names another issuer", self.issuer)
                            continue
                        return str(data["jwks_uri"])
            except (httpx.HTTPError, ValueError):
                continue
        raise TokenInvalid("issuer_unreachable")

    async def _fetch(self) -> None:
        if self.jwks_uri is None:
            self.jwks_uri = await self._discover()
        self.fetches += 1
        self._fetched_at = self._clock()
        try:
            resp = await self._http().get(self.jwks_uri)
            resp.raise_for_status()
            key_set = KeySet.import_key_set(resp.json())
        except (httpx.HTTPError, JoseError, ValueError, TypeError, KeyError) as exc:
            log.warning("fetching JWKS of %s failed: %s", self.issuer, type(exc).__name__)
            raise TokenInvalid("jwks_unavailable") from None
        keys: dict[str, tuple[str | None, Any]] = {}
        for key in key_set.keys:
            if key.kid and key.get("use", "sig") == "sig":
                alg = key.get("alg")
                keys[key.kid] = (alg if isinstance(alg, str) else None, key.get_op_key("verify"))
        self._keys = keys

    async def get_key(self, kid: str) -> tuple[str | None, Any] | None:
        """(alg or None, public key) for ``kid``, fetching when unknown and allowed."""
        hit = self._keys.get(kid)
        if hit is not None:
            return hit
        async with self._lock:
            hit = self._keys.get(kid)
            if hit is not None:
                return hit
            if (
                self._fetched_at is not None
                and self._clock() - self._fetched_at < self.min_refetch_interval
            ):
                return None
            await self._fetch()
            return self._keys.get(kid)


class TokenValidator:
    """Validates bearer JWTs for one issuer (see the module docstring).

    ``issuer`` may be a callable (our issuer URL is known only after the listener binds).
    ``is_revoked(token)`` is consulted on every validation, cached or not.
    ``expected_typ``: ``"at+jwt"`` for our own tokens (RFC 9068), None for external ones.
    """

    def __init__(
        self,
        issuer: str | Callable[[], str],
        *,
        key_provider: KeyProvider | None = None,
        jwks: JWKSClient | None = None,
        algorithms: frozenset[str] = DEFAULT_ALGS,
        expected_typ: str | None = None,
        leeway: float = 30.0,
        is_revoked: Callable[[VerifiedToken], bool] | None = None,
        clock: Callable[[], float] = time.time,
        cache_size: int = 4096,
    ) -> None:
        bad = {a for a in algorithms if a == "none" or a.startswith("HS")}
        if bad or not algorithms <= DEFAULT_ALGS:
            raise ValueError(f"unsupported algorithms in allow-list: {sorted(algorithms)}")
        if not 0 <= leeway <= MAX_LEEWAY:
            raise ValueError("leeway must be between 0 and 60 seconds")
        self._issuer = issuer
        self.key_provider = key_provider
        self.jwks = jwks
        self.algorithms = algorithms
        self.expected_typ = expected_typ
        self.leeway = leeway
        self.is_revoked = is_revoked
        self._clock = clock
        self.cache_size = cache_size
        self._cache: dict[str, VerifiedToken] = {}
        self.cache_hits = 0
        self.provider_errors = 0

    @property
    def issuer(self) -> str:
        return self._issuer() if callable(self._issuer) else self._issuer

    @property
    def jwks_fetches(self) -> int:
        """JWKS HTTP requests this validator made (0 for our own tokens, by design)."""
        return self.jwks.fetches if self.jwks is not None else 0

    def _check_live(self, vt: VerifiedToken, audience: str) -> VerifiedToken:
        if self._clock() >= vt.expires_at:
            raise TokenInvalid("expired")
        if audience not in vt.audience and canonical_url(audience) not in {
            canonical_url(a) for a in vt.audience
        }:
            raise TokenInvalid("wrong_audience")
        if self.is_revoked is not None and self.is_revoked(vt):
            raise TokenInvalid("revoked")
        return vt

    async def validate(self, token: str, audience: str) -> VerifiedToken:
        """The verified token, or TokenInvalid."""
        vt = self._cache.get(token)
        if vt is not None:
            self.cache_hits += 1
            return self._check_live(vt, audience)
        header, payload, signing_input, signature = self._parse(token)
        kid = header["kid"]
        alg = header["alg"]
        key = self._local_key(kid, alg)
        if key is None:
            key = await self._remote_key(kid, alg)
        verify_signature(alg, key, signing_input, signature)
        vt = self._claims(payload, kid)
        self._check_live(vt, audience)
        if self.cache_size > 0:
            if len(self._cache) >= self.cache_size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[token] = vt
        return vt

    def verify_local(self, token: str) -> VerifiedToken:
        """Signature (in-process keys only), issuer, expiry; any audience. For the
        authorization server's own revocation and introspection endpoints."""
        header, payload, signing_input, signature = self._parse(token)
        key = self._local_key(header["kid"], header["alg"])
        if key is None:
            raise TokenInvalid("unknown_kid")
        verify_signature(header["alg"], key, signing_input, signature)
        return self._claims(payload, header["kid"])

    def _parse(self, token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
        if not token or len(token) > MAX_TOKEN_BYTES or not token.isascii():
            raise TokenInvalid("malformed")
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenInvalid("malformed")
        header = _json_part(parts[0])
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise TokenInvalid("alg_not_allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenInvalid("kid_missing")
        if "crit" in header or "jku" in header or "x5u" in header or "jwk" in header:
            raise TokenInvalid("header_not_allowed")
        if self.expected_typ is not None:
            typ = header.get("typ")
            if not isinstance(typ, str) or typ.lower() not in (
                self.expected_typ,
                "application/" + self.expected_typ,
            ):
                raise TokenInvalid("wrong_typ")
        payload = _json_part(parts[1])
        signature = _b64d(parts[2])
        return header, payload, f"{parts[0]}.{parts[1]}".encode("ascii"), signature

    def _local_key(self, kid: str, alg: str) -> Any:
        if self.key_provider is None:
            return None
        try:
            info = self.key_provider.get_public_key(kid)
        except Exception:
            # A failing provider must not take validation down: fall back to HTTP JWKS.
            self.provider_errors += 1
            log.exception("key provider failed; falling back to the JWKS endpoint")
            return None
        if info is None:
            return None
        if info.alg != alg:
            raise TokenInvalid("alg_mismatch")
        return info.public_key

    async def _remote_key(self, kid: str, alg: str) -> Any:
        if self.jwks is None:
            raise TokenInvalid("unknown_kid")
        hit = await self.jwks.get_key(kid)
        if hit is None:
            raise TokenInvalid("unknown_kid")
        key_alg, key = hit
        if key_alg is not None and key_alg != alg:
            raise TokenInvalid("alg_mismatch")
        return key

    def _claims(self, payload: Mapping[str, Any], kid: str) -> VerifiedToken:
        now = self._clock()
        if payload.get("iss") != self.issuer:
            raise TokenInvalid("wrong_issuer")
        exp = payload.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise TokenInvalid("exp_missing")
        if now >= exp:
            raise TokenInvalid("expired")
        for name in ("nbf", "iat"):
            value = payload.get(name)
            if value is None:
                continue
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise TokenInvalid("malformed")
            if value > now + self.leeway:
                raise TokenInvalid("not_yet_valid")
        aud = payload.get("aud")
        if isinstance(aud, str):
            audience: tuple[str, ...] = (aud,)
        elif isinstance(aud, list) and all(isinstance(a, str) for a in aud):
            audience = tuple(aud)
        else:
            raise TokenInvalid("wrong_audience")
        sub = payload.get("sub")
        if not isinstance(sub, str) or not sub:
            raise TokenInvalid("sub_missing")
        scope = payload.get("scope", payload.get("scp", ""))
        if isinstance(scope, str):
            scopes = frozenset(scope.split())
        elif isinstance(scope, list) and all(isinstance(s, str) for s in scope):
            scopes = frozenset(scope)
        else:
            raise TokenInvalid("malformed")

        def opt(name: str) -> str | None:
            value = payload.get(name)
            return value if isinstance(value, str) else None

        return VerifiedToken(
            issuer=self.issuer,
            subject=sub,
            audience=audience,
            expires_at=float(exp),
            scopes=scopes,
            client_id=opt("client_id"),
            token_id=opt("jti"),
            grant_id=opt("gid"),
            kid=kid,
        )
