"""``switchboard connect NAME``: the official SDK's stdio client drives the bridge process,
which relays to the gateway and on to a stdio server."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters

from switchboard.core.spec import AuthMode, RestartPolicy
from switchboard.engine import Engine
from tests.conftest import fixture_cmd
from tests.fixtures.gw_helpers import add_started

pytestmark = pytest.mark.timeout(60)

SWITCHBOARD = str(Path(sys.executable).with_name("switchboard"))


def bridge(home: Path, name: str, *extra: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=SWITCHBOARD, args=["--home", str(home), "connect", name, *extra]
    )


def text_of(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def test_sdk_over_the_bridge(engine: Engine, tmp_path: Path) -> None:
    cmd, args = fixture_cmd("gw_mux_server.py")
    await add_started(engine, "mux", cmd, args, restart=RestartPolicy(initial_delay=0.05, jitter=0))
    async with Client(bridge(tmp_path / "home", "mux"), mode="legacy") as client:
        results = await asyncio.gather(
            *(client.call_tool("echo", {"text": f"m{i}"}) for i in range(20))
        )
        assert [text_of(r) for r in results] == [f"m{i}" for i in range(20)]
        # The gateway forgets the session: the bridge re-initializes and retries, quietly.
        for session in list(engine.gateway.sessions.values()):
            engine.gateway._end_session(session)
        assert text_of(await client.call_tool("echo", {"text": "healed"})) == "healed"
        # A restart of the server is invisible too.
        await engine.restart_server("mux")
        assert text_of(await client.call_tool("echo", {"text": "restarted"})) == "restarted"


async def test_bridge_without_a_gateway_answers_errors(tmp_path: Path) -> None:
    # Nothing listens there: every request gets a JSON-RPC error, nothing hangs.
    params = bridge(tmp_path / "home", "mux", "--url", "http://127.0.0.1:9/servers/mux/mcp")
    with pytest.raises(Exception) as info:
        async with Client(params, mode="legacy"):
            pass
    assert "not reachable" in repr(info.value) or "not reachable" in str(info.value)


async def test_bridge_gets_a_token_when_the_gateway_asks(engine: Engine, tmp_path: Path) -> None:
    cmd, args = fixture_cmd("gw_mux_server.py")
    await add_started(engine, "mux", cmd, args, auth=AuthMode.SWITCHBOARD)
    engine.authenticator = engine.auth  # tokens required from now on
    async with httpx.AsyncClient(trust_env=False) as http:
        r = await http.post(
            engine.server_url("mux"),
            json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
            headers={"accept": "application/json, text/event-stream"},
        )
        assert r.status_code == 401
    async with Client(bridge(tmp_path / "home", "mux"), mode="legacy") as client:
        assert text_of(await client.call_tool("echo", {"text": "with token"})) == "with token"


async def test_streamed_progress_over_the_bridge(engine: Engine, tmp_path: Path) -> None:
    # The gateway answers this call as an SSE stream (with a 2025-11-25 priming event,
    # which must not reach the stdio client as an empty line).
    cmd, args = fixture_cmd("gw_mux_server.py")
    await add_started(engine, "mux", cmd, args)
    ticks: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        ticks.append(progress)

    async with Client(bridge(tmp_path / "home", "mux"), mode="legacy") as client:
        result = await client.call_tool(
            "ticks", {"count": 3, "interval": 0.01}, progress_callback=on_progress
        )
        assert text_of(result) == "ticked 3"
    assert ticks == [1.0, 2.0, 3.0]
