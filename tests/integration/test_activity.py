"""Activity (issue 15.2) end to end: the real engine and gateway, the real ``mcp`` SDK
client signed in with OAuth as three distinct registered clients, a real stdio server
(tests/fixtures/echo_server.py); what lands in the activity database."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from switchboard.activity import ActivityEntry, ActivityQuery
from switchboard.core.activity import ERROR, OK
from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, Transport
from switchboard.engine import Engine
from tests.conftest import FakeSecrets, fixture_cmd, make_test_engine
from tests.fixtures.gw_helpers import add_started
from tests.helpers.engine_process import ENGINE_ENV
from tests.helpers.oauth_flow import ConsentBrowser, MemoryTokenStorage, sdk_provider

pytestmark = pytest.mark.timeout(180)

CALLS = 1000


class Approve(ConsentBrowser):
    async def answer(self, page: httpx.Response, request_id: str) -> None:
        self.engine.consent.decide(request_id, True)


def entries(engine: Engine, q: ActivityQuery | None = None) -> list[ActivityEntry]:
    assert engine.activity is not None
    db = engine.activity.open_reader()
    try:
        return db.query(q or ActivityQuery(), limit=100_000)
    finally:
        db.close()


async def test_1000_calls_from_3_oauth_clients_are_1000_records(engine: Engine) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    url = await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)
    # Client i makes its share of the calls; every 10th call of "beta" asks for a prompt
    # the server does not have (a JSON-RPC error), the others call the echo tool.
    names = ("alpha", "beta", "gamma")
    shares = {"alpha": 334, "beta": 333, "gamma": 333}
    expected: dict[tuple[str, str, str], int] = {}

    async def client(name: str) -> None:
        provider = sdk_provider(url, Approve(engine), MemoryTokenStorage(), name)
        async with (
            httpx2.AsyncClient(auth=provider, timeout=30) as http,
            Client(streamable_http_client(url, http_client=http)) as mcp,
        ):
            for i in range(shares[name]):
                if name == "beta" and i % 10 == 0:
                    with pytest.raises(MCPError):
                        await mcp.get_prompt("no-such-prompt")
                    key = (name, "prompts/get", ERROR)
                else:
                    await mcp.call_tool("echo", {"text": f"{name} {i}"})
                    key = (name, "tools/call", OK)
                expected[key] = expected.get(key, 0) + 1

    await asyncio.gather(*(client(n) for n in names))
    assert sum(expected.values()) == CALLS
    assert engine.activity is not None
    await engine.activity.flush()
    calls = [e for e in entries(engine) if e.method in ("tools/call", "prompts/get")]
    assert len(calls) == CALLS
    got: dict[tuple[str, str, str], int] = {}
    for e in calls:
        assert e.client_name is not None, e
        key = (e.client_name, e.method, e.outcome)
        got[key] = got.get(key, 0) + 1
        assert e.server == "echo" and e.client_id and e.subject
        assert e.target == ("echo" if e.method == "tools/call" else "no-such-prompt")
        assert e.code == (None if e.outcome == OK else -32601)
        assert e.arguments is None and e.result is None  # not opted in
        assert e.duration_ms >= 0 and e.request_size > 0 and e.response_size > 0
    assert got == expected
    # Three distinct registered clients, each under its own client_id.
    ids = {e.client_name: e.client_id for e in calls}
    assert len(set(ids.values())) == 3
    figures = engine.activity.server_figures()["echo"]
    assert figures.calls >= CALLS and figures.errors == expected[("beta", "prompts/get", ERROR)]


async def test_arguments_recorded_redacted_only_when_opted_in(
    paths: AppPaths, http: httpx.AsyncClient
) -> None:
    secret = "tok-1234567890-secret"
    engine = make_test_engine(paths, FakeSecrets({"echo-key": secret}))
    await engine.start()
    try:
        cmd, args = fixture_cmd("echo_server.py")
        for name, opted in (("plain", False), ("kept", True)):
            await add_started(
                engine,
                name,
                cmd,
                args,
                secrets={"ECHO_SECRET": "echo-key"},
                record_arguments=opted,
            )
            async with Client(engine.server_url(name)) as mcp:
                await mcp.call_tool("echo", {"text": f"my key is {secret}", "n": 1})
        assert engine.activity is not None
        await engine.activity.flush()
        (plain,) = entries(engine, ActivityQuery(server="plain", target="echo"))
        (kept,) = entries(engine, ActivityQuery(server="kept", target="echo"))
        assert plain.arguments is None and plain.result is None
        assert kept.arguments is not None and kept.result is not None
        assert json.loads(kept.arguments) == {"text": "my key is [redacted]", "n": 1}
        assert secret not in kept.result and "[redacted]" in kept.result
        # Nothing of the secret anywhere in the database file.
        await engine.activity.aclose()
        for f in Path(paths.data_dir).glob("activity.sqlite3*"):
            assert secret.encode() not in f.read_bytes()
    finally:
        await engine.aclose()


async def test_cli_route_lists_and_filters(engine: Engine, http: httpx.AsyncClient) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    await add_started(engine, "echo", cmd, args)
    async with Client(engine.server_url("echo")) as mcp:
        await mcp.call_tool("echo", {"text": "one"})
        with pytest.raises(MCPError):
            await mcp.get_prompt("nope")
    from switchboard.control.client import ControlClient

    def ask(**params: str) -> Any:
        client = ControlClient.connect(engine.paths)  # blocking: off the engine's loop
        try:
            return client.request("GET", "/activity", **params)
        finally:
            client.close()

    data = await asyncio.to_thread(ask, server="echo", outcome="error")
    assert [(e["method"], e["target"], e["code"]) for e in data["entries"]] == [
        ("prompts/get", "nope", -32601)
    ]
    data = await asyncio.to_thread(ask, tool="ech")
    assert [(e["method"], e["outcome"]) for e in data["entries"]] == [("tools/call", "ok")]
    assert "arguments" not in data["entries"][0]  # listings stay small; details by id

    def get(path: str, **params: str) -> Any:
        client = ControlClient.connect(engine.paths)
        try:
            return client.request("GET", path, **params)
        finally:
            client.close()

    one = await asyncio.to_thread(get, f"/activity/{data['entries'][0]['id']}")
    assert one["target"] == "echo" and one["arguments"] is None
    figures = await asyncio.to_thread(get, "/activity-figures")
    assert figures["echo"]["errors"] == 1 and len(figures["echo"]["per_minute"]) == 60
    from switchboard.core.errors import SwitchboardError

    for path, params in (("/activity", {"outcome": "bad"}), ("/activity/999999", {})):
        with pytest.raises(SwitchboardError) as failed:
            await asyncio.to_thread(get, path, **params)
        assert failed.value.hint  # a sentence and what to do, never a stack trace


async def test_cli_follows_new_requests(engine: Engine) -> None:
    """``switchboard activity -f --server echo`` (a real CLI process, over the control
    socket) prints each new call of that server as it happens, and only those."""
    cmd, args = fixture_cmd("echo_server.py")
    await add_started(engine, "echo", cmd, args)
    await add_started(engine, "other", cmd, args)
    home = engine.paths.data_dir.parent
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "switchboard", "--home", str(home),
        "activity", "-f", "--json", "--server", "echo",
        stdout=asyncio.subprocess.PIPE,
        env=ENGINE_ENV,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        await asyncio.sleep(1.0)  # the CLI starts and subscribes
        for name in ("other", "echo", "other", "echo"):
            async with Client(engine.server_url(name)) as mcp:
                await mcp.call_tool("echo", {"text": name})
        seen: list[dict[str, Any]] = []
        while len([e for e in seen if e["method"] == "tools/call"]) < 2:
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert line, "the CLI ended"
            seen.append(json.loads(line))
        assert {e["server"] for e in seen} == {"echo"}
        assert [e["target"] for e in seen if e["method"] == "tools/call"] == ["echo", "echo"]
    finally:
        proc.terminate()
        await proc.wait()


def test_cli_reads_the_database_without_an_engine(
    paths: AppPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    from switchboard.activity.store import ActivityDB
    from switchboard.cli import main

    db = ActivityDB(paths.activity_db)
    row = [1.8e9, 2.5, "echo", None, "cid", "Claude", "sub", "s1", "tools/call", "search"]
    db.insert([(*row, "ok", None, 10, 20, None, None), (*row, "error", -32602, 10, 20, None, None)])
    db.close()
    assert main(["--home", str(paths.data_dir.parent), "activity", "--outcome", "error"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "Claude" in out[0] and "tools/call search" in out[0]
    assert "error -32602" in out[0]
    assert main(["--home", str(paths.data_dir.parent), "activity", "--show", "1"]) == 0
    details = capsys.readouterr().out
    assert "arguments: (not recorded" in details and "client: Claude" in details


async def test_pass_through_requests_are_recorded(engine: Engine) -> None:
    """A server that speaks Streamable HTTP itself (the SDK's, upstream of the gateway):
    its calls are recorded too, outcome read from the answer (JSON or SSE)."""
    from tests.integration.test_gateway_passthrough import add_http

    await add_http(engine, "web", Transport.STREAMABLE_HTTP)
    async with Client(engine.server_url("web")) as mcp:
        await mcp.call_tool("echo", {"text": "through"})
        with pytest.raises(MCPError):
            await mcp.get_prompt("nope")
    assert engine.activity is not None
    await engine.activity.flush()
    found = entries(engine, ActivityQuery(server="web"))
    calls = [(e.method, e.target, e.outcome, e.code) for e in found if e.target]
    assert ("tools/call", "echo", OK, None) in calls
    assert any(m == "prompts/get" and o == ERROR and c is not None for m, _, o, c in calls)
    call = next(e for e in found if e.target == "echo")
    assert call.response_size > 0 and call.arguments is None


async def test_group_calls_are_recorded_on_the_member_via_the_group(engine: Engine) -> None:
    """A call through /groups/<name>/mcp reaches the member server over an internal
    session: recorded under the member, ``via`` the group, filterable by either."""
    from switchboard.core.group import GroupSpec

    cmd, args = fixture_cmd("echo_server.py")
    await add_started(engine, "echo", cmd, args)
    await engine.add_group(GroupSpec(name="team", servers=("echo",), auth=AuthMode.OFF))
    async with Client(engine.group_url("team")) as mcp:
        tools = {t.name for t in (await mcp.list_tools()).tools}
        await mcp.call_tool(next(t for t in tools if t.endswith("echo")), {"text": "hi"})
    assert engine.activity is not None
    await engine.activity.flush()
    (call,) = [e for e in entries(engine, ActivityQuery(server="team")) if e.target == "echo"]
    assert (call.server, call.via, call.method, call.outcome) == ("echo", "team", "tools/call", OK)
    assert call in entries(engine, ActivityQuery(server="echo"))
