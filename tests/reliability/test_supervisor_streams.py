"""Misbehaving stdout through the real gateway (issue 12.7, 12.8): a server that
closes stdout but keeps running, and an answer larger than the line limit.

Each call is bounded by a generous ``asyncio.wait_for`` only so that a regression
fails instead of hanging for the server's 600 s request timeout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from switchboard.core.events import Event, StateChanged
from switchboard.core.spec import AuthMode, RestartPolicy, ServerSpec
from switchboard.core.state import ServerState as S
from switchboard.engine import Engine
from tests.conftest import fixture_cmd
from tests.fixtures.gw_helpers import RawClient, add_started

HANG = 30.0
"""Only a hang detector: the fixed code answers in well under a second."""


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=HANG + 30, trust_env=False) as client:
        yield client


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def _until(cond: object, what: str) -> None:
    for _ in range(3000):
        if cond():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def test_closed_stdout_fails_the_call_at_once_and_restarts_the_server(
    engine: Engine, http: httpx.AsyncClient
) -> None:
    got: list[Event] = []
    engine.events.subscribe(got.append)
    cmd, args = fixture_cmd("rel_close_stdout.py")
    url = await add_started(
        engine, "wedge", cmd, args, restart=RestartPolicy(initial_delay=0.05, jitter=0)
    )
    server = engine.supervisor.get("wedge")
    first = server.pid
    assert first is not None
    client = RawClient(http, url)
    await client.initialize()
    reply = await asyncio.wait_for(client.call("tools/call", {"name": "close"}, msg_id=7), HANG)
    assert reply["id"] == 7
    assert "exited before answering tools/call" in reply["error"]["message"]
    await _until(lambda: server.restarts >= 1 and server.state is S.RUNNING, "the restart")
    assert server.pid != first
    await _until(lambda: not _alive(first), f"pid {first} to be stopped")
    reasons = [e.detail for e in got if isinstance(e, StateChanged) and e.new is S.BACKOFF]
    assert reasons and "closed its stdout" in reasons[0]
    assert any("closed its stdout" in line.text for line in server.log.tail(50))
    assert "closed its stdout" in server.status().detail  # the reason stays visible
    # The restarted process serves the same session again.
    reply = await asyncio.wait_for(
        client.call("tools/call", {"name": "echo", "arguments": {"text": "back"}}, msg_id=8), HANG
    )
    assert reply["result"]["content"][0]["text"] == "back"


async def _big_server(engine: Engine, limit: int) -> str:
    cmd, args = fixture_cmd("rel_huge_answer.py")
    await engine.add_server(ServerSpec(name="big", command=cmd, args=args, auth=AuthMode.OFF))
    engine.supervisor.get("big").stdout_limit = limit
    await engine.start_server("big")
    return engine.server_url("big")


async def test_an_answer_over_the_line_limit_is_answered_at_once_with_an_error(
    engine: Engine, http: httpx.AsyncClient
) -> None:
    client = RawClient(http, await _big_server(engine, 1 << 20))
    await client.initialize()
    args = {"size": 3 << 20}
    reply = await asyncio.wait_for(
        client.call("tools/call", {"name": "big", "arguments": args}, msg_id="req-9"), HANG
    )
    assert reply["id"] == "req-9"
    message = reply["error"]["message"]
    assert "larger than the 1 MiB limit" in message and "'big'" in message
    assert "did not answer" not in message
    # The rest of the line was skipped: the next answer is read correctly.
    reply = await asyncio.wait_for(
        client.call("tools/call", {"name": "echo", "arguments": {"text": "ok"}}, msg_id=10), HANG
    )
    assert reply["result"]["content"][0]["text"] == "ok"
    # An answer just under the limit still goes through whole.
    reply = await asyncio.wait_for(
        client.call("tools/call", {"name": "big", "arguments": {"size": 1000}}, msg_id=11), HANG
    )
    assert reply["result"]["content"][0]["text"] == "z" * 1000
    log = "\n".join(line.text for line in engine.supervisor.get("big").log.tail(20))
    assert "larger than the 1 MiB limit" in log


async def test_an_oversized_answer_whose_id_is_past_the_head_is_logged(
    engine: Engine, http: httpx.AsyncClient
) -> None:
    client = RawClient(http, await _big_server(engine, 1 << 20))
    await client.initialize()
    post = asyncio.ensure_future(
        client.call("tools/call", {"name": "big", "arguments": {"size": 3 << 20, "id_last": True}})
    )
    server = engine.supervisor.get("big")
    await _until(
        lambda: any("no JSON-RPC id" in line.text for line in server.log.tail(20)), "the log"
    )
    post.cancel()
    assert server.state is S.RUNNING  # a dropped line does not take the server down
