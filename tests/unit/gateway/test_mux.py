"""StdioMux logic with an in-memory stdio stream (no process): id rewriting, cached
initialize, routing, subscriptions, timeouts and what happens when the process dies."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from switchboard.gateway import jsonrpc
from switchboard.gateway.mux import Outbox, PostChannel, Session, StdioMux, Unavailable
from switchboard.supervisor.stream import StdioStream


class FakeWriter:
    """Collects what the mux writes to the process's stdin."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        for line in data.splitlines():
            self.lines.append(json.loads(line))

    def is_closing(self) -> bool:
        return self.closed

    async def drain(self) -> None:
        return None


class World:
    """One fake process at a time behind a mux, answering initialize by itself."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.generation = 0
        self.stream: StdioStream | None = None
        self.writer = FakeWriter()
        self.timeout = timeout
        self.new_process()
        self.mux = StdioMux("srv", lambda: self.stream, timeout=lambda: self.timeout)

    def new_process(self) -> None:
        self.generation += 1
        self.writer = FakeWriter()
        self.stream = StdioStream("srv", self.generation, self.writer)  # type: ignore[arg-type]

    def kill(self) -> None:
        assert self.stream is not None
        self.stream._end()
        self.stream = None

    def reply(self, msg_id: Any, result: Any) -> None:
        assert self.stream is not None
        self.stream._feed(jsonrpc.result(msg_id, result))

    def send(self, msg: dict[str, Any]) -> None:
        assert self.stream is not None
        self.stream._feed(jsonrpc.dumps(msg))

    async def auto_init(self) -> None:
        """Answer the next initialize the mux writes."""
        for _ in range(100):
            for line in self.writer.lines:
                if line.get("method") == "initialize" and not line.get("_answered"):
                    line["_answered"] = True
                    self.reply(line["id"], {"protocolVersion": "2025-11-25", "capabilities": {}})
                    return
            await asyncio.sleep(0)
        raise AssertionError("no initialize was written")

    async def session(self, caps: dict[str, Any] | None = None) -> Session:
        s = Session("srv")
        init = asyncio.ensure_future(self.mux.initialize(s, {"capabilities": caps or {}}))
        if self.mux.init_result is None or not self.mux.ready():
            await self.auto_init()
        await init
        return s

    def written(self, method: str) -> list[dict[str, Any]]:
        return [m for m in self.writer.lines if m.get("method") == method]


def call(
    mux: StdioMux, session: Session, msg_id: Any, method: str = "tools/call", **params: Any
) -> PostChannel:
    ch = PostChannel(sse_ok=True)
    mux.submit(session, {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}, ch)
    return ch


def final(ch: PostChannel) -> dict[str, Any]:
    assert ch.done
    return json.loads(ch.messages[-1])  # type: ignore[no-any-return]


async def test_ids_are_rewritten_and_restored() -> None:
    w = World()
    a, b = await w.session(), await w.session()
    ca, cb = call(w.mux, a, 1), call(w.mux, b, 1)
    sent = w.written("tools/call")
    assert len({m["id"] for m in sent}) == 2  # same client id, distinct upstream ids
    w.reply(sent[1]["id"], "for b")
    w.reply(sent[0]["id"], "for a")
    assert final(ca) == {"jsonrpc": "2.0", "id": 1, "result": "for a"}
    assert final(cb)["result"] == "for b"


async def test_initialize_once_with_merged_capabilities() -> None:
    w = World()
    await w.session({"roots": {}})
    await w.session()
    inits = w.written("initialize")
    assert len(inits) == 1
    caps = inits[0]["params"]["capabilities"]
    assert {"sampling", "elicitation"} <= set(caps)
    # Roots are per connection in servers (cached): a shared process is never told them,
    # even when the first client declared them (one app's workspace is not another's).
    assert "roots" not in caps
    assert len(w.written("notifications/initialized")) == 1


async def test_dead_process_fails_every_waiting_request_and_recovers() -> None:
    w = World()
    a = await w.session()
    channels = [call(w.mux, a, i) for i in range(5)]
    w.mux.submit(
        a,
        {"jsonrpc": "2.0", "id": "sub", "method": "resources/subscribe", "params": {"uri": "u"}},
        PostChannel(True),
    )
    w.kill()
    for i, ch in enumerate(channels):
        err = final(ch)
        assert err["id"] == i
        assert err["error"]["code"] == jsonrpc.SERVER_UNAVAILABLE
    assert not w.mux.ready()
    with pytest.raises(Unavailable):
        await w.mux.ensure_ready()
    # A new process: the mux initializes it with the first client's params and
    # replays the live subscription, then requests flow again.
    w.new_process()
    ready = asyncio.ensure_future(w.mux.ensure_ready())
    await w.auto_init()
    await ready
    assert [m["params"]["uri"] for m in w.written("resources/subscribe")] == ["u"]
    ch = call(w.mux, a, 7)
    w.reply(w.written("tools/call")[-1]["id"], "ok")
    assert final(ch)["result"] == "ok"


async def test_subscriptions_are_ref_counted_and_released_with_the_session() -> None:
    w = World()
    a, b = await w.session(), await w.session()
    for s in (a, b):
        ch = PostChannel(True)
        w.mux.submit(
            s,
            {"jsonrpc": "2.0", "id": 1, "method": "resources/subscribe", "params": {"uri": "x"}},
            ch,
        )
        if not ch.done:
            w.reply(w.written("resources/subscribe")[-1]["id"], {})
        assert final(ch)["result"] == {}
    assert len(w.written("resources/subscribe")) == 1
    w.mux.close_session(a)
    assert w.written("resources/unsubscribe") == []
    w.mux.close_session(b)
    assert [m["params"]["uri"] for m in w.written("resources/unsubscribe")] == ["x"]


async def test_an_older_client_gets_its_own_protocol_version() -> None:
    w = World()
    first = await w.session()
    old = Session("srv")
    result = await w.mux.initialize(old, {"protocolVersion": "2025-03-26", "capabilities": {}})
    assert result["protocolVersion"] == "2025-03-26" == old.protocol_version
    assert first.protocol_version == "2025-11-25"
    odd = Session("srv")
    result = await w.mux.initialize(odd, {"protocolVersion": "1999-01-01"})
    assert result["protocolVersion"] == "2025-11-25"  # unknown: the server's own


def sampling(msg_id: int, **meta: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"messages": [], "maxTokens": 1}
    if meta:
        params["_meta"] = meta
    return {"jsonrpc": "2.0", "id": msg_id, "method": "sampling/createMessage", "params": params}


def methods(ch: PostChannel) -> list[Any]:
    return [json.loads(m).get("method") for m in ch.messages]


async def test_server_request_with_a_progress_token_goes_to_that_request() -> None:
    w = World()
    a = await w.session({"sampling": {}})
    b = await w.session({"sampling": {}})
    ch_b = call(w.mux, b, 1, name="t", _meta={"progressToken": 7})
    ch_a = call(w.mux, a, 1, name="t", _meta={"progressToken": 7})  # later, same token
    token_a = w.written("tools/call")[1]["params"]["_meta"]["progressToken"]
    assert token_a != 7  # made unique upstream
    # The server names the request by its token: exact, although a's request is newer.
    w.send(sampling(60, progressToken=7))
    assert methods(ch_b) == ["sampling/createMessage"] and methods(ch_a) == []
    w.send(sampling(61, progressToken=token_a))
    assert methods(ch_a) == ["sampling/createMessage"]


async def test_server_request_goes_to_the_only_session_with_a_tool_call_in_flight() -> None:
    w = World()
    busy = await w.session({"sampling": {}})
    listing = await w.session({"sampling": {}})
    ch = call(w.mux, busy, 1, name="t")
    call(w.mux, listing, 1, "tools/list")  # newer, but a listing does not sample (SEP-2260)
    w.send(sampling(62))
    assert methods(ch) == ["sampling/createMessage"]


async def test_timeout_answers_and_cancels_upstream() -> None:
    w = World(timeout=0.05)
    a = await w.session()
    ch = call(w.mux, a, "slow")
    ch.waiter = asyncio.get_running_loop().create_future()
    await asyncio.wait_for(ch.waiter, 5)
    assert final(ch)["error"]["code"] == jsonrpc.REQUEST_TIMEOUT
    cancelled = w.written("notifications/cancelled")
    assert cancelled[0]["params"]["requestId"] == w.written("tools/call")[0]["id"]


async def test_progress_restarts_the_timeout_of_its_request_only() -> None:
    w = World(timeout=0.3)
    a = await w.session()
    alive = call(w.mux, a, "alive", _meta={"progressToken": "p"})
    quiet = call(w.mux, a, "quiet")
    quiet.waiter = asyncio.get_running_loop().create_future()
    upstream = w.written("tools/call")[0]["id"]
    while not quiet.done:  # one timer for the mux: it must still see both deadlines
        w.send(
            {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": "p"}}
        )
        await asyncio.wait({quiet.waiter}, timeout=0.03)
    assert final(quiet)["error"]["code"] == jsonrpc.REQUEST_TIMEOUT
    for _ in range(12):  # well past the timeout, kept alive by progress
        w.send(
            {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": "p"}}
        )
        await asyncio.sleep(0.03)
    assert not alive.done
    w.reply(upstream, {"content": []})
    assert json.loads(alive.messages[-1])["result"] == {"content": []}


async def test_progress_tokens_stay_apart_across_sessions() -> None:
    w = World()
    a, b = await w.session(), await w.session()
    ca = call(w.mux, a, 1, _meta={"progressToken": 1})
    cb = call(w.mux, b, 1, _meta={"progressToken": 1})
    tokens = [m["params"]["_meta"]["progressToken"] for m in w.written("tools/call")]
    assert tokens[0] == 1 and tokens[1] != 1
    w.send(
        {
            "jsonrpc": "2.0",
            "method": "notifications/progress",
            "params": {"progressToken": tokens[1], "progress": 1},
        }
    )
    w.send(
        {
            "jsonrpc": "2.0",
            "method": "notifications/progress",
            "params": {"progressToken": 1, "progress": 2},
        }
    )
    assert [json.loads(m)["params"] for m in cb.messages] == [{"progressToken": 1, "progress": 1}]
    assert [json.loads(m)["params"]["progress"] for m in ca.messages] == [2]


async def test_notifications_routing() -> None:
    w = World()
    a, b = await w.session(), await w.session()
    box_a, box_b = Outbox(), Outbox()
    a.attach(box_a)
    b.attach(box_b)
    w.send({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
    assert box_a.queue.qsize() == box_b.queue.qsize() == 1
    # A log line while only b has a request in flight belongs to b's request.
    ch = call(w.mux, b, 3)
    w.send(
        {
            "jsonrpc": "2.0",
            "method": "notifications/message",
            "params": {"level": "info", "data": "x"},
        }
    )
    assert box_a.queue.qsize() == 1
    assert json.loads(ch.messages[0])["method"] == "notifications/message"
