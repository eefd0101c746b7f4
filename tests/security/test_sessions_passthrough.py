"""Issue 10.7 for pass-through servers (they hold their sessions themselves): the
upstream's session id is bound to the client it was issued to through the gateway."""

from __future__ import annotations

import httpx
import pytest

from switchboard.core.spec import AuthMode, ServerSpec, Transport
from switchboard.engine import Engine
from tests.conftest import fixture_cmd
from tests.fixtures.gw_helpers import INIT_PARAMS, RawClient, rpc
from tests.integration.test_gateway_passthrough import free_port, wait_port
from tests.security.test_sessions import _as, _client

pytestmark = pytest.mark.timeout(90)


async def _add(engine: Engine, name: str, transport: Transport) -> str:
    port = free_port()
    cmd, args = fixture_cmd("gw_http_server.py", transport.value, str(port))
    path = "/mcp" if transport is Transport.STREAMABLE_HTTP else "/sse"
    await engine.add_server(
        ServerSpec(
            name=name,
            command=cmd,
            args=args,
            transport=transport,
            url=f"http://127.0.0.1:{port}{path}",
            auth=AuthMode.SWITCHBOARD,
        )
    )
    await engine.start_server(name)
    await wait_port(port)
    return engine.server_url(name)


async def test_upstream_session_bound_to_its_client(engine: Engine) -> None:
    url = await _add(engine, "web", Transport.STREAMABLE_HTTP)
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        a = await _client(engine, http, url)
        b = await _client(engine, http, url)
    try:
        r = await a.post(rpc("initialize", INIT_PARAMS))
        assert r.status_code == 200, r.text
        a.session_id = r.headers["mcp-session-id"]
        r = await a.post(rpc("notifications/initialized", msg_id=None))
        assert r.status_code == 202
        thief = _as(b, a)
        call = rpc("tools/call", {"name": "echo", "arguments": {"text": "x"}}, 3)
        r = await thief.post(call)
        assert r.status_code == 404
        r = await thief.http.get(url, headers=thief.headers(accept="text/event-stream"))
        assert r.status_code == 404
        r = await thief.http.delete(url, headers=thief.headers())
        assert r.status_code == 404
        made_up = RawClient(b.http, url)
        made_up.session_id = "never-issued"
        assert (await made_up.post(call)).status_code == 404
        r = await a.post(call)
        assert r.status_code == 200 and "x" in r.text
        assert (await a.http.delete(url, headers=a.headers())).status_code < 300
    finally:
        await a.http.aclose()
        await b.http.aclose()


async def test_upstream_legacy_session_bound_to_its_client(engine: Engine) -> None:
    url = await _add(engine, "old", Transport.SSE)
    sse = url.removesuffix("/mcp") + "/sse"
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        a = await _client(engine, http, sse)
        b = await _client(engine, http, sse)
    try:
        async with a.http.stream("GET", sse) as stream:
            lines = stream.aiter_lines()
            assert await anext(lines) == "event: endpoint"
            post = engine.base_url + (await anext(lines)).removeprefix("data: ")
            init = rpc("initialize", {"protocolVersion": "2024-11-05", "capabilities": {}})
            init["params"]["clientInfo"] = {"name": "t", "version": "1"}
            assert (await b.http.post(post, json=init)).status_code == 404
            assert (await a.http.post(post, json=init)).status_code == 202
    finally:
        await a.http.aclose()
        await b.http.aclose()
