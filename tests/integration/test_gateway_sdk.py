"""The official ``mcp`` SDK client (Streamable HTTP and legacy SSE) through the gateway,
against real servers: ``mcp-server-time`` (PyPI) and ``@modelcontextprotocol/server-everything``
(npm), plus the kill-mid-call recovery story."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.client.sse import sse_client
from mcp.shared.exceptions import MCPError

from switchboard.core.spec import RestartPolicy
from switchboard.engine import Engine
from tests.conftest import fixture_cmd, requires_npx
from tests.fixtures.gw_helpers import add_started

pytestmark = pytest.mark.timeout(120)

TIME_SERVER = str(Path(sys.executable).with_name("mcp-server-time"))


def text_of(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def test_time_server_over_streamable_http(engine: Engine) -> None:
    url = await add_started(engine, "time", TIME_SERVER, ("--local-timezone", "UTC"))
    # mode="auto" (the default) probes server/discover first and must fall back.
    async with Client(url) as client:
        tools = await client.list_tools()
        assert "get_current_time" in {t.name for t in tools.tools}
        result = await client.call_tool("get_current_time", {"timezone": "Europe/Paris"})
        assert "Europe/Paris" in text_of(result)
        assert client.session.initialize_result is not None  # the legacy handshake ran


async def test_time_server_over_legacy_sse(engine: Engine) -> None:
    await add_started(engine, "time", TIME_SERVER, ("--local-timezone", "UTC"))
    url = f"{engine.base_url}/servers/time/sse"
    async with Client(sse_client(url), mode="legacy") as client:
        result = await client.call_tool(
            "convert_time",
            {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"},
        )
        assert "Asia/Tokyo" in text_of(result)
    # The session ends with the stream: nothing left behind.
    for _ in range(200):
        if not [s for s in engine.gateway.sessions.values() if s.legacy]:
            break
        await asyncio.sleep(0.025)
    assert not [s for s in engine.gateway.sessions.values() if s.legacy]


async def test_sdk_sessions_survive_a_killed_server(engine: Engine) -> None:
    cmd, args = fixture_cmd("gw_mux_server.py")
    url = await add_started(
        engine, "mux", cmd, args, restart=RestartPolicy(initial_delay=0.05, jitter=0)
    )
    async with Client(url) as client:
        call = asyncio.ensure_future(client.call_tool("sleep", {"seconds": 60}))
        await asyncio.sleep(0.3)
        pid = engine.status("mux").pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(MCPError) as info:
            await asyncio.wait_for(call, 10)  # promptly, not after 60 s
        assert "'mux'" in str(info.value)
        # Restarted by the supervisor; the same client session keeps working.
        result = await client.call_tool("echo", {"text": "alive"})
        assert text_of(result) == "alive"
        assert engine.status("mux").pid != pid


@requires_npx
@pytest.mark.npm
@pytest.mark.slow
@pytest.mark.timeout(300)  # the first npx run downloads the package
async def test_everything_server_20_sessions_with_sampling(engine: Engine) -> None:
    url = await add_started(
        engine, "everything", "npx", ("-y", "@modelcontextprotocol/server-everything", "stdio")
    )

    async def sampling(
        context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        content = params.messages[0].content
        assert isinstance(content, types.TextContent)
        return types.CreateMessageResult(
            role="assistant",
            model="test-model",
            content=types.TextContent(type="text", text=f"sampled<{content.text}>"),
        )

    misrouted: list[str] = []

    async def plain_session(i: int) -> None:
        async with Client(url) as client:
            for j in range(10):
                want = f"session {i} call {j}"
                got = text_of(await client.call_tool("echo", {"message": want}))
                if want not in got:
                    misrouted.append(f"{want!r} -> {got!r}")

    async def sampling_session() -> list[str]:
        out = []
        async with Client(url, sampling_callback=sampling) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert "trigger-sampling-request" in names
            for j in range(5):
                res = await client.call_tool(
                    "trigger-sampling-request", {"prompt": f"p{j}", "maxTokens": 5}
                )
                out.append(text_of(res))
        return out

    results = await asyncio.gather(
        *(plain_session(i) for i in range(19)), sampling_session(), return_exceptions=False
    )
    assert misrouted == []
    sampled: Any = results[-1]
    # The server does not say which call a sampling request belongs to: the first one,
    # made while other clients' calls ran, may be refused (never guessed); from then on
    # the gateway runs the server's calls one at a time and every one is exact.
    first, *rest = sampled
    assert ("p0" in first and "sampled<" in first) or "refused rather than guessed" in first
    for j, text in enumerate(rest, 1):
        assert f"p{j}" in text and "sampled<" in text
    # All 20 sessions share one process.
    assert engine.status("everything").restarts == 0
