"""On-demand servers through the real gateway (issue 16.2): the official ``mcp`` SDK
client calls a sleeping server and gets its answer (one slower call, no error); the
server sleeps after its (short, in the test) idle time; a session opened before the
sleep keeps working after the wake, and its resource subscription is replayed to the
new process.

Real parts: the engine, its listener, ``mcp-server-time`` (PyPI) and, for the
subscription, ``tests/fixtures/gw_mux_server.py`` (it counts the subscribe calls its
process received, so the replay is seen where it happens)."""

from __future__ import annotations

import asyncio
import sys
import warnings
from pathlib import Path

import mcp_types as types
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.shared.exceptions import MCPDeprecationWarning

from switchboard.core.group import GroupSpec
from switchboard.core.spec import AuthMode, ServerSpec, StartMode
from switchboard.core.state import ServerState
from switchboard.engine import Engine
from tests.conftest import fixture_cmd

pytestmark = pytest.mark.timeout(120)

TIME_SERVER = str(Path(sys.executable).with_name("mcp-server-time"))
SLEEP_AFTER = 0.02
"""Minutes (1.2 s): the idle time of the servers in these tests."""


def text_of(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def add_on_demand(engine: Engine, name: str, command: str, args: tuple[str, ...]) -> str:
    spec = ServerSpec(
        name=name,
        command=command,
        args=args,
        auth=AuthMode.OFF,
        start=StartMode.ON_DEMAND,
        sleep_after=SLEEP_AFTER,
    )
    await engine.add_server(spec)
    return engine.server_url(name)


async def asleep(engine: Engine, name: str) -> None:
    """Wait (no fake time here: the engine's own idle timer does it) for the sleep."""
    await asyncio.wait_for(engine.supervisor.get(name).wait_for({ServerState.SLEEPING}), 30)


async def test_a_call_wakes_the_server_and_a_session_survives_its_sleep(engine: Engine) -> None:
    url = await add_on_demand(engine, "time", TIME_SERVER, ("--local-timezone", "UTC"))
    status = engine.status("time")
    assert status.state is ServerState.SLEEPING and status.pid is None  # no process yet
    assert "wakes on the next call" in status.detail
    async with Client(url) as client:
        result = await client.call_tool("get_current_time", {"timezone": "Europe/Paris"})
        assert "Europe/Paris" in text_of(result)
        first = engine.status("time")
        assert first.state is ServerState.RUNNING and first.pid is not None
        await asleep(engine, "time")  # unused for SLEEP_AFTER: stopped, asleep
        assert engine.status("time").pid is None
        assert engine.status("time").state is ServerState.SLEEPING  # not "stopped"
        # The same session, opened before the sleep: the call wakes it and succeeds.
        result = await client.call_tool(
            "convert_time",
            {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"},
        )
        assert "Asia/Tokyo" in text_of(result)
        second = engine.status("time")
        assert second.state is ServerState.RUNNING and second.pid not in (None, first.pid)
    # Stopped by the person: really stopped (a call is refused, nothing wakes it).
    await engine.stop_server("time")
    assert engine.status("time").state is ServerState.STOPPED
    assert engine.config.server("time").start is StartMode.ON_DEMAND  # the mode is kept


async def test_a_subscription_survives_the_sleep(engine: Engine) -> None:
    cmd, args = fixture_cmd("gw_mux_server.py")
    url = await add_on_demand(engine, "mux", cmd, args)
    updates: asyncio.Queue[str] = asyncio.Queue()

    async def on_message(message: types.ServerNotification | Exception) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            await updates.put(str(message.params.uri))

    async with Client(url, message_handler=on_message) as client:
        with warnings.catch_warnings():  # 2025-era resources/subscribe: what the server speaks
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            await client.session.subscribe_resource("file:///x")
        for _ in range(200):  # the SDK opens its standalone GET stream after initialize
            if any(s.outboxes for s in engine.gateway.sessions.values()):
                break
            await asyncio.sleep(0.025)
        # Open for the session's life: it does not keep the server up, and it stays
        # open through the sleep (the update below arrives on it).
        assert any(s.outboxes for s in engine.gateway.sessions.values())
        await asleep(engine, "mux")
        # The call wakes it; the mux initialized the new process and subscribed again.
        stats = await client.call_tool("stats", {})
        assert '"subscribe": 1' in text_of(stats)
        await client.call_tool("touch", {"uri": "file:///x"})
        assert await asyncio.wait_for(updates.get(), 10) == "file:///x"


async def test_a_legacy_sse_session_survives_the_sleep(engine: Engine) -> None:
    cmd, args = fixture_cmd("gw_mux_server.py")
    await add_on_demand(engine, "mux", cmd, args)
    url = f"{engine.base_url}/servers/mux/sse"
    async with Client(sse_client(url), mode="legacy") as client:
        assert text_of(await client.call_tool("echo", {"text": "one"})) == "one"
        await asleep(engine, "mux")
        assert text_of(await client.call_tool("echo", {"text": "two"})) == "two"
        assert engine.status("mux").state is ServerState.RUNNING


async def test_a_group_wakes_an_asleep_member_on_its_first_call(engine: Engine) -> None:
    """Groups (issue 14) with on-demand members: the group's lists of an asleep member
    come from its last known lists (listing wakes nothing); a call to one of its tools
    wakes it, through the group's member session."""
    await add_on_demand(engine, "time", TIME_SERVER, ("--local-timezone", "UTC"))
    cmd, args = fixture_cmd("echo_server.py")
    await add_on_demand(engine, "echo", cmd, args)
    await engine.add_group(GroupSpec(name="g", servers=("time", "echo"), auth=AuthMode.OFF))
    async with Client(engine.group_url("g")) as client:
        # Never listed: a group session wakes the members once to learn their tools.
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"time__get_current_time", "echo__echo"} <= names
        await asleep(engine, "time")
        await asleep(engine, "echo")
        # Listing again wakes nobody: the last known lists stand for asleep members.
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"time__get_current_time", "echo__echo"} <= names
        assert engine.status("time").state is ServerState.SLEEPING
        assert engine.status("echo").state is ServerState.SLEEPING
        result = await client.call_tool("echo__echo", {"text": "woken"})
        assert text_of(result) == "woken"
        assert engine.status("echo").state is ServerState.RUNNING
        assert engine.status("time").state is ServerState.SLEEPING  # lazily: only echo
