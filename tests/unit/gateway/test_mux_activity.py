"""What the mux tells the activity sink (issue 15.2): one record per request at the end
of its life, with the right outcome; nothing when there is no sink."""

from __future__ import annotations

import asyncio

from switchboard.core.activity import CANCELLED, ERROR, OK, TIMEOUT, ActivityRecord, RecordView
from switchboard.gateway import jsonrpc
from switchboard.gateway.mux import StdioMux
from tests.unit.gateway.test_mux import World, call, final


class Sink:
    def __init__(self) -> None:
        self.records: list[RecordView] = []

    def record(self, record: ActivityRecord) -> None:
        assert type(record) is tuple  # a plain tuple: no per-request object for the GC
        self.records.append(RecordView._make(record))


def recording(timeout: float = 30.0) -> tuple[World, Sink]:
    w = World(timeout)
    sink = Sink()
    w.mux = StdioMux("srv", lambda: w.stream, timeout=lambda: w.timeout, activity=sink)
    return w, sink


async def test_every_outcome() -> None:
    w, sink = recording()
    session = await w.session()
    session.owner = ("client-1", "person")
    session.via = "team"
    assert [r.method for r in sink.records] == ["initialize"]
    ok = call(w.mux, session, 1, name="echo", arguments={"text": "hi"})
    failed = call(w.mux, session, 2, "prompts/get", name="missing")
    read = call(w.mux, session, 3, "resources/read", uri="file:///x")
    cancelled = call(w.mux, session, 4, name="slow")
    sent = w.written("tools/call") + w.written("prompts/get") + w.written("resources/read")
    by_name = {m["params"].get("name") or m["params"].get("uri"): m["id"] for m in sent}
    w.reply(by_name["echo"], {"content": []})
    w.send({"jsonrpc": "2.0", "id": by_name["missing"],
            "error": {"code": -32602, "message": "no such prompt"}})  # fmt: skip
    w.mux.notify(session, {"jsonrpc": "2.0", "method": "notifications/cancelled",
                           "params": {"requestId": 4}})  # fmt: skip
    assert final(ok)["result"] == {"content": []} and final(failed)["error"]["code"] == -32602
    assert cancelled.cancelled and not read.done
    w.kill()  # the process dies with resources/read waiting
    assert final(read)["error"]["code"] == jsonrpc.SERVER_UNAVAILABLE
    got = {r.target: r for r in sink.records[1:]}
    assert {t: (r.method, r.outcome, r.code) for t, r in got.items()} == {
        "echo": ("tools/call", OK, None),
        "missing": ("prompts/get", ERROR, -32602),
        "slow": ("tools/call", CANCELLED, None),
        "file:///x": ("resources/read", ERROR, jsonrpc.SERVER_UNAVAILABLE),
    }
    echo = got["echo"]
    assert (echo.server, echo.via, echo.client_id, echo.subject) == (
        "srv",
        "team",
        "client-1",
        "person",
    )
    assert echo.session == session.id and echo.duration >= 0
    assert echo.request is not None and b'"text":"hi"' in echo.request
    assert echo.request_size == len(echo.request) and echo.response_size > 0
    assert got["slow"].response is None and got["slow"].response_size == 0


async def test_timeouts_and_invalid_answers() -> None:
    w, sink = recording(timeout=0.05)
    session = await w.session()
    ch = call(w.mux, session, 1, name="never")
    for _ in range(200):
        if ch.done:
            break
        await asyncio.sleep(0.01)
    assert final(ch)["error"]["code"] == jsonrpc.REQUEST_TIMEOUT
    w.timeout = 30.0
    bad = call(w.mux, session, 2, name="bad")
    w.send({"jsonrpc": "2.0", "id": w.written("tools/call")[-1]["id"]})  # no result, no error
    assert final(bad)["error"]["code"] == jsonrpc.INTERNAL_ERROR
    outcomes = {r.target: (r.outcome, r.code) for r in sink.records if r.target}
    assert outcomes == {
        "never": (TIMEOUT, jsonrpc.REQUEST_TIMEOUT),
        "bad": (ERROR, jsonrpc.INTERNAL_ERROR),
    }


async def test_no_sink_no_records() -> None:
    w = World()
    session = await w.session()
    ch = call(w.mux, session, 1, name="echo")
    (pending,) = w.mux.pending.values()
    # Not recording: no clock read, no reference kept to the request, no name looked up.
    assert (pending.started, pending.raw, pending.target) == (0.0, b"", None)
    w.reply(w.written("tools/call")[0]["id"], {})
    assert final(ch)["result"] == {}
