"""Sessions on a real engine with real tokens from its own authorization server.

Issue 10.7: a session is bound to the client whose token created it; another client's
token with the same ``Mcp-Session-Id`` (or legacy ``session_id``) finds nothing (404),
for POST, GET (also resuming with ``Last-Event-ID``) and DELETE.
Issue 10.9: session caps are per client, so one client's flood of sessions neither
evicts the others' sessions nor gets them 429/503.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import switchboard.gateway.gateway as gateway_app
from switchboard.core.spec import AuthMode
from switchboard.engine import Engine
from tests.conftest import fixture_cmd
from tests.fixtures.gw_helpers import RawClient, add_started, rpc
from tests.unit.auth.tokens import code_flow

pytestmark = pytest.mark.timeout(120)

ECHO = {"name": "echo", "arguments": {"text": "hi"}}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
        yield client


async def _client(engine: Engine, http: httpx.AsyncClient, url: str) -> RawClient:
    """A RawClient with its own registration and token (DCR, consent, code flow)."""
    _, tok = await code_flow(engine, http, url)
    own = httpx.AsyncClient(
        trust_env=False, timeout=30, headers={"authorization": f"Bearer {tok['access_token']}"}
    )
    return RawClient(own, url)


@pytest.fixture
async def two(
    engine: Engine, http: httpx.AsyncClient
) -> AsyncIterator[tuple[RawClient, RawClient]]:
    cmd, args = fixture_cmd("echo_server.py")
    url = await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)
    a = await _client(engine, http, url)
    b = await _client(engine, http, url)
    try:
        yield a, b
    finally:
        await a.http.aclose()
        await b.http.aclose()


def _as(thief: RawClient, victim: RawClient) -> RawClient:
    """``thief``'s token with ``victim``'s session id."""
    stolen = RawClient(thief.http, thief.url)
    stolen.session_id = victim.session_id
    return stolen


async def test_session_id_with_another_clients_token_is_404(
    two: tuple[RawClient, RawClient],
) -> None:
    a, b = two
    await a.initialize()
    await b.initialize()
    thief = _as(b, a)
    r = await thief.post(rpc("tools/call", ECHO, 7))
    assert r.status_code == 404
    assert r.json()["error"]["message"] == "Session not found."
    r = await thief.post(rpc("notifications/initialized", msg_id=None))
    assert r.status_code == 404
    r = await thief.http.get(a.url, headers=thief.headers(accept="text/event-stream"))
    assert r.status_code == 404
    # Resuming a stream of A's: A's POST stream ids are in its replay buffer.
    r = await thief.http.get(
        a.url, headers=thief.headers(accept="text/event-stream", **{"last-event-id": "p1-1"})
    )
    assert r.status_code == 404
    r = await thief.http.delete(a.url, headers=thief.headers())
    assert r.status_code == 404
    # A's session is untouched, B's own still works.
    assert (await a.call("tools/call", ECHO, 8))["result"]["content"][0]["text"] == "hi"
    assert (await b.call("tools/call", ECHO, 9))["result"]["content"][0]["text"] == "hi"
    r = await a.http.delete(a.url, headers=a.headers())
    assert r.status_code == 200


async def test_legacy_session_id_with_another_clients_token_is_404(
    engine: Engine, two: tuple[RawClient, RawClient]
) -> None:
    a, b = two
    sse = a.url.removesuffix("/mcp") + "/sse"
    async with a.http.stream("GET", sse) as stream:
        lines = stream.aiter_lines()
        assert await anext(lines) == "event: endpoint"
        endpoint = (await anext(lines)).removeprefix("data: ")
        post = f"{engine.base_url}{endpoint}"
        r = await b.http.post(post, json=rpc("initialize", {"capabilities": {}}, 5))
        assert r.status_code == 404
        r = await a.http.post(post, json=rpc("initialize", {"capabilities": {}}, 5))
        assert r.status_code == 202


async def test_auth_off_sessions_are_bound_to_nothing(engine: Engine) -> None:
    """Documented: without tokens there is no caller to bind to."""
    cmd, args = fixture_cmd("echo_server.py")
    url = await add_started(engine, "open", cmd, args)
    async with httpx.AsyncClient(trust_env=False) as h1, httpx.AsyncClient(trust_env=False) as h2:
        a = RawClient(h1, url)
        await a.initialize()
        other = RawClient(h2, url)
        other.session_id = a.session_id
        assert (await other.call("tools/call", ECHO))["result"]["content"][0]["text"] == "hi"


def _caps(engine: Engine, monkeypatch: pytest.MonkeyPatch, total: int, per_client: int) -> None:
    table: Any = engine.gateway.sessions
    if hasattr(table, "max_per_client"):
        table.max_sessions, table.max_per_client = total, per_client
    else:  # the gateway before per-client caps: one global cap (to see this test fail)
        monkeypatch.setattr(gateway_app, "MAX_SESSIONS", total)


async def test_a_flood_from_one_client_does_not_evict_others(
    engine: Engine, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    url = await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)
    _caps(engine, monkeypatch, total=12, per_client=4)
    a = await _client(engine, http, url)
    b = await _client(engine, http, url)
    flooder = await _client(engine, http, url)
    try:
        await a.initialize()  # idle from now on: the oldest session of all
        await b.initialize()
        for _ in range(40):
            junk = RawClient(flooder.http, url)
            await junk.initialize()
        # The flooder's newest session works, its oldest were its own to lose.
        assert (await junk.call("tools/call", ECHO))["result"]["content"][0]["text"] == "hi"
        assert (await a.call("tools/call", ECHO))["result"]["content"][0]["text"] == "hi"
        assert (await b.call("tools/call", ECHO))["result"]["content"][0]["text"] == "hi"
        # Others can still open sessions.
        fresh = RawClient(a.http, url)
        await fresh.initialize()
    finally:
        for c in (a, b, flooder):
            await c.http.aclose()


async def test_a_client_holding_streams_gets_429_others_do_not(
    engine: Engine, http: httpx.AsyncClient
) -> None:
    """Sessions with an open stream are never evicted: the client holding them is
    refused a new one (429, only it), the others are not."""
    cmd, args = fixture_cmd("echo_server.py")
    url = await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)
    table: Any = engine.gateway.sessions
    table.max_sessions, table.max_per_client = 100, 3
    sse = url.removesuffix("/mcp") + "/sse"
    flooder = await _client(engine, http, url)
    a = await _client(engine, http, url)
    streams: list[Any] = []
    try:
        for _ in range(3):
            cm = flooder.http.stream("GET", sse)
            resp = await cm.__aenter__()
            assert resp.status_code == 200
            streams.append(cm)
        r = await flooder.http.get(sse)
        assert r.status_code == 429
        assert "open sessions" in r.json()["error"]["message"]
        r = await flooder.post(rpc("initialize", {"capabilities": {}}))
        assert r.status_code == 429 and r.headers["retry-after"]
        await a.initialize()
        async with a.http.stream("GET", sse) as resp:
            assert resp.status_code == 200
    finally:
        for cm in streams:
            await cm.__aexit__(None, None, None)
        await flooder.http.aclose()
        await a.http.aclose()
    await asyncio.sleep(0)
