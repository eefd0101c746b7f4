"""Gateway pieces around the transports: the auth slot, SSE keep-alive, legacy SSE over
raw HTTP, and a taken port."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from switchboard.core.auth import ANONYMOUS, AuthDenied, Principal
from switchboard.core.errors import ListenerError
from switchboard.core.group import GroupSpec
from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, ServerSpec
from switchboard.engine import Engine
from tests.conftest import fixture_cmd, make_test_engine
from tests.fixtures.gw_helpers import RawClient, add_started, rpc, sse_messages

pytestmark = pytest.mark.timeout(60)


class RecordingAuth:
    """Denies requests without the right bearer token; records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def authenticate(
        self, *, server: ServerSpec | GroupSpec, resource: str, authorization: str | None
    ) -> Principal:
        self.calls.append({"server": server.name, "resource": resource, "auth": authorization})
        if authorization != "Bearer good":
            raise AuthDenied(
                401,
                f'Bearer resource_metadata="{resource}/meta"',
                {"error": "invalid_token"},
            )
        return ANONYMOUS


async def test_auth_slot_is_asked_per_request(engine: Engine) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    url = await add_started(engine, "echo", cmd, args)
    auth = RecordingAuth()
    engine.authenticator = auth  # replaced at run time, as the auth service does
    async with httpx.AsyncClient(trust_env=False) as http:
        client = RawClient(http, url)
        r = await client.post(rpc("initialize", {"capabilities": {}}))
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == f'Bearer resource_metadata="{url}/meta"'
        assert r.json() == {"error": "invalid_token"}
        http.headers["authorization"] = "Bearer good"
        await client.initialize()
        res = await client.call("tools/call", {"name": "echo", "arguments": {"text": "t"}})
        assert res["result"]["content"][0]["text"] == "t"
    assert {c["resource"] for c in auth.calls} == {url}
    assert auth.calls[-1] == {"server": "echo", "resource": url, "auth": "Bearer good"}


async def test_get_stream_keepalive_and_legacy_sse(engine: Engine) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    url = await add_started(engine, "echo", cmd, args)
    engine.gateway.keepalive = 0.05
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        client = RawClient(http, url)
        await client.initialize()
        async with http.stream("GET", url, headers=client.headers()) as stream:
            assert stream.headers["content-type"] == "text/event-stream"
            buf = ""
            async for chunk in stream.aiter_text():
                buf += chunk
                if buf.count(": keepalive") >= 2:
                    break
        # Legacy transport, raw: endpoint event, POST -> 202, answer on the stream.
        sse_url = url.removesuffix("/mcp") + "/sse"
        async with http.stream("GET", sse_url) as stream:
            lines = stream.aiter_lines()
            assert await anext(lines) == "event: endpoint"
            endpoint = (await anext(lines)).removeprefix("data: ")
            assert endpoint.startswith("/servers/echo/messages?session_id=")
            post = f"{engine.base_url}{endpoint}"
            r = await http.post(post, json=rpc("initialize", {"capabilities": {}}, 5))
            assert r.status_code == 202
            buf = ""
            async for line in lines:
                buf += line + "\n"
                msgs = sse_messages(buf)
                if msgs:
                    assert msgs[0]["id"] == 5
                    assert msgs[0]["result"]["serverInfo"]["name"] == "echo"
                    break
        r = await http.post(
            f"{engine.base_url}/servers/echo/messages?session_id=nope", json=rpc("ping")
        )
        assert r.status_code == 404


async def test_taken_port_names_the_port(engine: Engine, tmp_path: Any) -> None:
    port = int(engine.base_url.rsplit(":", 1)[1])
    other = make_test_engine(AppPaths.default(tmp_path / "other"), port=port, restore_servers=False)
    with pytest.raises(ListenerError) as info:
        await other.start()
    assert str(port) in str(info.value)


async def test_cors_for_loopback_browser_clients(engine: Engine) -> None:
    """Servers that need a token answer browser clients on a loopback origin (the MCP
    Inspector), including the 401 whose WWW-Authenticate starts their sign-in."""
    cmd, args = fixture_cmd("echo_server.py")
    url = await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)
    origin = "http://localhost:6274"
    async with httpx.AsyncClient(trust_env=False) as http:
        r = await http.options(
            url,
            headers={"origin": origin, "access-control-request-method": "POST"},
        )
        assert r.status_code == 204
        assert r.headers["access-control-allow-origin"] == origin
        assert "mcp-session-id" in r.headers["access-control-allow-headers"]
        client = RawClient(http, url)
        r = await client.post(rpc("initialize", {"capabilities": {}}), origin=origin)
        assert r.status_code == 401
        assert r.headers["access-control-allow-origin"] == origin
        assert "www-authenticate" in r.headers["access-control-expose-headers"]


async def test_one_host_and_urls_built_from_it(engine: Engine) -> None:
    """Issue 10.2: two Hosts -> 400 at the real listener (Starlette/authlib would read
    the first, the gateway the last); the resource URLs the gateway emits
    (WWW-Authenticate, RFC 9728 metadata) come from the one validated Host."""
    cmd, args = fixture_cmd("echo_server.py")
    await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)
    port = int(engine.base_url.rsplit(":", 1)[1])
    for hosts in ((b"127.0.0.1", b"evil.example"), (b"evil.example", b"127.0.0.1")):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"GET /.well-known/oauth-protected-resource/servers/echo/mcp HTTP/1.1\r\n"
            b"Host: %s\r\nHost: %s\r\nConnection: close\r\n\r\n" % hosts
        )
        status = await reader.readline()
        writer.close()
        assert status.startswith(b"HTTP/1.1 400"), status
    async with httpx.AsyncClient(trust_env=False) as http:
        url = f"http://localhost:{port}/servers/echo/mcp"
        r = await http.post(url, json=rpc("ping"))
        assert r.status_code == 401
        meta = f"http://localhost:{port}/.well-known/oauth-protected-resource/servers/echo/mcp"
        assert f'resource_metadata="{meta}"' in r.headers["www-authenticate"]
        assert (await http.get(meta)).json()["resource"] == url
        r = await http.post(url, json=rpc("ping"), headers={"host": 'localhost:1", x="'})
        assert r.status_code == 421
