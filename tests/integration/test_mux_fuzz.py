"""Hostile JSON-RPC through the real gateway (issue 10.4, mux part): any JSON value in any
field, from a client or from the server, gives a JSON-RPC error (client) or a logged drop
(server); never a 5xx, never an exception in the log, and the session keeps working.
A table of every JSON type in every envelope field, then seeded random mutations."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import Any

import httpx
import pytest

from switchboard.core.spec import RestartPolicy
from switchboard.engine import Engine
from tests.conftest import fixture_cmd
from tests.fixtures.gw_helpers import RawClient, add_started, parse_response, rpc

pytestmark = pytest.mark.timeout(180)

VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    1e300,
    "",
    "x",
    "\u0000\ud7ff",
    [],
    [1, {"a": None}],
    {},
    {"a": [1, {}]},
    2**63 - 1,
]
"""One of every JSON type (and a few awkward members of each)."""


def call_msg(**over: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "x"}},
        **over,
    }


def client_table() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for v in VALUES:
        out += [
            call_msg(id=v),
            call_msg(method=v),
            call_msg(params=v),
            call_msg(jsonrpc=v),
            call_msg(params={"name": "echo", "_meta": v}),
            call_msg(params={"name": "echo", "_meta": {"progressToken": v}}),
            {"jsonrpc": "2.0", "id": v, "result": {}},
            {"jsonrpc": "2.0", "id": 7, "result": v},
            {"jsonrpc": "2.0", "id": 7, "error": v},
            {"jsonrpc": "2.0", "id": v},
            {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": v}},
            {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": v},
            {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": v}},
            {"jsonrpc": "2.0", "id": 3, "method": "resources/subscribe", "params": {"uri": v}},
            {"jsonrpc": "2.0", "id": 3, "method": "resources/unsubscribe", "params": {"uri": v}},
            {"jsonrpc": "2.0", "id": 4, "method": "ping", "params": v},
            {"jsonrpc": "2.0", "method": v},
            {"jsonrpc": "2.0", "id": 5, "method": "initialize", "params": v},
            {
                "jsonrpc": "2.0",
                "id": 5,
                "method": "initialize",
                "params": {"protocolVersion": v, "capabilities": v, "clientInfo": v},
            },
        ]
    return out


METHODS = [
    "tools/call",
    "tools/list",
    "ping",
    "resources/read",
    "initialize",
    "notifications/cancelled",
    "notifications/progress",
    "sampling/createMessage",
    "nope",
]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 3 else 7)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.randint(-(2**63), 2**63 - 1)
    if kind == 3:
        return rng.uniform(-1e9, 1e9)
    if kind == 4:
        return "".join(chr(rng.randrange(1, 0x2FF)) for _ in range(rng.randrange(6)))
    if kind == 5:
        return rng.choice(METHODS)
    if kind == 6:
        return rng.randrange(100)
    if kind == 7:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {f"k{i}": random_value(rng, depth + 1) for i in range(rng.randrange(4))}


def mutate(rng: random.Random, msg: dict[str, Any]) -> dict[str, Any]:
    """Set one envelope field (or drop it) to a random JSON value."""
    msg = json.loads(json.dumps(msg))
    params = msg.get("params") if isinstance(msg.get("params"), dict) else None
    spot = rng.choice(
        (
            "id",
            "method",
            "params",
            "jsonrpc",
            "_meta",
            "progressToken",
            "requestId",
            "result",
            "error",
            "drop",
        )
    )
    value = random_value(rng)
    if spot in ("_meta", "progressToken", "requestId") and params is not None:
        if spot == "_meta":
            params["_meta"] = value
        elif spot == "progressToken":
            params["_meta"] = {"progressToken": value}
        else:
            params["requestId"] = value
    elif spot == "drop":
        msg.pop(rng.choice(sorted(msg)), None)
    else:
        msg[spot] = value
    return msg


SEEDS = [
    call_msg(),
    call_msg(method="tools/list", params={}),
    {"jsonrpc": "2.0", "id": 9, "result": {}},
    {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}},
    {
        "jsonrpc": "2.0",
        "method": "notifications/progress",
        "params": {"progressToken": 1, "progress": 1},
    },
    {"jsonrpc": "2.0", "id": 2, "method": "ping"},
]


@pytest.fixture
async def fuzz_url(engine: Engine) -> str:
    cmd, args = fixture_cmd("gw_mux_server.py")
    # A short timeout: a fuzzed request the server never answers (e.g. a request named
    # notifications/cancelled) ends in a timeout error instead of holding the test.
    return await add_started(
        engine,
        "mux",
        cmd,
        args,
        request_timeout=3,
        restart=RestartPolicy(initial_delay=0.05, jitter=0),
    )


def no_exceptions(caplog: pytest.LogCaptureFixture) -> None:
    bad = [
        r
        for r in caplog.records
        if r.name.startswith("switchboard") and (r.exc_info or r.levelno >= logging.ERROR)
    ]
    assert bad == [], [r.getMessage() for r in bad]


async def post_all(client: RawClient, messages: list[dict[str, Any]]) -> None:
    async def one(msg: dict[str, Any]) -> None:
        r = await client.http.post(
            client.url, content=json.dumps(msg).encode(), headers=client.headers()
        )
        assert r.status_code < 500, (msg, r.status_code, r.text)
        for leak in ("Traceback", "TypeError", "KeyError", "AttributeError", "ValueError"):
            assert leak not in r.text, (msg, r.text)
        if r.status_code == 400:
            err = r.json()["error"]
            assert err["code"] in (-32600, -32700, -32601) and err["message"], (msg, r.text)

    for i in range(0, len(messages), 25):
        await asyncio.gather(*(one(m) for m in messages[i : i + 25]))


async def assert_working(client: RawClient, text: str) -> None:
    res = await client.call(
        "tools/call", {"name": "echo", "arguments": {"text": text}}, msg_id="ok"
    )
    assert res == {
        "jsonrpc": "2.0",
        "id": "ok",
        "result": {"content": [{"type": "text", "text": text}]},
    }


async def test_hostile_client_messages_table_and_random(
    http: httpx.AsyncClient, fuzz_url: str, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="switchboard")
    client = RawClient(http, fuzz_url)
    await client.initialize({"sampling": {}})
    table = client_table()
    await post_all(client, table)
    await assert_working(client, "after the table")
    rng = random.Random(20261129)
    await post_all(client, [mutate(rng, rng.choice(SEEDS)) for _ in range(400)])
    await assert_working(client, "after 400 mutations")
    assert engine.status("mux").restarts == 0
    no_exceptions(caplog)


def server_table() -> list[str]:
    lines = [
        "not json",
        "",
        "null",
        "[]",
        "{}",
        '"s"',
        "1",
        '[1, "x", null]',
        "18446744073709551616",
        '{"jsonrpc": "2.0", "id": 123456789012345678901234567890, "result": {}}',
    ]
    for v in VALUES:
        for msg in (
            {"jsonrpc": "2.0", "id": v, "result": {}},
            {"jsonrpc": "2.0", "id": v, "error": v},
            {"jsonrpc": "2.0", "id": v, "method": "sampling/createMessage", "params": {}},
            {"jsonrpc": "2.0", "id": v, "method": "ping"},
            {"jsonrpc": "2.0", "id": 77, "method": v},
            {"jsonrpc": "2.0", "method": v},
            {"jsonrpc": "2.0", "id": 78, "method": "elicitation/create", "params": v},
            {"jsonrpc": "2.0", "id": 79, "method": "roots/list", "params": {"_meta": v}},
            {
                "jsonrpc": "2.0",
                "id": 80,
                "method": "sampling/createMessage",
                "params": {"_meta": {"progressToken": v}},
            },
            {
                "jsonrpc": "2.0",
                "method": "notifications/progress",
                "params": {"progressToken": v, "progress": v},
            },
            {"jsonrpc": "2.0", "method": "notifications/progress", "params": v},
            {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": v}},
            {"jsonrpc": "2.0", "method": "notifications/resources/updated", "params": {"uri": v}},
            {"jsonrpc": "2.0", "method": "notifications/message", "params": v},
            {"jsonrpc": "2.0", "method": "notifications/tools/list_changed", "params": v},
            [{"jsonrpc": "2.0", "id": v, "result": v}, v],
        ):
            lines.append(json.dumps(msg))
    return lines


async def test_hostile_server_lines_are_dropped_and_the_session_goes_on(
    http: httpx.AsyncClient, fuzz_url: str, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="switchboard")
    client = RawClient(http, fuzz_url)
    await client.initialize()
    lines = server_table()
    rng = random.Random(7)
    for _ in range(300):
        seed: dict[str, Any] = rng.choice(
            [
                {"jsonrpc": "2.0", "id": 5, "result": {}},
                {
                    "jsonrpc": "2.0",
                    "id": 6,
                    "method": "sampling/createMessage",
                    "params": {"_meta": {"progressToken": 1}},
                },
                {
                    "jsonrpc": "2.0",
                    "method": "notifications/progress",
                    "params": {"progressToken": 1},
                },
                {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 6}},
            ]
        )
        lines.append(json.dumps(mutate(rng, seed)))
    for i in range(0, len(lines), 50):
        r = await client.post(
            rpc(
                "tools/call",
                {"name": "garbage", "arguments": {"lines": lines[i : i + 50]}},
                f"g{i}",
            )
        )
        assert r.status_code == 200, r.text
        final = parse_response(r)
        assert final["id"] == f"g{i}" and final["result"]["content"][0]["text"] == "sent"
    # A garbage answer to a real call becomes a clear error for its caller.
    for reply in (
        {"jsonrpc": "2.0"},
        {"jsonrpc": "2.0", "error": "boom"},
        {"jsonrpc": "2.0", "error": {"code": "x"}},
    ):
        res = await client.call(
            "tools/call", {"name": "garbage", "arguments": {"reply_raw": reply}}, msg_id="bad"
        )
        assert res["id"] == "bad" and res["error"]["code"] == -32603
        assert "invalid response" in res["error"]["message"]
    await assert_working(client, "after the garbage")
    assert engine.status("mux").restarts == 0
    no_exceptions(caplog)


async def test_a_hostile_first_initialize_does_not_break_the_server_for_others(
    http: httpx.AsyncClient, fuzz_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    first = RawClient(http, fuzz_url)
    r = await first.post(
        rpc("initialize", {"protocolVersion": {"x": 1}, "capabilities": [1], "clientInfo": "me"})
    )
    assert r.status_code == 200, r.text
    other = RawClient(http, fuzz_url)
    await other.initialize()
    await assert_working(other, "fine")
    no_exceptions(caplog)
