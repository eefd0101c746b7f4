"""The gateway's Streamable HTTP transport and stdio multiplexer against real processes
(tests/fixtures/gw_mux_server.py and echo_server.py), spoken to with raw HTTP so every
status code and header is checked exactly."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from switchboard.core.spec import ServerSpec
from switchboard.engine import Engine
from tests.conftest import fixture_cmd
from tests.fixtures.gw_helpers import RawClient, add_started, parse_response, rpc, sse_messages

pytestmark = pytest.mark.timeout(60)


async def stats(client: RawClient) -> dict[str, object]:
    res = await client.call("tools/call", {"name": "stats", "arguments": {}}, msg_id="s")
    return json.loads(res["result"]["content"][0]["text"])  # type: ignore[no-any-return]


async def test_initialize_call_and_ids_restored(http: httpx.AsyncClient, mux_url: str) -> None:
    a = RawClient(http, mux_url)
    result = await a.initialize()
    assert result["serverInfo"]["name"] == "gw-mux"
    assert a.session_id and len(a.session_id) >= 32
    for msg_id in (1, "abc", 7.0 if False else 99):
        res = await a.call("tools/call", {"name": "echo", "arguments": {"text": "hi"}}, msg_id)
        assert res["id"] == msg_id
        assert res["result"]["content"][0]["text"] == "hi"


async def test_later_sessions_reuse_the_first_initialize(
    http: httpx.AsyncClient, mux_url: str
) -> None:
    clients = [RawClient(http, mux_url) for _ in range(3)]
    results = [await c.initialize() for c in clients]
    assert results[0] == results[1] == results[2]
    assert len({c.session_id for c in clients}) == 3
    counts = await stats(clients[2])
    assert counts["initialize"] == 1
    assert counts["initialized"] == 1


async def test_concurrent_sessions_get_their_own_answers(
    http: httpx.AsyncClient, mux_url: str
) -> None:
    clients = [RawClient(http, mux_url) for _ in range(8)]
    for c in clients:
        await c.initialize()

    async def one(i: int, j: int) -> None:
        c = clients[i]
        res = await c.call("tools/call", {"name": "echo", "arguments": {"text": f"{i}:{j}"}}, j)
        assert res["id"] == j
        assert res["result"]["content"][0]["text"] == f"{i}:{j}"

    # Same JSON-RPC ids in every session at the same time: only rewriting keeps them apart.
    await asyncio.gather(*(one(i, j) for i in range(8) for j in range(25)))


async def test_session_errors_404_400_and_delete(http: httpx.AsyncClient, mux_url: str) -> None:
    a = RawClient(http, mux_url)
    await a.initialize()
    r = await http.post(
        mux_url,
        json=rpc("tools/list"),
        headers={"accept": "application/json, text/event-stream", "mcp-session-id": "nope"},
    )
    assert r.status_code == 404
    r = await http.post(mux_url, json=rpc("tools/list"), headers={"accept": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == -32600
    r = await http.delete(mux_url, headers={"mcp-session-id": a.session_id or ""})
    assert r.status_code == 200
    r = await a.post(rpc("tools/list"))
    assert r.status_code == 404


async def test_hardening(http: httpx.AsyncClient, engine: Engine, mux_url: str) -> None:
    a = RawClient(http, mux_url)
    await a.initialize()
    r = await a.post(rpc("tools/list"), origin="https://evil.example")
    assert r.status_code == 403
    r = await http.post(
        mux_url, json=rpc("tools/list"), headers={**a.headers(), "host": "evil.example"}
    )
    assert r.status_code == 421
    r = await http.post(mux_url, content=b"{not json", headers=a.headers())
    assert r.status_code == 400
    assert r.json()["error"]["code"] == -32700
    r = await http.post(mux_url, content=b"x" * (5 * 1024 * 1024), headers=a.headers())
    assert r.status_code == 413
    r = await http.post(mux_url, content=b"{}", headers=a.headers(**{"content-type": "text/plain"}))
    assert r.status_code == 415
    r = await a.post(rpc("tools/list"), **{"mcp-protocol-version": "1999-01-01"})
    assert r.status_code == 400
    r = await http.post(mux_url, content=b"[]", headers=a.headers())
    assert r.status_code == 400
    # Loopback origins pass.
    r = await a.post(rpc("ping"), origin="http://localhost:3000")
    assert r.status_code == 200


async def test_stopped_server_answers_503_naming_it(
    http: httpx.AsyncClient, engine: Engine, mux_url: str
) -> None:
    a = RawClient(http, mux_url)
    await a.initialize()
    await engine.stop_server("mux")
    r = await a.post(rpc("tools/list", msg_id=5))
    assert r.status_code == 503
    body = r.json()
    assert body["id"] == 5
    assert body["error"]["data"] == {"server": "mux", "state": "stopped"}
    assert "'mux'" in body["error"]["message"]
    # A new client gets the same answer on initialize.
    r = await RawClient(http, mux_url).post(rpc("initialize", {"capabilities": {}}))
    assert r.status_code == 503
    # Started again: the old session works again (the gateway re-initializes).
    await engine.start_server("mux")
    res = await a.call("tools/call", {"name": "echo", "arguments": {"text": "back"}})
    assert res["result"]["content"][0]["text"] == "back"


async def test_unknown_server_is_404(http: httpx.AsyncClient, engine: Engine) -> None:
    r = await http.post(
        engine.server_url("ghost"), json=rpc("initialize", {}), headers={"accept": "*/*"}
    )
    assert r.status_code == 404


async def test_discover_probe_gets_method_not_found(http: httpx.AsyncClient, mux_url: str) -> None:
    r = await http.post(
        mux_url,
        json=rpc("server/discover", {"_meta": {}}),
        headers={
            "accept": "application/json, text/event-stream",
            "mcp-protocol-version": "2026-07-28",
        },
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == -32601
    assert r.json()["id"] == 1


async def test_server_death_errors_every_waiting_request_and_recovers(
    http: httpx.AsyncClient, engine: Engine, mux_url: str
) -> None:
    a, b = RawClient(http, mux_url), RawClient(http, mux_url)
    await a.initialize()
    await b.initialize()
    sleepers = [
        asyncio.ensure_future(
            a.call("tools/call", {"name": "sleep", "arguments": {"seconds": 30}}, i)
        )
        for i in range(5)
    ]
    await asyncio.sleep(0.2)
    await b.post(rpc("tools/call", {"name": "crash", "arguments": {}}, 9))
    done = await asyncio.wait_for(asyncio.gather(*sleepers), 10)
    for i, res in enumerate(done):
        assert res["id"] == i
        assert res["error"]["code"] == -32000
        assert "'mux'" in res["error"]["message"]
    # The supervisor restarts it; the same sessions work without re-initializing.
    res = await a.call("tools/call", {"name": "echo", "arguments": {"text": "again"}})
    assert res["result"]["content"][0]["text"] == "again"
    assert engine.status("mux").restarts == 1
    counts = await stats(b)
    assert counts["initialize"] == 1  # the new process was initialized once, by the gateway


async def test_request_timeout(http: httpx.AsyncClient, engine: Engine) -> None:
    cmd, args = fixture_cmd("gw_mux_server.py")
    url = await add_started(engine, "slow", cmd, args, request_timeout=1.0)
    a = RawClient(http, url)
    await a.initialize()
    res = await a.call("tools/call", {"name": "sleep", "arguments": {"seconds": 20}}, 3)
    assert res["id"] == 3
    assert res["error"]["code"] == -32001
    counts = await stats(a)
    assert counts["cancelled"]  # the server was told to stop working on it


async def test_progress_and_logs_stream_on_the_post(http: httpx.AsyncClient, mux_url: str) -> None:
    a = RawClient(http, mux_url)
    await a.initialize()
    r = await a.post(
        rpc("tools/call", {"name": "progress", "arguments": {}, "_meta": {"progressToken": 1}}, 1)
    )
    assert r.headers["content-type"].startswith("text/event-stream")
    messages = sse_messages(r.text)
    methods = [m.get("method") for m in messages]
    assert methods == [
        "notifications/progress",
        "notifications/progress",
        "notifications/message",
        None,
    ]
    assert messages[0]["params"]["progressToken"] == 1
    assert messages[-1]["result"]["content"][0]["text"] == "token=1"


async def test_same_progress_token_in_two_sessions(http: httpx.AsyncClient, mux_url: str) -> None:
    a, b = RawClient(http, mux_url), RawClient(http, mux_url)
    await a.initialize()
    await b.initialize()
    sleeper = asyncio.ensure_future(
        a.call(
            "tools/call",
            {"name": "sleep", "arguments": {"seconds": 1}, "_meta": {"progressToken": 1}},
        )
    )
    await asyncio.sleep(0.2)
    r = await b.post(
        rpc("tools/call", {"name": "progress", "arguments": {}, "_meta": {"progressToken": 1}})
    )
    messages = sse_messages(r.text)
    assert messages[0]["params"]["progressToken"] == 1  # restored for the client
    assert messages[-1]["result"]["content"][0]["text"].startswith("token=sb-")
    await sleeper


async def test_sampling_goes_to_the_caller_never_to_a_bystander(
    http: httpx.AsyncClient, mux_url: str
) -> None:
    plain = RawClient(http, mux_url)
    await plain.initialize()
    sampler = RawClient(http, mux_url)
    await sampler.initialize({"sampling": {}})
    seen: list[str] = []

    async def answer_sampling() -> None:
        async with http.stream("GET", mux_url, headers=sampler.headers()) as stream:
            assert stream.status_code == 200
            buf = ""
            async for chunk in stream.aiter_text():
                buf += chunk
                for msg in sse_messages(buf):
                    if msg.get("method") == "sampling/createMessage":
                        text = msg["params"]["messages"][0]["content"]["text"]
                        seen.append(text)
                        reply = {
                            "jsonrpc": "2.0",
                            "id": msg["id"],
                            "result": {
                                "role": "assistant",
                                "model": "m",
                                "content": {"type": "text", "text": text.upper()},
                            },
                        }
                        r = await sampler.post(reply)
                        assert r.status_code == 202
                        return

    task = asyncio.ensure_future(answer_sampling())
    await asyncio.sleep(0.2)
    # The plain client cannot sample: its call is refused, the idle sampler is not asked
    # on its behalf (issue 11.9).
    res = await plain.call("tools/call", {"name": "sample", "arguments": {"text": "secret"}})
    assert res["result"]["content"][0]["text"].startswith("refused:")
    assert "sampling" in res["result"]["content"][0]["text"]
    # The sampler's own call (JSON only): the request reaches it on its GET stream.
    r = await sampler.post(
        rpc("tools/call", {"name": "sample", "arguments": {"text": "hello"}}, "own"),
        accept="application/json",
    )
    assert r.json()["result"]["content"][0]["text"] == "sampled:HELLO"
    await asyncio.wait_for(task, 5)
    assert seen == ["hello"]


async def test_subscriptions_are_ref_counted(http: httpx.AsyncClient, mux_url: str) -> None:
    a, b = RawClient(http, mux_url), RawClient(http, mux_url)
    await a.initialize()
    await b.initialize()
    for c in (a, b):
        res = await c.call("resources/subscribe", {"uri": "file:///x"})
        assert res["result"] == {}
    assert (await stats(a))["subscribe"] == 1
    await a.call("resources/unsubscribe", {"uri": "file:///x"})
    assert (await stats(a))["unsubscribe"] == 0
    # Only b (still subscribed) hears about updates: on its GET stream.
    async with http.stream("GET", mux_url, headers=b.headers()) as stream:
        await a.call("tools/call", {"name": "touch", "arguments": {"uri": "file:///x"}})
        buf = ""
        async for chunk in stream.aiter_text():
            buf += chunk
            msgs = sse_messages(buf)
            if msgs:
                assert msgs[0]["method"] == "notifications/resources/updated"
                break
    await b.call("resources/unsubscribe", {"uri": "file:///x"})
    assert (await stats(a))["unsubscribe"] == 1
    # A session that ends drops its subscriptions.
    await a.call("resources/subscribe", {"uri": "file:///y"})
    await http.delete(mux_url, headers=a.headers())
    assert (await stats(b))["unsubscribe"] == 2


async def test_cancellation_reaches_the_server_with_its_id(
    http: httpx.AsyncClient, mux_url: str
) -> None:
    a = RawClient(http, mux_url)
    await a.initialize()
    call = asyncio.ensure_future(
        a.post(rpc("tools/call", {"name": "sleep", "arguments": {"seconds": 30}}, "long"))
    )
    await asyncio.sleep(0.2)
    r = await a.post(
        rpc("notifications/cancelled", {"requestId": "long", "reason": "user"}, msg_id=None)
    )
    assert r.status_code == 202
    res = await asyncio.wait_for(call, 5)
    # The receiver of a cancellation SHOULD NOT respond (MCP utilities/cancellation).
    assert res.status_code == 202 and res.content == b""
    counts = await stats(a)
    cancelled = counts["cancelled"]
    assert isinstance(cancelled, list) and len(cancelled) == 1
    assert isinstance(cancelled[0], int)  # the upstream id, not the client's "long"


async def test_echo_fixture_and_parse_response(http: httpx.AsyncClient, engine: Engine) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    url = await add_started(engine, "echo", cmd, args)
    a = RawClient(http, url)
    await a.initialize()
    r = await a.post(rpc("tools/call", {"name": "echo", "arguments": {"text": "x"}}))
    assert r.headers["content-type"] == "application/json"
    assert parse_response(r)["result"]["content"][0]["text"] == "x"
    spec = engine.config.server("echo")
    assert isinstance(spec, ServerSpec)


async def test_concurrent_sampling_is_routed_by_progress_token(
    http: httpx.AsyncClient, mux_url: str
) -> None:
    """Six sessions that can all sample call the sampling tool at once (all with progress
    token 1: the gateway makes them unique upstream); the server passes each call's token
    along, so each sampling request reaches its own caller's stream. Without that, the
    gateway could only guess among six requests in flight."""
    clients = [RawClient(http, mux_url) for _ in range(6)]
    for c in clients:
        await c.initialize({"sampling": {}})

    async def one(i: int) -> str:
        c = clients[i]
        params = {"name": "sample", "arguments": {"text": f"q{i}"}, "_meta": {"progressToken": 1}}
        body = rpc("tools/call", params, 1)
        async with http.stream("POST", mux_url, json=body, headers=c.headers()) as r:
            async for line in r.aiter_lines():
                if not line.startswith("data:") or not line[5:].strip():
                    continue
                msg = json.loads(line[5:])
                if "method" not in msg:
                    return str(msg["result"]["content"][0]["text"])
                assert msg["method"] == "sampling/createMessage"
                asked = msg["params"]["messages"][0]["content"]["text"]
                answer = {"role": "assistant", "model": "m", "content": {"type": "text"}}
                answer["content"]["text"] = f"{asked}@{i}"  # type: ignore[index]
                r2 = await c.post({"jsonrpc": "2.0", "id": msg["id"], "result": answer})
                assert r2.status_code == 202
        raise AssertionError("the stream ended without a result")

    results = await asyncio.gather(*(one(i) for i in range(6)))
    assert results == [f"sampled:q{i}@{i}" for i in range(6)]
