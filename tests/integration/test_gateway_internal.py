"""In-process MCP clients on a server's shared mux (gateway/internal.py): what groups and
the inspector stand on. A real engine and a real stdio server written with the mcp SDK
(tests/fixtures/gw_sampling_server.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from switchboard.core.errors import ServerNotFound
from switchboard.engine import Engine
from switchboard.gateway.internal import InternalClient, RpcError
from switchboard.gateway.mux import Unavailable
from tests.conftest import fixture_cmd
from tests.fixtures.gw_helpers import add_started

INFO = {"name": "test-internal", "version": "1"}


async def _open(engine: Engine, **kw: Any) -> InternalClient:
    assert engine.gateway is not None
    return await engine.gateway.open_internal("asker", client_info=INFO, **kw)


async def _asker(engine: Engine) -> None:
    cmd, args = fixture_cmd("gw_sampling_server.py")
    await add_started(engine, "asker", cmd, args)


async def test_lists_and_calls_tools_and_reports_tool_errors(engine: Engine) -> None:
    await _asker(engine)
    client = await _open(engine)
    assert client.initialize_result["serverInfo"]["name"] == "gw-sampling-fixture"
    tools = await client.request("tools/list")
    assert {t["name"] for t in tools["tools"]} >= {"ask_llm", "echo", "wait"}
    result = await client.request("tools/call", {"name": "echo", "arguments": {"text": "hi"}})
    assert result["content"][0]["text"] == "hi"
    with pytest.raises(RpcError) as info:
        await client.request("no/such/method")
    assert info.value.code == -32601
    client.close()
    assert client.closed
    with pytest.raises(Unavailable, match="ended"):
        await client.request("tools/list")


async def test_sampling_reaches_the_internal_caller_and_its_answer_the_server(
    engine: Engine,
) -> None:
    await _asker(engine)
    asked: list[dict[str, Any]] = []
    client: InternalClient | None = None

    def on_message(msg: dict[str, Any]) -> None:
        asked.append(msg)
        if msg.get("method") == "sampling/createMessage":
            assert client is not None
            client.reply(
                msg["id"],
                result={
                    "role": "assistant",
                    "content": {"type": "text", "text": "forty-two"},
                    "model": "test",
                },
            )

    client = await _open(engine, capabilities={"sampling": {}})
    result = await client.request(
        "tools/call",
        {"name": "ask_llm", "arguments": {"prompt": "meaning?"}},
        on_message=on_message,
    )
    assert result["content"][0]["text"] == "sampled: forty-two"
    prompt = asked[0]["params"]["messages"][0]["content"]["text"]
    assert prompt == "meaning?"


async def test_an_internal_caller_without_sampling_is_refused_exactly(engine: Engine) -> None:
    await _asker(engine)
    client = await _open(engine)
    result = await client.request("tools/call", {"name": "ask_llm", "arguments": {"prompt": "x"}})
    assert result["content"][0]["text"].startswith("refused:")


async def test_cancelling_the_awaiting_task_cancels_upstream_and_the_session_goes_on(
    engine: Engine,
) -> None:
    await _asker(engine)
    client = await _open(engine)
    call = asyncio.ensure_future(
        client.request("tools/call", {"name": "wait", "arguments": {"seconds": 30}})
    )
    mux = engine.gateway.mux_of("asker") if engine.gateway else None
    assert mux is not None
    while not mux.pending:
        await asyncio.sleep(0.01)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert not mux.pending  # finished at once: no response is waited for
    result = await client.request("tools/call", {"name": "echo", "arguments": {"text": "on"}})
    assert result["content"][0]["text"] == "on"


async def test_a_down_server_is_named_and_a_restart_is_survived(engine: Engine) -> None:
    await _asker(engine)
    client = await _open(engine)
    await engine.stop_server("asker")
    with pytest.raises(Unavailable, match="asker"):
        await client.request("tools/list")
    await engine.start_server("asker")
    tools = await client.request("tools/list")  # re-initialized by the mux, same session
    assert tools["tools"]
    assert engine.gateway is not None
    with pytest.raises(ServerNotFound):
        await engine.gateway.open_internal("nobody", client_info=INFO)
    await engine.remove_server("asker")
    with pytest.raises(Unavailable):
        await client.request("tools/list")


async def test_opening_on_a_stopped_server_says_so(engine: Engine) -> None:
    await _asker(engine)
    await engine.stop_server("asker")
    with pytest.raises(Unavailable, match="asker.*stopped"):
        await _open(engine)
