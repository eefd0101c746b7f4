"""Attack matrix: forged and malformed tokens against the real listener and gateway route.
Every one must get 401 (or 403 for a valid token without the scope), never a 5xx, and
no response body may carry exception text."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from switchboard.core.spec import AuthMode, ServerSpec
from switchboard.engine import Engine
from tests.conftest import fixture_cmd
from tests.fixtures.gw_helpers import add_started
from tests.unit.auth.tokens import b64, b64json, code_flow, sign

pytestmark = pytest.mark.timeout(90)

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "attack", "version": "1"},
    },
}


class Ctx:
    def __init__(self, engine: Engine, url: str, other: str, refresh: str, good: str) -> None:
        self.engine = engine
        self.url = url
        self.other = other
        self.refresh = refresh
        self.good = good
        assert engine.auth.keys is not None
        self.kid, self.key = engine.auth.keys.signing_key()
        self.attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def claims(self, **over: Any) -> dict[str, Any]:
        now = int(time.time())
        out: dict[str, Any] = {
            "iss": self.engine.base_url,
            "sub": "local-user",
            "aud": self.url,
            "client_id": "attacker",
            "scope": "mcp",
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "jti": "forged",
        }
        out.update(over)
        return {k: v for k, v in out.items() if v is not None}

    def ours(self, **over: Any) -> str:
        return sign(self.key, self.claims(**over), kid=self.kid)


def _flip(token: str, part: int) -> str:
    parts = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(parts[part] + "=" * (-len(parts[part]) % 4)))
    raw[len(raw) // 2] ^= 0x01
    parts[part] = b64(bytes(raw))
    return ".".join(parts)


def _tamper_payload(c: Ctx) -> str:
    h, _, s = c.ours().split(".")
    return f"{h}.{b64json(c.claims(sub='admin', scope='mcp admin'))}.{s}"


def _hs256_with_public_key(c: Ctx) -> str:
    pem = c.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return sign(pem, c.claims(), kid=c.kid, alg="HS256")


def _es256_confusion(c: Ctx) -> str:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    return sign(ec_key, c.claims(), kid=c.kid, alg="ES256")


def _jwk_injection(c: Ctx) -> str:
    from joserfc.jwk import RSAKey

    jwk = RSAKey.import_key(c.attacker.public_key()).as_dict(private=False)
    return sign(c.attacker, c.claims(), kid="attacker", extra_header={"jwk": jwk})


# (name, build(ctx) -> Authorization header value or None, expected status)
CASES: list[tuple[str, Callable[[Ctx], str | None], int]] = [
    ("alg none", lambda c: sign(None, c.claims(), kid=c.kid, alg="none"), 401),
    (
        "alg none keeping a real signature",
        lambda c: ".".join(
            [b64json({"alg": "none", "typ": "at+jwt", "kid": c.kid}), *c.ours().split(".")[1:]]
        ),
        401,
    ),
    ("HS256 signed with our public key", _hs256_with_public_key, 401),
    (
        "HS256 signed with a guess",
        lambda c: sign(b"secret", c.claims(), kid=c.kid, alg="HS256"),
        401,
    ),
    ("ES256 with our kid (alg confusion)", _es256_confusion, 401),
    ("attacker RSA key, our kid", lambda c: sign(c.attacker, c.claims(), kid=c.kid), 401),
    ("attacker key, jwk header injection", _jwk_injection, 401),
    (
        "attacker key, jku header",
        lambda c: sign(c.attacker, c.claims(), kid="x", extra_header={"jku": "https://evil/jwks"}),
        401,
    ),
    ("wrong aud", lambda c: c.ours(aud="https://example.com/mcp"), 401),
    ("another server's aud", lambda c: c.ours(aud=c.other), 401),
    ("aud list without us", lambda c: c.ours(aud=[c.other, "x"]), 401),
    ("no aud", lambda c: c.ours(aud=None), 401),
    ("wrong iss", lambda c: c.ours(iss="http://127.0.0.1:1"), 401),
    ("iss with trailing slash", lambda c: c.ours(iss=c.engine.base_url + "/"), 401),
    ("expired", lambda c: c.ours(exp=int(time.time()) - 5), 401),
    ("no exp", lambda c: c.ours(exp=None), 401),
    ("exp as string", lambda c: c.ours(exp="9999999999"), 401),
    ("nbf in the future", lambda c: c.ours(nbf=int(time.time()) + 600), 401),
    ("iat in the future", lambda c: c.ours(iat=int(time.time()) + 600), 401),
    ("unknown kid", lambda c: sign(c.key, c.claims(), kid="nope"), 401),
    ("missing kid", lambda c: sign(c.key, c.claims(), kid=None), 401),
    ("typ JWT instead of at+jwt", lambda c: sign(c.key, c.claims(), kid=c.kid, typ="JWT"), 401),
    ("tampered payload", _tamper_payload, 401),
    ("tampered signature", lambda c: _flip(c.ours(), 2), 401),
    ("truncated (no signature)", lambda c: c.ours().rsplit(".", 1)[0], 401),
    ("truncated signature", lambda c: c.ours()[:-10], 401),
    ("bad base64 header", lambda c: "!!!." + c.ours().split(".", 1)[1], 401),
    ("payload not an object", lambda c: c.ours().split(".")[0] + "." + b64json([1]) + ".sig", 401),
    (
        "huge header",
        lambda c: sign(c.key, c.claims(), kid=c.kid, extra_header={"x": "A" * 20000}),
        401,
    ),
    ("non-ascii garbage", lambda c: "Bearer \u00e9\u00e9.\u00e9.\u00e9", 401),
    ("refresh token as access token", lambda c: c.refresh, 401),
    ("bearer without a token", lambda c: "Bearer", 401),
    ("Basic scheme", lambda c: "Basic dXNlcjpwYXNz", 401),
    ("two tokens", lambda c: f"Bearer {c.good} {c.good}", 401),
    ("valid signature, no mcp scope", lambda c: c.ours(scope="other"), 403),
]


@pytest.fixture
async def ctx(engine: Engine) -> Ctx:
    assert engine.authenticator is engine.auth  # the engine wires the slot
    cmd, args = fixture_cmd("echo_server.py")
    url = await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)
    await engine.add_server(ServerSpec(name="other", command=cmd, args=args))
    other = engine.server_url("other")
    async with httpx.AsyncClient(trust_env=False) as http:
        _, tok = await code_flow(engine, http, url)
    return Ctx(engine, url, other, tok["refresh_token"], tok["access_token"])


def _header(value: str | None) -> dict[str, str]:
    headers = {"accept": "application/json, text/event-stream"}
    if value is not None:
        headers["authorization"] = (
            value if value.split(" ")[0] in ("Bearer", "Basic") else (f"Bearer {value}")
        )
    return headers


async def test_attack_matrix(ctx: Ctx) -> None:
    assert len(CASES) >= 25
    results: dict[str, int] = {}
    async with httpx.AsyncClient(trust_env=False) as http:
        # Positive control: the real token works.
        ok = await http.post(ctx.url, json=INIT, headers=_header(ctx.good))
        assert ok.status_code == 200, ok.text
        for name, build, expected in CASES:
            value = build(ctx)
            try:
                headers = _header(value)
                r = await http.post(ctx.url, json=INIT, headers=headers)
            except UnicodeEncodeError:
                r = await http.post(
                    ctx.url,
                    json=INIT,
                    headers={"authorization": (value or "").encode("utf-8")},  # type: ignore[dict-item]
                )
            results[name] = r.status_code
            assert r.status_code < 500, (name, r.status_code)
            assert r.status_code == expected, (name, r.status_code, r.text)
            body = r.text
            for leak in ("Traceback", "Exception", "Error:", "line ", "joserfc", "cryptography"):
                assert leak not in body, (name, body)
            challenge = r.headers["www-authenticate"]
            assert challenge.startswith("Bearer ")
            assert 'resource_metadata="' in challenge
            if expected == 403:
                assert 'error="insufficient_scope"' in challenge and 'scope="mcp"' in challenge
            elif value not in (None,):
                assert 'error="invalid_token"' in challenge
            assert json.loads(body)["error"] in ("invalid_token", "insufficient_scope")
    assert ctx.engine.auth.jwks_requests == 0
    assert len(results) == len(CASES)


async def test_token_in_query_string_is_ignored(ctx: Ctx) -> None:
    async with httpx.AsyncClient(trust_env=False) as http:
        r = await http.post(
            ctx.url,
            params={"access_token": ctx.good},
            json=INIT,
            headers={"accept": "application/json, text/event-stream"},
        )
        assert r.status_code == 401
        assert "error=" not in r.headers["www-authenticate"]  # as if no credentials were sent


async def test_revoked_grant_token_is_rejected(ctx: Ctx) -> None:
    async with httpx.AsyncClient(trust_env=False) as http:
        ok = await http.post(ctx.url, json=INIT, headers=_header(ctx.good))
        assert ok.status_code == 200  # now cached as verified
        grants = (await ctx.engine.auth.list_grants())["grants"]
        await ctx.engine.auth.revoke_grant(grants[0]["id"])
        r = await http.post(ctx.url, json=INIT, headers=_header(ctx.good))
        assert r.status_code == 401
        assert "revoked" in r.json()["error_description"]
