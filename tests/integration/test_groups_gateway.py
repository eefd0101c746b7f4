"""Groups through the real gateway (issue 14.2-4): the official ``mcp`` SDK client on
``/groups/<name>/mcp`` (and ``/sse``) against real stdio servers: ``mcp-server-time``
(PyPI) and two copies of the mcp-SDK server tests/fixtures/gw_sampling_server.py (their
``echo`` tools collide)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import httpx
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.client.sse import sse_client
from mcp.shared.exceptions import MCPError

from switchboard.core.group import GroupSpec, MemberChoices, Naming, ToolChoice
from switchboard.core.spec import AuthMode, RestartPolicy
from switchboard.engine import Engine
from tests.conftest import fixture_cmd
from tests.fixtures.gw_helpers import RawClient, add_started, rpc

pytestmark = pytest.mark.timeout(120)

TIME_SERVER = str(Path(sys.executable).with_name("mcp-server-time"))


def text_of(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def _members(engine: Engine) -> None:
    cmd, args = fixture_cmd("gw_sampling_server.py")
    fast = RestartPolicy(initial_delay=0.05, jitter=0)
    await add_started(engine, "asker", cmd, args, restart=fast)
    await add_started(engine, "other", cmd, args, restart=fast)
    await add_started(engine, "time", TIME_SERVER, ("--local-timezone", "UTC"))


async def _group(engine: Engine, **kw: Any) -> str:
    kw.setdefault("servers", ("asker", "other", "time"))
    kw.setdefault("auth", AuthMode.OFF)
    await engine.add_group(GroupSpec(name="g", **kw))
    return engine.group_url("g")


async def _tool_names(client: Client) -> set[str]:
    return {t.name for t in (await client.list_tools()).tools}


async def test_merged_lists_prefixed_filtered_and_routed(engine: Engine) -> None:
    await _members(engine)
    url = await _group(
        engine,
        choices={
            "asker": MemberChoices(
                tools={
                    "my_roots": ToolChoice(enabled=False),
                    "echo": ToolChoice(description="Says it back"),
                }
            ),
            "time": MemberChoices(tools={"convert_time": ToolChoice(rename="tz_convert")}),
        },
    )
    async with Client(url) as client:
        assert client.server_capabilities is not None
        assert client.server_capabilities.tools is not None
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert {"asker__echo", "other__echo", "time__get_current_time", "tz_convert"} <= set(tools)
        assert "asker__my_roots" not in tools  # filtered
        assert "other__my_roots" in tools
        assert tools["asker__echo"].description == "Says it back"
        # A call to each member reaches it under its own name.
        assert text_of(await client.call_tool("asker__echo", {"text": "a"})) == "a"
        assert text_of(await client.call_tool("other__echo", {"text": "b"})) == "b"
        now = text_of(await client.call_tool("time__get_current_time", {"timezone": "Asia/Tokyo"}))
        assert "Asia/Tokyo" in now
        converted = await client.call_tool(
            "tz_convert", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "UTC"}
        )
        assert "UTC" in text_of(converted)
        # A filtered tool is refused without reaching the server.
        with pytest.raises(MCPError) as info:
            await client.call_tool("asker__my_roots", {})
        assert "switched off" in str(info.value)
        with pytest.raises(MCPError, match="Unknown tool"):
            await client.call_tool("nope", {})


async def test_priority_naming_keeps_own_names_and_reports_collisions(engine: Engine) -> None:
    await _members(engine)
    url = await _group(engine, naming=Naming.PRIORITY)
    async with Client(url) as client:
        names = await _tool_names(client)
        assert {"echo", "ask_llm", "get_current_time"} <= names
        assert not any("__" in n for n in names)
    listing = await engine.gateway.group_listing("g")
    other = next(m for m in listing["members"] if m["server"] == "other")
    echo = next(t for t in other["tools"] if t["name"] == "echo")
    assert echo == {
        "name": "echo",
        "exposed": None,
        "enabled": True,
        "description": echo["description"],
        "hidden_by": "collision",
    }
    server = await engine.gateway.server_listing("time")
    assert server["state"] == "running" and server["error"] is None
    assert {t["name"] for t in server["tools"]} == {"get_current_time", "convert_time"}


async def test_sampling_from_a_member_reaches_exactly_the_calling_session(
    engine: Engine,
) -> None:
    await _members(engine)
    url = await _group(engine)

    async def sampling(
        context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        content = params.messages[0].content
        assert isinstance(content, types.TextContent)
        return types.CreateMessageResult(
            role="assistant",
            model="test",
            content=types.TextContent(type="text", text=f"<{content.text}>"),
        )

    async with Client(url, sampling_callback=sampling) as asker, Client(url) as bystander:
        # Two members ask this session at once (their request ids would collide on the
        # group session: both servers number from 1), while another session calls.
        results = await asyncio.gather(
            asker.call_tool("asker__ask_llm", {"prompt": "one"}),
            asker.call_tool("other__ask_llm", {"prompt": "two"}),
            bystander.call_tool("time__get_current_time", {"timezone": "UTC"}),
        )
        assert text_of(results[0]) == "sampled: <one>"
        assert text_of(results[1]) == "sampled: <two>"
        # A session that declared no sampling is refused exactly, never someone else's.
        refused = text_of(await bystander.call_tool("asker__ask_llm", {"prompt": "x"}))
        assert refused.startswith("refused")


async def test_list_changed_on_group_edit_and_member_restart(engine: Engine) -> None:
    await _members(engine)
    url = await _group(engine)
    seen: list[str] = []

    async def on_message(message: Any) -> None:
        method = getattr(message, "method", None) or getattr(
            getattr(message, "root", None), "method", None
        )
        if isinstance(method, str):
            seen.append(method)

    async with Client(url, message_handler=on_message) as client:
        assert "time__get_current_time" in await _tool_names(client)
        spec = engine.group("g")
        await engine.update_group(
            spec.with_choices(
                "time", MemberChoices(tools={"get_current_time": ToolChoice(enabled=False)})
            )
        )
        await _wait_for(lambda: "notifications/tools/list_changed" in seen)
        assert "time__get_current_time" not in await _tool_names(client)
        seen.clear()
        await engine.stop_server("other")
        await _wait_for(lambda: "notifications/tools/list_changed" in seen)
        assert "other__echo" not in await _tool_names(client)
        # A call to a stopped member's tool says which server is down, at once.
        with pytest.raises(MCPError) as info:
            await asyncio.wait_for(client.call_tool("other__echo", {"text": "x"}), 5)
        assert "'other'" in str(info.value) and "stopped" in str(info.value)
        seen.clear()
        await engine.start_server("other")
        await _wait_for(lambda: "notifications/tools/list_changed" in seen)
        assert "other__echo" in await _tool_names(client)
        assert text_of(await client.call_tool("other__echo", {"text": "back"})) == "back"


async def test_a_member_killed_mid_call_fails_the_call_promptly(engine: Engine) -> None:
    await _members(engine)
    url = await _group(engine)
    async with Client(url) as client:
        call = asyncio.ensure_future(client.call_tool("asker__wait", {"seconds": 60}))
        await asyncio.sleep(0.5)
        pid = engine.status("asker").pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(MCPError) as info:
            await asyncio.wait_for(call, 10)
        assert "'asker'" in str(info.value)
        # The others keep working; the member comes back after its restart.
        assert text_of(await client.call_tool("other__echo", {"text": "ok"})) == "ok"
        await _wait_for(lambda: engine.status("asker").state.value == "running")
        result = await client.call_tool("asker__echo", {"text": "again"})
        assert text_of(result) == "again"


async def test_cancelling_a_forwarded_call_ends_it_without_a_response(
    engine: Engine, http: httpx.AsyncClient
) -> None:
    await _members(engine)
    url = await _group(engine)
    client = RawClient(http, url)
    await client.initialize()
    await client.call("tools/list")
    # The first call opens this session's member session; the second goes straight on
    # the member's mux (groups/direct.py).
    first = await client.call("tools/call", {"name": "asker__echo", "arguments": {"text": "1"}})
    assert first["result"]["content"][0]["text"] == "1"
    slow = asyncio.ensure_future(
        client.post(rpc("tools/call", {"name": "asker__wait", "arguments": {"seconds": 30}}, 7))
    )
    await asyncio.sleep(0.5)
    cancel = rpc("notifications/cancelled", {"requestId": 7, "reason": "test"}, msg_id=None)
    assert (await client.post(cancel)).status_code == 202
    response = await asyncio.wait_for(slow, 10)
    assert response.status_code == 202  # no response for a cancelled request
    again = await client.call("tools/call", {"name": "asker__echo", "arguments": {"text": "2"}})
    assert again["result"]["content"][0]["text"] == "2"
    assert not engine.gateway.groups.muxes["groups/g"].sessions[client.session_id or ""].inflight


async def test_legacy_sse_group_endpoint(engine: Engine) -> None:
    await _members(engine)
    await _group(engine)
    async with Client(sse_client(f"{engine.base_url}/groups/g/sse"), mode="legacy") as client:
        assert "time__convert_time" in await _tool_names(client)
        assert text_of(await client.call_tool("asker__echo", {"text": "sse"})) == "sse"


async def test_lean_mode_search_then_call(engine: Engine) -> None:
    await _members(engine)
    url = await _group(engine, lean=True)
    async with Client(url) as client:
        assert await _tool_names(client) == {"search_tools", "call_tool"}
        found = await client.call_tool("search_tools", {"query": "current time timezone"})
        assert "time__get_current_time" in text_of(found)
        assert "inputSchema" in text_of(found)
        result = await client.call_tool(
            "call_tool", {"name": "asker__echo", "arguments": {"text": "lean"}}
        )
        assert text_of(result) == "lean"


async def test_unknown_group_is_404_and_single_member_without_prefix(engine: Engine) -> None:
    await _members(engine)
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(
            f"{engine.base_url}/groups/nope/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"accept": "application/json, text/event-stream"},
        )
    assert response.status_code == 404
    assert "No group named 'nope'" in response.json()["message"]
    url = await _group(engine, servers=("time",), naming=Naming.PRIORITY)
    async with Client(url) as client:
        assert await _tool_names(client) == {"get_current_time", "convert_time"}


async def test_web_pages_and_removed_groups(engine: Engine, http: httpx.AsyncClient) -> None:
    """CORS as for servers (a group with sign-in off refuses web pages' preflights, one
    with sign-in answers them); a removed group's sessions end (404)."""
    await _members(engine)
    url = await _group(engine)
    await engine.add_group(GroupSpec(name="signed", servers=("time",)))
    preflight = {"origin": "http://localhost:6274", "access-control-request-method": "POST"}
    r = await http.options(url, headers=preflight)
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    r = await http.options(engine.group_url("signed"), headers=preflight)
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "http://localhost:6274"

    client = RawClient(http, url)
    await client.initialize()
    assert (await client.call("ping"))["result"] == {}
    await engine.remove_group("g")
    r = await client.post(rpc("ping"))
    assert r.status_code == 404
    assert not engine.gateway.groups.muxes.get("groups/g")


async def _wait_for(condition: Any, timeout: float = 15.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")
