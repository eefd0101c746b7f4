"""Issue 10.8: a server with sign-in off is for programs on this computer, not for web
pages: nothing it answers to a request with an Origin (only a browser sends one; the
guard already refused non-loopback ones) carries CORS headers, and its preflight gets
403, so a browser sends no MCP request (JSON POSTs and the session headers need a
preflight) and reads no answer. Programs keep working (with or without an Origin: the
MCP conformance suite sends a loopback one)."""

from __future__ import annotations

import httpx
import pytest

from switchboard.engine import Engine
from tests.conftest import fixture_cmd
from tests.fixtures.gw_helpers import RawClient, add_started, rpc

pytestmark = pytest.mark.timeout(60)

ORIGIN = "http://localhost:6274"


async def test_auth_off_server_refuses_web_pages(engine: Engine) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    url = await add_started(engine, "open", cmd, args)  # sign-in off
    sse = url.removesuffix("/mcp") + "/sse"
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        r = await http.options(
            url, headers={"origin": ORIGIN, "access-control-request-method": "POST"}
        )
        assert r.status_code == 403
        assert "access-control-allow-origin" not in r.headers
        assert "sign-in off" in r.json()["message"]
        client = RawClient(http, url)
        r = await client.post(rpc("initialize", {"capabilities": {}}), origin=ORIGIN)
        assert r.status_code == 200
        assert not [h for h in r.headers if h.startswith("access-control-")]
        for origin in (ORIGIN, "http://127.0.0.1:3000", "http://[::1]"):
            r = await http.options(
                sse, headers={"origin": origin, "access-control-request-method": "GET"}
            )
            assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
            async with http.stream("GET", sse, headers={"origin": origin}) as stream:
                assert stream.status_code == 200
                assert "access-control-allow-origin" not in stream.headers
        # A program (no Origin) still uses it.
        await client.initialize()
        res = await client.call("tools/call", {"name": "echo", "arguments": {"text": "x"}})
        assert res["result"]["content"][0]["text"] == "x"
