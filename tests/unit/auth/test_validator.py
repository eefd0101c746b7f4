"""TokenValidator: ToolHive's ported key-provider cases, claim checks, the verified-token
cache (never skipping expiry, audience, revocation) and the HTTP JWKS fallback."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from switchboard.auth.keys import KeyProvider, MemoryStorage, PublicKeyInfo
from switchboard.auth.validator import JWKSClient, TokenInvalid, TokenValidator
from tests.unit.auth.tokens import ISSUER, RESOURCE, claims, sign


@pytest.fixture(scope="module")
def provider() -> KeyProvider:
    kp = KeyProvider(MemoryStorage())
    kp.load_or_create()
    return kp


@pytest.fixture(scope="module")
def remote_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk_of(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    data = dict(RSAKey.import_key(key.public_key()).as_dict(private=False))
    data.update(kid=kid, alg="RS256", use="sig")
    return data


class FakeIdP:
    """Discovery + JWKS over an httpx MockTransport, counting requests."""

    def __init__(self, keys: list[dict[str, Any]], fail: bool = False) -> None:
        self.keys = keys
        self.fail = fail
        self.jwks_hits = 0
        self.discovery_hits = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.fail:
            return httpx.Response(500)
        if request.url.path == "/.well-known/openid-configuration":
            self.discovery_hits += 1
            return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks"})
        if request.url.path == "/jwks":
            self.jwks_hits += 1
            return httpx.Response(200, json={"keys": self.keys})
        return httpx.Response(404)

    def client(self, clock: Any = time.monotonic, interval: float = 30.0) -> JWKSClient:
        return JWKSClient(
            ISSUER,
            transport=httpx.MockTransport(self.handler),
            clock=clock,
            min_refetch_interval=interval,
        )


def own(provider: KeyProvider, **over: Any) -> str:
    kid, key = provider.signing_key()
    return sign(key, claims(**over), kid=kid)


# -- ToolHive's cases (pkg/auth/token_test.go), ported ------------------------------------
async def test_kid_match_uses_provider_key_without_http(provider: KeyProvider) -> None:
    idp = FakeIdP([])
    v = TokenValidator(ISSUER, key_provider=provider, jwks=idp.client(), expected_typ="at+jwt")
    vt = await v.validate(own(provider), RESOURCE)
    assert vt.subject == "local-user" and vt.kid == provider.signing_key()[0]
    assert v.jwks_fetches == 0 and idp.jwks_hits == 0 and idp.discovery_hits == 0


async def test_kid_miss_falls_back_to_http_jwks(
    provider: KeyProvider, remote_key: rsa.RSAPrivateKey
) -> None:
    idp = FakeIdP([jwk_of(remote_key, "remote-1")])
    v = TokenValidator(ISSUER, key_provider=provider, jwks=idp.client())
    vt = await v.validate(sign(remote_key, claims(), kid="remote-1"), RESOURCE)
    assert vt.kid == "remote-1"
    assert v.jwks_fetches == 1 and idp.jwks_hits == 1


class BrokenProvider:
    def get_public_key(self, kid: str) -> PublicKeyInfo | None:
        raise RuntimeError("provider down")


async def test_provider_error_falls_back_to_http_jwks(remote_key: rsa.RSAPrivateKey) -> None:
    idp = FakeIdP([jwk_of(remote_key, "remote-1")])
    v = TokenValidator(ISSUER, key_provider=BrokenProvider(), jwks=idp.client())  # type: ignore[arg-type]
    vt = await v.validate(sign(remote_key, claims(), kid="remote-1"), RESOURCE)
    assert vt.kid == "remote-1" and v.provider_errors == 1 and idp.jwks_hits == 1


async def test_hs256_is_rejected(provider: KeyProvider) -> None:
    kid = provider.signing_key()[0]
    v = TokenValidator(ISSUER, key_provider=provider)
    with pytest.raises(TokenInvalid) as err:
        await v.validate(sign(b"secret", claims(), kid=kid, alg="HS256"), RESOURCE)
    assert err.value.reason == "alg_not_allowed"


async def test_missing_kid_is_rejected(provider: KeyProvider) -> None:
    v = TokenValidator(ISSUER, key_provider=provider)
    with pytest.raises(TokenInvalid) as err:
        await v.validate(sign(provider.signing_key()[1], claims(), kid=None), RESOURCE)
    assert err.value.reason == "kid_missing"


async def test_discovery_fails_but_provider_has_the_key(provider: KeyProvider) -> None:
    idp = FakeIdP([], fail=True)
    v = TokenValidator(ISSUER, key_provider=provider, jwks=idp.client())
    assert (await v.validate(own(provider), RESOURCE)).client_id == "c1"
    assert v.jwks_fetches == 0


# -- beyond ToolHive -----------------------------------------------------------------------
async def test_unknown_kid_refetches_at_most_once_per_interval(
    remote_key: rsa.RSAPrivateKey,
) -> None:
    now = [1000.0]
    idp = FakeIdP([jwk_of(remote_key, "k1")])
    v = TokenValidator(ISSUER, jwks=idp.client(clock=lambda: now[0], interval=30))
    await v.validate(sign(remote_key, claims(), kid="k1"), RESOURCE)
    assert idp.jwks_hits == 1
    # The IdP rotates; a token with the new kid arrives.
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    idp.keys.append(jwk_of(new_key, "k2"))
    now[0] += 1  # within the interval: no refetch, rejected
    for _ in range(3):
        with pytest.raises(TokenInvalid, match="unknown_kid"):
            await v.validate(sign(new_key, claims(jti="x"), kid="k2"), RESOURCE)
    assert idp.jwks_hits == 1
    now[0] += 30  # interval over: one refetch finds it
    await v.validate(sign(new_key, claims(jti="y"), kid="k2"), RESOURCE)
    assert idp.jwks_hits == 2


async def test_cache_never_skips_expiry_audience_or_revocation(provider: KeyProvider) -> None:
    now = [time.time()]
    revoked: set[str] = set()
    v = TokenValidator(
        ISSUER,
        key_provider=provider,
        expected_typ="at+jwt",
        clock=lambda: now[0],
        is_revoked=lambda t: t.grant_id in revoked,
    )
    token = own(provider, exp=int(now[0]) + 100)
    await v.validate(token, RESOURCE)
    await v.validate(token, RESOURCE)
    assert v.cache_hits == 1
    with pytest.raises(TokenInvalid, match="wrong_audience"):
        await v.validate(token, "http://127.0.0.1:8765/servers/other/mcp")
    revoked.add("g1")
    with pytest.raises(TokenInvalid, match="revoked"):
        await v.validate(token, RESOURCE)
    revoked.clear()
    now[0] += 101
    with pytest.raises(TokenInvalid, match="expired"):
        await v.validate(token, RESOURCE)
    assert v.cache_hits == 4  # every one of those was a cache hit that still checked


async def test_cache_is_bounded(provider: KeyProvider) -> None:
    v = TokenValidator(ISSUER, key_provider=provider, cache_size=2)
    for i in range(5):
        await v.validate(own(provider, jti=f"t{i}"), RESOURCE)
    assert len(v._cache) == 2


_IN_TWO_MINUTES = object()
"""Resolved when the test runs, not at collection (a slow suite would make it the past)."""


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"iss": "http://127.0.0.1:9999"}, "wrong_issuer"),
        ({"exp": None}, "exp_missing"),
        ({"exp": "never"}, "exp_missing"),
        ({"exp": 1}, "expired"),
        ({"nbf": _IN_TWO_MINUTES}, "not_yet_valid"),
        ({"iat": _IN_TWO_MINUTES}, "not_yet_valid"),
        ({"aud": ["http://127.0.0.1:8765/servers/x/mcp"]}, "wrong_audience"),
        ({"aud": None}, "wrong_audience"),
        ({"sub": None}, "sub_missing"),
        ({"scope": 5}, "malformed"),
    ],
)
async def test_claim_checks(provider: KeyProvider, over: dict[str, Any], reason: str) -> None:
    v = TokenValidator(ISSUER, key_provider=provider, expected_typ="at+jwt")
    over = {k: int(time.time()) + 120 if x is _IN_TWO_MINUTES else x for k, x in over.items()}
    with pytest.raises(TokenInvalid) as err:
        await v.validate(own(provider, **over), RESOURCE)
    assert err.value.reason == reason


async def test_leeway_is_bounded_and_applied(provider: KeyProvider) -> None:
    with pytest.raises(ValueError, match="leeway"):
        TokenValidator(ISSUER, leeway=61)
    with pytest.raises(ValueError, match="algorithms"):
        TokenValidator(ISSUER, algorithms=frozenset({"HS256"}))
    now = time.time()
    v = TokenValidator(ISSUER, key_provider=provider, leeway=60, clock=lambda: now)
    await v.validate(own(provider, nbf=int(now) + 59), RESOURCE)
    with pytest.raises(TokenInvalid, match="not_yet_valid"):
        await v.validate(own(provider, nbf=int(now) + 61, jti="z"), RESOURCE)


async def test_typ_required_for_our_tokens(provider: KeyProvider) -> None:
    kid, key = provider.signing_key()
    v = TokenValidator(ISSUER, key_provider=provider, expected_typ="at+jwt")
    with pytest.raises(TokenInvalid, match="wrong_typ"):
        await v.validate(sign(key, claims(), kid=kid, typ="JWT"), RESOURCE)
    with pytest.raises(TokenInvalid, match="wrong_typ"):
        await v.validate(sign(key, claims(), kid=kid, typ=None), RESOURCE)
    await v.validate(sign(key, claims(), kid=kid, typ="application/at+jwt"), RESOURCE)


async def test_list_audience_and_scp_claim(provider: KeyProvider) -> None:
    v = TokenValidator(ISSUER, key_provider=provider)
    vt = await v.validate(own(provider, aud=["x", RESOURCE], scope=None, scp=["a", "b"]), RESOURCE)
    assert vt.scopes == {"a", "b"}


async def test_jwks_with_garbage_is_rejected_cleanly() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("openid-configuration"):
            return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks"})
        return httpx.Response(200, content=json.dumps({"keys": "nope"}))

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    v = TokenValidator(ISSUER, jwks=JWKSClient(ISSUER, transport=httpx.MockTransport(handler)))
    with pytest.raises(TokenInvalid, match="jwks_unavailable"):
        await v.validate(sign(key, claims(), kid="k"), RESOURCE)


async def test_audience_matches_any_loopback_spelling_of_the_same_url(
    provider: KeyProvider,
) -> None:
    """The listener answers to 127.0.0.1, localhost and [::1]: a token for one spelling of
    a server's URL opens the same URL under another (same port and path), nothing else."""
    v = TokenValidator(ISSUER, key_provider=provider, expected_typ="at+jwt")
    token = own(provider)  # aud = http://127.0.0.1:8765/servers/echo/mcp
    for same in (
        "http://localhost:8765/servers/echo/mcp",
        "http://[::1]:8765/servers/echo/mcp",
        "http://LOCALHOST:8765/servers/echo/mcp",
    ):
        assert (await v.validate(token, same)).subject
    for other in (
        "http://localhost:8766/servers/echo/mcp",  # another port: another listener
        "http://localhost:8765/servers/notes/mcp",
        "http://example.com:8765/servers/echo/mcp",
        "http://127.0.0.2:8765/servers/echo/mcp",
    ):
        with pytest.raises(TokenInvalid, match="wrong_audience"):
            await v.validate(token, other)
