"""The official TypeScript MCP SDK (``@modelcontextprotocol/sdk`` 1.32.2, pinned in
conftest.SDK) against Switchboard: its own OAuthClientProvider flow (RFC 9728
discovery, RFC 7591 registration, PKCE, RFC 8707 resource), then every feature of the
reference server ``@modelcontextprotocol/server-everything`` 2026.8.31
(conftest.EVERYTHING) through the gateway, request cancellation, token refresh, and
three clients sharing one server.

The client side is tests/interop/js/ts_client.mjs; all protocol behaviour in it comes
from the SDK. Each test runs it as a separate Node process and asserts on its report
and on the engine's state (grant store, validator, consent broker)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import pytest_asyncio

from switchboard.auth.validator import TokenInvalid
from tests.interop.conftest import ACCESS_TOKEN_TTL, Interop

pytestmark = [
    pytest.mark.npm,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.timeout(300),  # the first test of a session may install the npm packages
]


def _steps(report: dict[str, Any], name: str) -> Any:
    step = report["result"][name]
    assert step["ok"], step["error"]
    return step["value"]


def _form(body: str | None) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body or "").items()}


async def test_sign_in_discovery_registration_pkce_token(interop: Interop) -> None:
    url = interop.everything_url
    report = await interop.run_ts("signin", url)
    out = report["result"]
    assert report["errors"] == []
    assert {"echo", "trigger-long-running-operation"} <= set(out["tools"])
    assert out["echo"] == ["Echo: hello from the TypeScript SDK"]

    # The SDK found everything by itself, in the order of the MCP authorization spec.
    calls = [(r["method"], r["path"], r["status"]) for r in report["requests"]]
    path = urlsplit(url).path
    assert calls[:4] == [
        ("POST", path, 401),
        ("GET", f"/.well-known/oauth-protected-resource{path}", 200),
        ("GET", "/.well-known/oauth-authorization-server", 200),
        ("POST", "/oauth/register", 201),
    ]
    token_at = calls.index(("POST", "/oauth/token", 200))
    assert calls[token_at + 1] == ("POST", path, 200)  # initialize, now with the token
    assert {p for _, p, _ in calls} <= {
        path,
        f"/.well-known/oauth-protected-resource{path}",
        "/.well-known/oauth-authorization-server",
        "/oauth/register",
        "/oauth/token",
    }
    # PKCE S256 and the resource indicator on the authorize request ...
    authorize = parse_qs(urlsplit(out["authorizeUrls"][0]).query)
    verifier = out["verifier"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert authorize["code_challenge_method"] == ["S256"]
    assert authorize["code_challenge"] == [challenge.decode()]
    assert authorize["resource"] == [url]
    assert authorize["client_id"] == [out["clientInfo"]["client_id"]]
    assert authorize["redirect_uri"] == [out["redirectUrl"]]
    # ... the redirect (RFC 9207 iss) and the token request carrying the verifier.
    callback = out["callbacks"][0]
    assert callback["iss"] == interop.engine.base_url
    assert callback["state"] == authorize["state"][0]
    token_req = _form(next(r["body"] for r in report["requests"] if r["path"] == "/oauth/token"))
    assert token_req["grant_type"] == "authorization_code"
    assert token_req["code_verifier"] == verifier
    assert token_req["code"] == callback["code"]
    assert token_req["resource"] == url

    # The person was asked once, for this server.
    asked = interop.desk.by_client("ts-sdk-signin")
    assert [(r.server, r.resource) for r in asked] == [("everything", url)]
    # The token is bound to this server only; the grant store says the same.
    tokens = out["tokens"]
    assert tokens["token_type"].lower() == "bearer" and tokens["refresh_token"]
    validator = interop.engine.auth.validator
    assert validator is not None
    vt = await validator.validate(tokens["access_token"], url)
    assert vt.audience == (url,)
    with pytest.raises(TokenInvalid):
        await validator.validate(tokens["access_token"], interop.sampling_url)
    grants = await interop.grants_of("ts-sdk-signin")
    assert [(g["server"], g["resource"]) for g in grants] == [("everything", url)]
    # Our own tokens are checked with the key in memory: never a JWKS fetch.
    assert interop.engine.auth.jwks_fetches == 0
    assert interop.engine.auth.jwks_requests == 0


async def test_sign_in_and_call_over_legacy_sse(interop: Interop) -> None:
    url = f"{interop.engine.base_url}/servers/everything/sse"
    report = await interop.run_ts("sse", url)
    assert report["result"]["echo"] == ["Echo: over SSE"]
    assert report["errors"] == []
    # Discovery started from the SSE endpoint's own challenge and metadata.
    calls = [(r["method"], r["path"], r["status"]) for r in report["requests"]]
    assert calls[:2] == [
        ("GET", "/servers/everything/sse", 401),
        ("GET", "/.well-known/oauth-protected-resource/servers/everything/sse", 200),
    ]
    asked = interop.desk.by_client("ts-sdk-sse")
    assert [(r.server, r.resource) for r in asked] == [("everything", url)]
    validator = interop.engine.auth.validator
    assert validator is not None
    vt = await validator.validate(report["result"]["tokens"]["access_token"], url)
    assert vt.audience == (url,)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def features(interop: Interop) -> AsyncIterator[dict[str, Any]]:
    """One session that uses resources, prompts, progress, sampling and elicitation."""
    report = await interop.run_ts("features", interop.everything_url)
    yield report


async def test_resources_list_and_read(interop: Interop, features: dict[str, Any]) -> None:
    got = _steps(features, "resources")
    doc = got["doc"]
    assert doc in got["uris"]
    name = doc.rsplit("/", 1)[1]
    on_disk = (interop.kit.everything.parent / "docs" / name).read_text()
    assert got["docText"] == on_disk
    assert got["dynamicText"].startswith("Resource 7: This is a plaintext resource")


async def test_prompts_list_and_get(features: dict[str, Any]) -> None:
    got = _steps(features, "prompts")
    assert {"simple-prompt", "args-prompt"} <= set(got["names"])
    assert got["messages"] == ["What's weather in Lyon, Rhone?"]


async def test_ping_and_completion(features: dict[str, Any]) -> None:
    # The department given as context narrows the names (completion/complete context).
    assert _steps(features, "completion") == ["David", "Eve", "Frank"]


async def test_progress_notifications_reach_the_caller(features: dict[str, Any]) -> None:
    got = _steps(features, "progress")
    assert [(p["progress"], p["total"]) for p in got["seen"]] == [(1, 3), (2, 3), (3, 3)]
    assert "Duration: 0.6 seconds, Steps: 3" in got["text"][0]


async def test_sampling_answered_by_the_client(features: dict[str, Any]) -> None:
    got = _steps(features, "sampling")
    prompt = "Resource trigger-sampling-request context: ts-prompt-42"
    assert got["sampled"] == [prompt]
    assert f"ts-sampled<{prompt}>" in got["text"][0]
    assert "ts-test-model" in got["text"][0]


async def test_elicitation_answered_by_the_client(features: dict[str, Any]) -> None:
    got = _steps(features, "elicitation")
    assert got["elicited"] == ["Please provide inputs for the following fields:"]
    joined = "\n".join(got["text"])
    assert "- Name: Ada Lovelace" in joined
    assert "- Favorite Integer: 7" in joined
    assert features["errors"] == []


async def test_cancelled_call_leaves_no_stray_response(interop: Interop) -> None:
    """MCP 2025-11-25 cancellation: after ``notifications/cancelled`` the receiver
    SHOULD NOT send a response for the request; the TS SDK reports any response to an
    id it no longer waits for as "Received a response for an unknown message ID".
    (Today the gateway answers the cancelled call with -32800; branch ``mux`` fixes it.)"""
    report = await interop.run_ts("cancel", interop.everything_url)
    out = report["result"]
    assert out["progress"], "the slow tool never reported progress"
    assert out["aborted"]["rejected"], out["aborted"]
    assert "the user stopped it" in out["aborted"]["message"]
    assert out["after"] == {"ok": True, "value": ["Echo: still here"]}
    assert report["errors"] == []


@pytest.mark.slow
@pytest.mark.timeout(ACCESS_TOKEN_TTL * 3)
async def test_refresh_after_the_access_token_expired(interop: Interop) -> None:
    url = interop.everything_url
    report = await interop.run_ts("refresh", url, timeout=ACCESS_TOKEN_TTL * 2 + 30)
    out = report["result"]
    assert out["before"] == ["Echo: before"]
    assert out["after"] == {"ok": True, "value": ["Echo: after expiry"]}
    first, last = out["saved"][0], out["saved"][-1]
    assert first["expires_in"] == ACCESS_TOKEN_TTL
    assert len(out["saved"]) == 2
    assert last["access_token"] != first["access_token"]
    assert last["refresh_token"] and last["refresh_token"] != first["refresh_token"]
    # The expired token was refused (401), the SDK refreshed (RFC 6749 section 6, with
    # the RFC 8707 resource) and retried.
    calls = [(r["method"], r["path"], r["status"]) for r in report["requests"]]
    refresh_at = next(
        i
        for i, r in enumerate(report["requests"])
        if r["path"] == "/oauth/token" and _form(r["body"])["grant_type"] == "refresh_token"
    )
    assert calls[refresh_at] == ("POST", "/oauth/token", 200)
    assert ("POST", urlsplit(url).path, 401) in calls[:refresh_at]
    refresh_req = _form(report["requests"][refresh_at]["body"])
    assert refresh_req["refresh_token"] == first["refresh_token"]
    assert refresh_req["resource"] == url
    # The old refresh token is spent (rotation), the new one is live, same grant.
    store = interop.engine.auth.store
    old = store.get_refresh(first["refresh_token"])
    new = store.get_refresh(last["refresh_token"])
    assert old is not None and old.used_at is not None
    assert new is not None and new.used_at is None and new.grant_id == old.grant_id
    validator = interop.engine.auth.validator
    assert validator is not None
    assert (await validator.validate(last["access_token"], url)).audience == (url,)
    assert len(interop.desk.by_client("ts-sdk-refresh")) == 1  # no second consent
    assert report["errors"] == []
    assert interop.engine.auth.jwks_fetches == 0


async def test_resource_updates_reach_only_the_subscriber(interop: Interop) -> None:
    report = await interop.run_ts("subscribe", interop.everything_url)
    out = report["result"]
    assert out["started"][0].startswith("Started simulated resource updated notifications")
    assert out["stopped"][0].startswith("Stopped simulated resource updates")
    assert out["heard"]["subscriber"][:1] == [out["uri"]]
    assert set(out["heard"]["subscriber"]) == {out["uri"]}
    assert out["heard"]["bystander"] == []
    assert report["errors"] == []


async def test_a_second_app_never_sees_the_first_apps_roots(interop: Interop) -> None:
    """MCP roots are the client's workspace (2025-11-25 client/roots). server-everything
    asks the client for them once per connection and caches them; through the gateway
    all clients share one connection to the process, so the gateway never declares roots
    to it (gateway/initialization.py ``GATEWAY_CLIENT_CAPS``): neither app is asked, and neither is
    shown the other's paths (server-everything then offers no get-roots-list tool).
    Before that, app B was shown app A's roots."""
    report = await interop.run_ts("roots", interop.everything_url)
    out = report["result"]
    a, b = out["roots-a"], out["roots-b"]
    assert a["asked"] == [] and b["asked"] == []
    assert "roots-a" not in json.dumps(b["listed"])
    assert "roots-b" not in json.dumps(a["listed"])
    assert "roots-a" not in json.dumps(a["listed"])  # the server was never told them
    assert report["errors"] == []


async def test_three_clients_get_their_own_sampling_and_elicitation(interop: Interop) -> None:
    """Three SDK sessions call ``ask`` (sampling) and ``confirm`` (elicitation) of one
    shared stdio server at the same time, three rounds; the server names no related
    request on the wire (tests/fixtures/interop_sampling_server.py). A server request
    must reach the session whose call caused it, or be refused with an error that says
    so; never another person's session. Once the gateway knows how the server behaves
    (the first rounds), the last round must work for everyone.

    Fails on today's heuristic routing, which shows every prompt to the latest caller;
    branch ``mux`` makes attribution exact (refusing what it cannot attribute)."""
    report = await interop.run_ts("multi", interop.sampling_url)
    out = report["result"]
    last = out["rounds"] - 1
    for label in out["labels"]:
        seen = out["seen"][label]
        # No leak: each handler saw only its own client's prompts and questions.
        assert [p for p in seen["sampled"] if not p.startswith(f"{label} round ")] == [], label
        assert [q for q in seen["elicited"] if not q.startswith(f"{label} question ")] == []
        mine = out["results"][label]
        for kind, want, method in (
            ("asks", "sampled:{label} answers {label} round {j}", "sampling/createMessage"),
            ("confirms", "accept:{label} confirms", "elicitation/create"),
        ):
            for j, got in enumerate(mine[kind]):
                if got["ok"]:
                    assert got["value"] == [want.format(label=label, j=j)], (label, kind, j)
                else:  # refused, saying what and why (a JSON-RPC error from the gateway)
                    assert "MCP error" in got["error"] and method in got["error"], got
            assert mine[kind][last]["ok"], (label, kind, mine[kind][last])
        # What the handlers answered is exactly what the successful calls returned.
        assert len(seen["sampled"]) == sum(a["ok"] for a in mine["asks"])
        assert len(seen["elicited"]) == sum(c["ok"] for c in mine["confirms"])
    assert report["errors"] == []
