"""Attack matrix: forged and malformed tokens against the real listener and gateway route.
Every one must get 401 (or 403 for a valid token without the scope), never a 5xx, and
no response body may carry exception text. Then hostile registrations and authorization
requests at the authorization server: a 4xx with an OAuth error, nothing stored."""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from switchboard.auth.registration import RegistrationLimiter
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
                    headers=[(b"authorization", (value or "").encode("utf-8"))],
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


# -- hostile input at the authorization server (10.4): 4xx with an OAuth error, nothing
# stored, never a 5xx -------------------------------------------------------------------
GOOD_REDIRECT = "http://127.0.0.1:40123/cb"
HOSTILE_REGISTRATIONS: list[tuple[str, bytes]] = [
    ("redirect_uris: [42]", b'{"redirect_uris": [42]}'),
    ("redirect_uris: string", b'{"redirect_uris": "http://127.0.0.1/cb"}'),
    ("redirect_uris: object", b'{"redirect_uris": {"a": 1}}'),
    ("redirect_uris: null", b'{"redirect_uris": null}'),
    ("redirect_uris: nested list", b'{"redirect_uris": [["http://127.0.0.1/cb"]]}'),
    ("redirect_uris: 11 URIs", json.dumps({"redirect_uris": [GOOD_REDIRECT] * 11}).encode()),
    ("redirect_uri: huge", json.dumps({"redirect_uris": [GOOD_REDIRECT + "a" * 5000]}).encode()),
    ("client_name: lone surrogate", b'{"client_name": "\\ud800", "redirect_uris": ["%s"]}'),
    ("client_name: number", b'{"client_name": 7, "redirect_uris": ["%s"]}'),
    ("client_name: list", b'{"client_name": ["a"], "redirect_uris": ["%s"]}'),
    ("client_name: object", b'{"client_name": {"a": 1}, "redirect_uris": ["%s"]}'),
    ("client_name: NUL", b'{"client_name": "a\\u0000b", "redirect_uris": ["%s"]}'),
    ("client_name: bidi override", b'{"client_name": "a\\u202eb", "redirect_uris": ["%s"]}'),
    (
        "client_name: huge",
        json.dumps({"client_name": "n" * 5000, "redirect_uris": [GOOD_REDIRECT]}).encode(),
    ),
    ("client_uri: number", b'{"client_uri": 1, "redirect_uris": ["%s"]}'),
    ("client_uri: javascript", b'{"client_uri": "javascript:alert(1)", "redirect_uris": ["%s"]}'),
    ("logo_uri: object", b'{"logo_uri": {}, "redirect_uris": ["%s"]}'),
    ("scope: list", b'{"scope": ["mcp"], "redirect_uris": ["%s"]}'),
    ("scope: number", b'{"scope": 1, "redirect_uris": ["%s"]}'),
    ("grant_types: string", b'{"grant_types": "authorization_code", "redirect_uris": ["%s"]}'),
    ("grant_types: [1]", b'{"grant_types": [1], "redirect_uris": ["%s"]}'),
    ("grant_types: unsupported", b'{"grant_types": ["password"], "redirect_uris": ["%s"]}'),
    ("response_types: [{}]", b'{"response_types": [{}], "redirect_uris": ["%s"]}'),
    ("response_types: token", b'{"response_types": ["token"], "redirect_uris": ["%s"]}'),
    ("contacts: string", b'{"contacts": "a@b", "redirect_uris": ["%s"]}'),
    ("auth method: number", b'{"token_endpoint_auth_method": 1, "redirect_uris": ["%s"]}'),
    ("auth method: unknown", b'{"token_endpoint_auth_method": "x", "redirect_uris": ["%s"]}'),
    ("software_id: list", b'{"software_id": [], "redirect_uris": ["%s"]}'),
    ("body: list", b'[{"redirect_uris": ["%s"]}]'),
    ("body: string", b'"hello"'),
    ("body: number", b"42"),
    ("body: null", b"null"),
    ("body: not JSON", b"{redirect_uris:"),
    ("body: invalid UTF-8", b'{"client_name": "\xff\xfe", "redirect_uris": ["%s"]}'),
    ("body: deeply nested", b'{"a": ' + b"[" * 20000 + b"]" * 20000 + b"}"),
    ("body: empty", b""),
    ("body: too large", b'{"client_name": "' + b"x" * 70000 + b'"}'),
]


async def _assert_oauth_error(r: httpx.Response, name: str) -> None:
    assert 400 <= r.status_code < 500, (name, r.status_code, r.text)
    body = r.json()
    assert isinstance(body.get("error"), str) and body["error"], (name, body)
    assert isinstance(body.get("error_description"), str) and body["error_description"]
    for leak in ("Traceback", "Exception", "line ", "authlib", "joserfc"):
        assert leak not in r.text, (name, r.text)


def _mutations(seed: int, count: int) -> list[bytes]:
    """Random damage to a valid registration body: field values swapped for values of
    other JSON types, odd characters spliced into strings, bytes flipped."""
    rng = random.Random(seed)
    base: dict[str, Any] = {
        "client_name": "fuzz",
        "redirect_uris": [GOOD_REDIRECT, "cursor://anysphere.cursor-mcp/oauth/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "scope": "mcp",
        "client_uri": "https://client.example",
    }
    odd = ["\u0000", "\\", "\r\n", "\u202e", "\u200b", "#", "@", " ", "%00", "\udfff", "é", "\x7f"]
    values: list[Any] = [None, 0, -1, 1.5, True, "", [], {}, [None], [[]], {"a": []}, "x" * 3000]
    out: list[bytes] = []
    for _ in range(count):
        body = json.loads(json.dumps(base))
        for _ in range(rng.randint(1, 3)):
            key = rng.choice(list(body))
            roll = rng.random()
            if roll < 0.4:
                body[key] = rng.choice(values)
            elif roll < 0.8 and isinstance(body[key], str):
                pos = rng.randint(0, len(body[key]))
                body[key] = body[key][:pos] + rng.choice(odd) + body[key][pos:]
            elif isinstance(body[key], list) and body[key]:
                i = rng.randrange(len(body[key]))
                item = body[key][i]
                if isinstance(item, str):
                    pos = rng.randint(0, len(item))
                    body[key][i] = item[:pos] + rng.choice(odd) + item[pos:]
                else:
                    body[key][i] = rng.choice(values)
            else:
                body.pop(key)
        raw = json.dumps(body, ensure_ascii=True).encode()
        if rng.random() < 0.15:
            flip = bytearray(raw)
            flip[rng.randrange(len(flip))] = rng.randrange(256)
            raw = bytes(flip)
        out.append(raw)
    return out


@pytest.fixture
async def as_engine(engine: Engine) -> Engine:
    cmd, args = fixture_cmd("echo_server.py")
    await engine.add_server(ServerSpec(name="echo", command=cmd, args=args))
    assert engine.auth.oauth is not None
    # The fuzz registers hundreds of times from one "client": caps are tested elsewhere.
    engine.auth.oauth.limiter = RegistrationLimiter(per_source=10**6, ceiling=10**6, window=60)
    return engine


async def test_hostile_registrations_get_4xx_and_store_nothing(as_engine: Engine) -> None:
    store = as_engine.auth.store
    url = f"{as_engine.base_url}/oauth/register"
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        for name, raw in HOSTILE_REGISTRATIONS:
            if b"%s" in raw:
                raw = raw.replace(b"%s", GOOD_REDIRECT.encode())
            before = store.count_clients()
            r = await http.post(url, content=raw, headers={"content-type": "application/json"})
            await _assert_oauth_error(r, name)
            assert store.count_clients() == before, name
        # Not JSON at all: a form, or no content type.
        for ctype in ("application/x-www-form-urlencoded", "text/plain", ""):
            r = await http.post(url, content=b"redirect_uris=x", headers={"content-type": ctype})
            await _assert_oauth_error(r, ctype)
        # Randomised damage with a fixed seed: whatever it does, never a 5xx; a refusal
        # stores nothing, an acceptance stores exactly one client whose response encodes.
        statuses: dict[int, int] = {}
        for raw in _mutations(seed=20261129, count=300):
            before = store.count_clients()
            r = await http.post(url, content=raw, headers={"content-type": "application/json"})
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            if r.status_code == 201:
                assert store.count_clients() == before + 1
                assert r.json()["client_id"]
            else:
                await _assert_oauth_error(r, raw.decode("latin-1"))
                assert store.count_clients() == before, raw
        assert set(statuses) <= {201, 400, 413}, statuses
        assert statuses.get(201, 0) > 10 and statuses.get(400, 0) > 100, statuses


HOSTILE_REDIRECTS = [
    GOOD_REDIRECT + "\\..\\evil",
    "http://127.0.0.1:40123\\@evil.example/cb",
    GOOD_REDIRECT + "\r\nLocation: http://evil.example/",
    GOOD_REDIRECT + "\x00",
    GOOD_REDIRECT + "#frag",
    "http://127.0.0.1:40123/cb/../../evil",
    "http://evil.example@127.0.0.1:40123/cb",
    "http://127.0.0.1:40123@evil.example/cb",
    "http://127.0.0.1:99999/cb",
    "http://[::1/cb",
    "javascript:alert(1)",
    "//evil.example/cb",
    "http://127.0.0.1:40123/cb?" + "x" * 6000,
    "http://127.0.0.1:40123/c\u00e9",
    "\udfff",
]


async def test_hostile_authorization_requests_never_redirect_or_fail(as_engine: Engine) -> None:
    engine = as_engine
    url = engine.server_url("echo")
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        reg = await http.post(
            f"{engine.base_url}/oauth/register",
            json={"client_name": "victim", "redirect_uris": [GOOD_REDIRECT]},
        )
        client_id = reg.json()["client_id"]
        good = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": GOOD_REDIRECT,
            "state": "st",
            "code_challenge": "c" * 43,
            "code_challenge_method": "S256",
            "resource": url,
        }
        cases: list[dict[str, str]] = [{**good, "redirect_uri": r} for r in HOSTILE_REDIRECTS]
        cases += [
            {**good, "client_id": "\u0000"},
            {**good, "client_id": "x" * 5000},
            {**good, "client_id": "https://127.0.0.1/cimd"},
            {**good, "resource": "\\\\evil\\share"},
            {**good, "resource": url + "\u0000"},
            {**good, "scope": "\u0000 mcp"},
            {**good, "response_type": "token"},
            {**good, "code_challenge": "\udfff"},
            {**good, "code_challenge_method": "plain"},
        ]
        before = len(engine.auth.broker.pending())
        for params in cases:
            query = "&".join(
                f"{k}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}"
                for k, v in params.items()
            )
            r = await http.get(f"{engine.base_url}/oauth/authorize?{query}")
            assert r.status_code < 500, (params, r.status_code, r.text)
            if r.status_code in (302, 303):
                # Errors go back only to the registered redirect URI, never a code.
                location = r.headers["location"]
                assert location.startswith(GOOD_REDIRECT + "?"), (params, location)
                assert "code=" not in location
            else:
                assert 400 <= r.status_code < 500, (params, r.status_code)
            for leak in ("Traceback", "Exception", "authlib"):
                assert leak not in r.text, (params, r.text)
        assert len(engine.auth.broker.pending()) == before
        # state is opaque (RFC 6749 §4.1.1): odd characters open a consent page, escaped.
        r = await http.get(
            f"{engine.base_url}/oauth/authorize", params={**good, "state": "\r\n<script>"}
        )
        assert r.status_code == 200 and "<script>" not in r.text.split("<script nonce")[0]


async def test_hostile_token_revocation_and_introspection_forms_never_fail(
    as_engine: Engine,
) -> None:
    engine = as_engine
    rng = random.Random(7)
    odd = ["", "\u0000", "\\", "\udfff", "x" * 3000, "%ff", "é", "a b", "\r\n"]
    fields = [
        "grant_type",
        "code",
        "redirect_uri",
        "client_id",
        "client_secret",
        "code_verifier",
        "refresh_token",
        "resource",
        "scope",
        "token",
        "token_type_hint",
    ]
    grants = ["authorization_code", "refresh_token", "client_credentials", "password", ""]
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        for i in range(150):
            form = {f: rng.choice(odd) for f in rng.sample(fields, rng.randint(1, 6))}
            if rng.random() < 0.6:
                form["grant_type"] = rng.choice(grants)
            body = "&".join(
                f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}"
                for k, v in form.items()
            ).encode()
            headers = {"content-type": "application/x-www-form-urlencoded"}
            if rng.random() < 0.3:
                headers["authorization"] = "Basic " + rng.choice(
                    ["x", "@@@", "Og==", "Zm9vOg==", "w6k6"]
                )
            path = ("/oauth/token", "/oauth/revoke", "/oauth/introspect")[i % 3]
            r = await http.post(f"{engine.base_url}{path}", content=body, headers=headers)
            assert r.status_code < 500, (path, form, r.status_code, r.text)
            for leak in ("Traceback", "Exception", "authlib"):
                assert leak not in r.text, (path, form, r.text)
