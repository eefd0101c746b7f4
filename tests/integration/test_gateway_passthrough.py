"""Pass-through to local servers that speak HTTP themselves (Streamable HTTP and legacy
SSE), with the official SDK client on the gateway side and the SDK server upstream."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import mcp_types as types
import pytest
from mcp import Client
from mcp.client.sse import sse_client

from switchboard.core.spec import AuthMode, ServerSpec, Transport
from switchboard.engine import Engine
from tests.conftest import fixture_cmd

pytestmark = pytest.mark.timeout(60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_port(port: int) -> None:
    for _ in range(400):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.025)
    raise AssertionError(f"nothing listens on {port}")


async def add_http(engine: Engine, name: str, transport: Transport) -> None:
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
            auth=AuthMode.OFF,
        )
    )
    await engine.start_server(name)
    await wait_port(port)


def text_of(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def test_streamable_http_pass_through_streams(engine: Engine, tmp_path: Path) -> None:
    await add_http(engine, "web", Transport.STREAMABLE_HTTP)
    gate = tmp_path / "gate"
    seen = asyncio.Event()

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        seen.set()

    async with Client(engine.server_url("web")) as client:
        assert text_of(await client.call_tool("echo", {"text": "through"})) == "through"
        call = asyncio.ensure_future(
            client.call_tool("gate", {"path": str(gate)}, progress_callback=progress)
        )
        # The progress event arrives while the tool still runs: the SSE stream is not
        # buffered by the gateway (if it were, this would wait forever).
        await asyncio.wait_for(seen.wait(), 20)
        assert not call.done()
        gate.touch()
        assert text_of(await asyncio.wait_for(call, 20)) == "opened"


async def test_sse_pass_through_rewrites_the_endpoint(engine: Engine) -> None:
    await add_http(engine, "legacy", Transport.SSE)
    url = f"{engine.base_url}/servers/legacy/sse"
    async with Client(sse_client(url), mode="legacy") as client:
        assert text_of(await client.call_tool("echo", {"text": "old"})) == "old"


async def test_unreachable_upstream_is_502_naming_the_server(engine: Engine) -> None:
    import httpx

    port = free_port()
    await engine.add_server(
        ServerSpec(
            name="gone",
            transport=Transport.STREAMABLE_HTTP,
            url=f"http://127.0.0.1:{port}/mcp",
            auth=AuthMode.OFF,
        )
    )
    await engine.start_server("gone")
    async with httpx.AsyncClient(trust_env=False) as http:
        r = await http.post(
            engine.server_url("gone"),
            json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
            headers={"accept": "application/json, text/event-stream"},
        )
    assert r.status_code == 502
    assert r.json()["error"]["data"]["server"] == "gone"
