"""Who a server's request goes to (sampling, elicitation, roots), the one-at-a-time line
that makes that exact, and cancellation: StdioMux with an in-memory stdio stream."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from switchboard.core.spec import Isolation
from switchboard.gateway import jsonrpc
from switchboard.gateway.mux import Outbox
from tests.unit.gateway.test_mux import World, call, final, methods, sampling


def upstream_calls(w: World) -> list[dict[str, Any]]:
    return w.written("tools/call")


def answer_to(w: World, msg_id: Any) -> dict[str, Any]:
    """What the mux wrote to the server for its request ``msg_id``."""
    found = [m for m in w.writer.lines if m.get("id") == msg_id and "method" not in m]
    assert len(found) == 1, found
    return found[0]


async def test_a_caller_without_sampling_is_refused_and_an_idle_bystander_sees_nothing() -> None:
    w = World()
    plain = await w.session()
    bystander = await w.session({"sampling": {}})
    box = Outbox()
    bystander.attach(box)
    ch = call(w.mux, plain, 1, name="sample")
    w.send(sampling(50))
    assert box.queue.empty() and methods(ch) == []
    refused = answer_to(w, 50)
    assert refused["error"]["code"] == jsonrpc.METHOD_NOT_FOUND
    assert "sampling" in refused["error"]["message"]
    assert not ch.done  # the plain call is still the server's to answer
    w.reply(upstream_calls(w)[0]["id"], {"content": [], "isError": True})
    assert final(ch)["result"]["isError"]
    # The bystander's own call is asked (and answers) as usual.
    ch_b = call(w.mux, bystander, 2, name="sample")
    w.send(sampling(51))
    assert methods(ch_b) == ["sampling/createMessage"]
    w.mux.notify(bystander, {"jsonrpc": "2.0", "id": 51, "result": {"ok": 1}})
    assert answer_to(w, 51) == {"jsonrpc": "2.0", "id": 51, "result": {"ok": 1}}


async def test_an_idle_client_is_never_asked() -> None:
    w = World()
    idle = await w.session({"sampling": {}, "roots": {}})
    box = Outbox()
    idle.attach(box)
    w.send(sampling(52))
    w.send({"jsonrpc": "2.0", "id": 53, "method": "roots/list"})
    assert box.queue.empty()
    assert answer_to(w, 52)["error"]["code"] == jsonrpc.INVALID_REQUEST
    assert answer_to(w, 53)["error"]["code"] == jsonrpc.METHOD_NOT_FOUND  # roots: never
    # A listing in flight does not cause server requests (SEP-2260).
    call(w.mux, idle, 1, "tools/list")
    w.send(sampling(54))
    assert box.queue.empty() and "error" in answer_to(w, 54)


async def test_auto_refuses_an_ambiguous_request_then_runs_requests_one_at_a_time() -> None:
    w = World()
    a, b, c = [await w.session({"sampling": {}}) for _ in range(3)]
    chans = [
        call(w.mux, s, 1, name="sample", arguments={"text": n}) for s, n in ((a, "a"), (b, "b"))
    ]
    assert not w.mux.serial
    w.send(sampling(60))  # two clients' calls in flight, no token: refused, not guessed
    assert answer_to(w, 60)["error"]["code"] == jsonrpc.INVALID_REQUEST
    assert all(methods(ch) == [] for ch in chans)
    assert w.mux.serial
    # From now on a new causing request waits until the running ones are done...
    ch_c = call(w.mux, c, 1, name="sample")
    assert len(upstream_calls(w)) == 2
    listing = call(w.mux, c, 2, "tools/list")  # ...but a listing does not wait.
    assert w.written("tools/list")
    w.reply(w.written("tools/list")[0]["id"], {"tools": []})
    assert final(listing)["result"] == {"tools": []}
    first, second = upstream_calls(w)
    w.reply(first["id"], {"content": []})
    assert len(upstream_calls(w)) == 2  # b's call still runs
    w.reply(second["id"], {"content": []})
    assert len(upstream_calls(w)) == 3  # c's turn
    w.send(sampling(61))
    assert methods(ch_c) == ["sampling/createMessage"]


async def test_serial_each_caller_gets_exactly_its_own_server_request() -> None:
    w = World()
    w.mux.set_isolation(Isolation.SERIAL)
    sessions = [await w.session({"sampling": {}}) for _ in range(4)]
    chans = [call(w.mux, s, "same-id", name="sample") for s in sessions]
    for i, ch in enumerate(chans):
        sent = upstream_calls(w)
        assert len(sent) == i + 1  # one at a time, in order
        w.send(sampling(100 + i))
        assert methods(ch) == ["sampling/createMessage"]
        assert all(methods(other) == [] for other in chans if other is not ch)
        w.mux.notify(sessions[i], {"jsonrpc": "2.0", "id": 100 + i, "result": {"n": i}})
        assert answer_to(w, 100 + i)["result"] == {"n": i}
        w.reply(sent[-1]["id"], {"content": [], "n": i})
        assert final(ch)["result"]["n"] == i
        ch.messages.clear()


async def test_a_progress_token_routes_exactly_and_does_not_serialize() -> None:
    w = World()
    a, b = await w.session({"sampling": {}}), await w.session({"sampling": {}})
    ch_a = call(w.mux, a, 1, name="t", _meta={"progressToken": "ta"})
    ch_b = call(w.mux, b, 1, name="t", _meta={"progressToken": "tb"})
    w.send(sampling(70, progressToken="ta"))
    assert methods(ch_a) == ["sampling/createMessage"] and methods(ch_b) == []
    assert not w.mux.serial
    call(w.mux, a, 2, name="t")
    assert len(upstream_calls(w)) == 3


async def test_shared_never_queues_and_refuses_what_it_cannot_prove() -> None:
    w = World()
    w.mux.set_isolation(Isolation.SHARED)
    a, b = await w.session({"sampling": {}}), await w.session({"sampling": {}})
    ch_a = call(w.mux, a, 1, name="t")
    w.send(sampling(80))  # only a's call runs: exact
    assert methods(ch_a) == ["sampling/createMessage"]
    ch_b = call(w.mux, b, 1, name="t")
    assert len(upstream_calls(w)) == 2 and not w.mux.serial
    w.send(sampling(81))
    assert answer_to(w, 81)["error"]["code"] == jsonrpc.INVALID_REQUEST
    assert methods(ch_b) == [] and methods(ch_a) == ["sampling/createMessage"]
    # Switching to SHARED lets a line go at once.
    w2 = World()
    w2.mux.set_isolation(Isolation.SERIAL)
    s = await w2.session()
    call(w2.mux, s, 1)
    call(w2.mux, s, 2)
    assert len(upstream_calls(w2)) == 1
    w2.mux.set_isolation(Isolation.SHARED)
    assert len(upstream_calls(w2)) == 2


async def test_cancelling_a_queued_request_never_reaches_the_server() -> None:
    w = World()
    w.mux.set_isolation(Isolation.SERIAL)
    a, b = await w.session(), await w.session()
    running = call(w.mux, a, 1)
    queued = call(w.mux, b, "q")
    queued.waiter = asyncio.get_running_loop().create_future()
    w.mux.notify(
        b, {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "q"}}
    )
    assert queued.done and queued.cancelled and queued.messages == []
    assert queued.waiter.done()  # the HTTP layer wakes up and ends the POST
    assert w.written("notifications/cancelled") == []
    w.reply(upstream_calls(w)[0]["id"], {"content": []})
    assert final(running)["result"] == {"content": []}
    assert len(upstream_calls(w)) == 1  # the cancelled one never went


async def test_queue_time_counts_toward_the_request_timeout() -> None:
    w = World(timeout=0.1)
    w.mux.set_isolation(Isolation.SERIAL)
    a, b = await w.session(), await w.session()
    call(w.mux, a, 1)
    queued = call(w.mux, b, 2)
    queued.waiter = asyncio.get_running_loop().create_future()
    await asyncio.wait_for(queued.waiter, 5)
    err = final(queued)["error"]
    assert err["code"] == jsonrpc.REQUEST_TIMEOUT and "one at a time" in err["message"]
    # Only the running one was cancelled upstream; the queued one never went.
    assert len(upstream_calls(w)) == 1
    assert [m["params"]["requestId"] for m in w.written("notifications/cancelled")] == [
        upstream_calls(w)[0]["id"]
    ]


async def test_a_dead_process_answers_queued_requests_too() -> None:
    w = World()
    w.mux.set_isolation(Isolation.SERIAL)
    a = await w.session()
    chans = [call(w.mux, a, i) for i in range(3)]
    w.kill()
    for ch in chans:
        assert final(ch)["error"]["code"] == jsonrpc.SERVER_UNAVAILABLE
    w.new_process()
    ready = asyncio.ensure_future(w.mux.ensure_ready())
    await w.auto_init()
    await ready
    ch = call(w.mux, a, 9)  # the line starts empty on the new process
    w.reply(upstream_calls(w)[-1]["id"], "ok")
    assert final(ch)["result"] == "ok"


async def test_a_cancelled_request_gets_no_response_and_the_late_answer_is_dropped() -> None:
    w = World()
    a = await w.session()
    ch = call(w.mux, a, "c1")
    w.mux.notify(
        a, {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "c1"}}
    )
    upstream = upstream_calls(w)[0]["id"]
    assert w.written("notifications/cancelled")[0]["params"]["requestId"] == upstream
    assert ch.done and ch.cancelled and ch.messages == []
    w.reply(upstream, "late")
    assert ch.messages == []
    assert not a.inflight and not w.mux.pending
    # requestId 1 does not cancel a request whose id is "1" (nor True one whose id is 1).
    ch2 = call(w.mux, a, "1")
    for rid in (1, True):
        w.mux.notify(
            a, {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": rid}}
        )
    assert not ch2.done


async def test_a_client_that_leaves_mid_question_is_answered_for() -> None:
    w = World()
    a = await w.session({"elicitation": {}})
    call(w.mux, a, 1, name="ask")
    w.send({"jsonrpc": "2.0", "id": 90, "method": "elicitation/create", "params": {}})
    w.mux.close_session(a)
    assert answer_to(w, 90)["error"]["code"] == jsonrpc.INTERNAL_ERROR


async def test_the_answer_is_taken_only_from_the_session_asked() -> None:
    w = World()
    a, b = await w.session({"sampling": {}}), await w.session({"sampling": {}})
    ch = call(w.mux, a, 1, name="t")
    w.send(sampling(95))
    assert methods(ch) == ["sampling/createMessage"]
    w.mux.notify(b, {"jsonrpc": "2.0", "id": 95, "result": {"from": "b"}})
    assert [m for m in w.writer.lines if m.get("id") == 95] == []
    w.mux.notify(a, {"jsonrpc": "2.0", "id": 95, "result": {"from": "a"}})
    assert answer_to(w, 95)["result"] == {"from": "a"}
    assert json.loads(ch.messages[0])["id"] == 95


async def test_log_messages_skip_sessions_that_only_wait_in_line() -> None:
    w = World()
    w.mux.set_isolation(Isolation.SERIAL)
    a, b = await w.session(), await w.session()
    running = call(w.mux, a, 1)
    waiting = call(w.mux, b, 1)
    box_b = Outbox()
    b.attach(box_b)
    c = await w.session()
    listing = call(w.mux, c, 1, "tools/list")
    w.send({"jsonrpc": "2.0", "method": "notifications/message", "params": {"data": "a's"}})
    assert methods(running) == ["notifications/message"]
    assert methods(waiting) == [] and box_b.queue.empty()
    assert methods(listing) == []  # a listing does not log for a tool call


async def test_an_oversize_answer_reported_by_the_supervisor_reaches_its_caller_at_once() -> None:
    # The supervisor feeds an error response with the upstream id when a response line is
    # over its limit (branch supervisor, process._oversized); the mux restores the id.
    w = World()
    a = await w.session()
    ch = call(w.mux, a, "big")
    error = {"code": jsonrpc.INTERNAL_ERROR, "message": "larger than the 16 MiB limit"}
    w.send({"jsonrpc": "2.0", "id": upstream_calls(w)[0]["id"], "error": error})
    assert final(ch) == {"jsonrpc": "2.0", "id": "big", "error": error}


async def test_end_of_stdout_answers_every_waiting_call_at_once() -> None:
    # stdout closing (EOF) ends the stream the same way a dead process does.
    w = World()
    a = await w.session()
    ch = call(w.mux, a, 1)
    assert w.stream is not None
    w.stream._end()
    assert final(ch)["error"]["code"] == jsonrpc.SERVER_UNAVAILABLE
    assert not w.mux.ready()


async def test_a_closed_session_leaves_the_line() -> None:
    w = World()
    w.mux.set_isolation(Isolation.SERIAL)
    a, b, c = [await w.session() for _ in range(3)]
    call(w.mux, a, 1)
    call(w.mux, b, 1)
    last = call(w.mux, c, 1)
    w.mux.close_session(b)
    w.reply(upstream_calls(w)[0]["id"], {})
    assert len(upstream_calls(w)) == 2  # c's turn, not b's
    w.reply(upstream_calls(w)[1]["id"], {"c": 1})
    assert final(last)["result"] == {"c": 1}


async def test_a_request_outside_any_call_is_refused_without_lining_calls_up() -> None:
    # server-filesystem asks roots/list right after initialize: no caller, and no reason
    # to give up concurrency (nothing was running that it could belong to).
    w = World()
    a = await w.session({"roots": {}})
    w.send({"jsonrpc": "2.0", "id": 40, "method": "roots/list"})
    assert answer_to(w, 40)["error"]["code"] == jsonrpc.METHOD_NOT_FOUND
    assert not w.mux.serial
    call(w.mux, a, 1)
    call(w.mux, a, 2)
    assert len(upstream_calls(w)) == 2
