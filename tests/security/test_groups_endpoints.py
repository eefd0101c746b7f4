"""``/groups/<name>/...`` gets the same guards as ``/servers/<name>/...`` (issue 14, QA):
Origin/Host (DNS rebinding, web pages), body limit, sessions bound to the token's client,
per-client session caps, tokens that open only their own resource, and path tricks.
A real engine with real tokens from its own authorization server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from switchboard.core.group import GroupSpec
from switchboard.core.spec import AuthMode
from switchboard.engine import Engine
from tests.conftest import fixture_cmd
from tests.fixtures.gw_helpers import RawClient, add_started, rpc
from tests.unit.auth.tokens import code_flow

pytestmark = pytest.mark.timeout(120)

ECHO = {"name": "echo__echo", "arguments": {"text": "hi"}}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
        yield client


async def _setup(engine: Engine, auth: AuthMode = AuthMode.SWITCHBOARD) -> tuple[str, str]:
    cmd, args = fixture_cmd("echo_server.py")
    server_url = await add_started(engine, "echo", cmd, args, auth=auth)
    await engine.add_group(GroupSpec(name="g", servers=("echo", "other"), auth=auth))
    return engine.group_url("g"), server_url


async def _client(engine: Engine, http: httpx.AsyncClient, url: str) -> RawClient:
    _, tok = await code_flow(engine, http, url)
    own = httpx.AsyncClient(
        trust_env=False, timeout=30, headers={"authorization": f"Bearer {tok['access_token']}"}
    )
    return RawClient(own, url)


def _text(reply: dict[str, Any]) -> str:
    return str(reply["result"]["content"][0]["text"])


async def test_group_session_with_another_clients_token_is_404(
    engine: Engine, http: httpx.AsyncClient
) -> None:
    url, _ = await _setup(engine)
    a = await _client(engine, http, url)
    b = await _client(engine, http, url)
    try:
        await a.initialize()
        await b.initialize()
        thief = RawClient(b.http, url)
        thief.session_id = a.session_id
        r = await thief.post(rpc("tools/call", ECHO, 7))
        assert r.status_code == 404
        r = await thief.http.get(url, headers=thief.headers(accept="text/event-stream"))
        assert r.status_code == 404
        r = await thief.http.delete(url, headers=thief.headers())
        assert r.status_code == 404
        assert _text(await a.call("tools/call", ECHO, 8)) == "hi"
        assert _text(await b.call("tools/call", ECHO, 9)) == "hi"
    finally:
        await a.http.aclose()
        await b.http.aclose()


async def test_group_and_member_tokens_do_not_cross(
    engine: Engine, http: httpx.AsyncClient
) -> None:
    url, server_url = await _setup(engine)
    group = await _client(engine, http, url)
    server = await _client(engine, http, server_url)
    try:
        for client, other in ((group, server_url), (server, url)):
            r = await client.http.post(other, json=rpc("initialize", {"capabilities": {}}))
            assert r.status_code in (401, 403), r.text
            assert "resource_metadata=" in r.headers["www-authenticate"]
        # The same token on the group's legacy endpoint works; not on the member's.
        async with group.http.stream("GET", url.removesuffix("/mcp") + "/sse") as stream:
            assert stream.status_code == 200
        r = await group.http.get(server_url.removesuffix("/mcp") + "/sse")
        assert r.status_code in (401, 403)
        # Path tricks do not turn a group token into a server's, nor open another group.
        base = engine.base_url
        for path in (
            "/groups/g/../../servers/echo/mcp",
            "/groups/g/mcp/../../../servers/echo/mcp",
            "/x/groups/g/mcp",
            "/groups/g%2F..%2F..%2Fservers%2Fecho/mcp",
            "/groups/servers/echo/mcp",
        ):
            r = await group.http.post(base + path, json=rpc("initialize", {"capabilities": {}}))
            assert r.status_code in (401, 403, 404), (path, r.status_code)
            assert "Traceback" not in r.text
    finally:
        await group.http.aclose()
        await server.http.aclose()


async def test_group_401_challenge_and_rfc9728_metadata_name_the_group(
    engine: Engine, http: httpx.AsyncClient
) -> None:
    url, _ = await _setup(engine)
    r = await http.post(url, json=rpc("initialize", {"capabilities": {}}))
    assert r.status_code == 401
    challenge = r.headers["www-authenticate"]
    metadata_url = challenge.split('resource_metadata="', 1)[1].split('"', 1)[0]
    assert metadata_url.endswith("/.well-known/oauth-protected-resource/groups/g/mcp")
    meta = (await http.get(metadata_url)).json()
    assert meta["resource"] == url
    assert meta["authorization_servers"] == [engine.base_url]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"origin": "http://evil.example"}, 403),
        ({"host": "evil.example"}, 421),
        ({"host": "evil.example:80", "origin": "http://evil.example"}, 421),
    ],
)
async def test_group_endpoint_refuses_foreign_origins_and_hosts(
    engine: Engine, http: httpx.AsyncClient, headers: dict[str, str], status: int
) -> None:
    url, _ = await _setup(engine, AuthMode.OFF)
    r = await http.post(url, json=rpc("initialize", {"capabilities": {}}), headers=headers)
    assert r.status_code == status, r.text
    r = await http.options(
        url, headers={"origin": "http://localhost:6274", "access-control-request-method": "POST"}
    )
    assert r.status_code == 403  # sign-in off: no web page may use it
    assert "access-control-allow-origin" not in r.headers


async def test_group_body_over_the_limit_is_413(engine: Engine, http: httpx.AsyncClient) -> None:
    url, _ = await _setup(engine, AuthMode.OFF)
    engine.gateway.max_body = 10_000
    big = rpc("tools/call", {"name": "echo__echo", "arguments": {"text": "x" * 20_000}})
    client = RawClient(http, url)
    await client.initialize()
    r = await client.post(big)
    assert r.status_code == 413
    assert _text(await client.call("tools/call", ECHO)) == "hi"


async def test_a_session_flood_on_a_group_does_not_evict_other_clients(
    engine: Engine, http: httpx.AsyncClient
) -> None:
    url, _ = await _setup(engine)
    table: Any = engine.gateway.sessions
    table.max_sessions, table.max_per_client = 12, 4
    a = await _client(engine, http, url)
    flooder = await _client(engine, http, url)
    try:
        await a.initialize()
        for _ in range(30):
            junk = RawClient(flooder.http, url)
            await junk.initialize()
        assert _text(await junk.call("tools/call", ECHO)) == "hi"
        assert _text(await a.call("tools/call", ECHO)) == "hi"
    finally:
        await a.http.aclose()
        await flooder.http.aclose()


@pytest.mark.parametrize("auth", [AuthMode.OFF, AuthMode.SWITCHBOARD])
async def test_a_group_named_servers_is_served_as_the_group(
    engine: Engine, http: httpx.AsyncClient, auth: AuthMode
) -> None:
    """``/groups/servers/mcp`` holds ``/servers/``: it was routed to a server 'mcp'."""
    cmd, args = fixture_cmd("echo_server.py")
    await add_started(engine, "echo", cmd, args, auth=auth)
    await add_started(engine, "mcp", cmd, args, auth=AuthMode.OFF)
    await engine.add_group(GroupSpec(name="servers", servers=("echo", "other"), auth=auth))
    url = engine.group_url("servers")
    if auth is AuthMode.OFF:
        client = RawClient(http, url)
        r = await http.options(
            url, headers={"origin": "http://localhost:1", "access-control-request-method": "POST"}
        )
        assert r.status_code == 403  # the group's sign-in (off), not server 'mcp''s
    else:
        r = await http.post(url, json=rpc("initialize", {"capabilities": {}}))
        assert r.status_code == 401
        client = await _client(engine, http, url)
    try:
        await client.initialize()
        assert _text(await client.call("tools/call", ECHO)) == "hi"
    finally:
        if client.http is not http:
            await client.http.aclose()


async def test_group_legacy_session_with_another_clients_token_is_404(
    engine: Engine, http: httpx.AsyncClient
) -> None:
    url, _ = await _setup(engine)
    a = await _client(engine, http, url)
    b = await _client(engine, http, url)
    try:
        async with a.http.stream("GET", url.removesuffix("/mcp") + "/sse") as stream:
            lines = stream.aiter_lines()
            assert await anext(lines) == "event: endpoint"
            endpoint = (await anext(lines)).removeprefix("data: ")
            assert endpoint.startswith("/groups/g/messages")
            post = f"{engine.base_url}{endpoint}"
            r = await b.http.post(post, json=rpc("initialize", {"capabilities": {}}, 5))
            assert r.status_code == 404
            r = await a.http.post(post, json=rpc("initialize", {"capabilities": {}}, 5))
            assert r.status_code == 202
    finally:
        await a.http.aclose()
        await b.http.aclose()
