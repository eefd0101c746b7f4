"""SSE resumability (MCP 2025-11-25 Streamable HTTP, "Resumability and Redelivery")
against a real stdio process (tests/fixtures/gw_mux_server.py), with raw HTTP: the
client drops a stream mid-way, reconnects with ``Last-Event-ID`` and must get every
missed message exactly once, on the stream it lost."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from switchboard.engine import Engine
from tests.fixtures.gw_helpers import RawClient, rpc

pytestmark = pytest.mark.timeout(60)


@dataclass
class Event:
    id: str | None
    data: dict[str, Any] | None


async def events(response: httpx.Response) -> AsyncIterator[Event]:
    """SSE events as they arrive (comments skipped; priming events have data None)."""
    event_id: str | None = None
    data: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if event_id is not None or data:
                payload = "\n".join(data)
                yield Event(event_id, json.loads(payload) if payload else None)
            event_id, data = None, []
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())


def ticks_call(count: int, msg_id: int = 5) -> dict[str, Any]:
    params = {
        "name": "ticks",
        "arguments": {"count": count, "interval": 0.01},
        "_meta": {"progressToken": "t"},
    }
    return rpc("tools/call", params, msg_id)


async def read_until_progress(
    http: httpx.AsyncClient, a: RawClient, body: dict[str, Any], seen: list[Event]
) -> None:
    """POST ``body``, read up to the first progress notification, then drop the stream."""
    async with http.stream("POST", a.url, json=body, headers=a.headers()) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        async for ev in events(r):
            seen.append(ev)
            if ev.data is not None:
                break  # leave mid-stream: the connection closes


async def resume(
    http: httpx.AsyncClient, a: RawClient, last_event_id: str, seen: list[Event]
) -> httpx.Response:
    async with http.stream(
        "GET", a.url, headers={**a.headers(), "last-event-id": last_event_id}
    ) as r:
        assert r.status_code == 200
        async for ev in events(r):  # a resumed POST stream ends after the response
            seen.append(ev)
        return r


def check_exactly_once(seen: list[Event], count: int, msg_id: int) -> None:
    ids = [ev.id for ev in seen]
    assert None not in ids, "every event has an id"
    assert len(set(ids)) == len(ids), f"event ids repeat: {ids}"
    assert len({i.split("-")[0] for i in ids if i}) == 1, "all on the POST's stream"
    messages = [ev.data for ev in seen if ev.data is not None]
    progress = [m["params"]["progress"] for m in messages if m.get("method")]
    assert progress == list(range(1, count + 1))
    finals = [m for m in messages if "method" not in m]
    assert len(finals) == 1
    assert finals[0]["id"] == msg_id
    assert finals[0]["result"]["content"][0]["text"] == f"ticked {count}"


async def test_post_stream_resumes_mid_request(http: httpx.AsyncClient, mux_url: str) -> None:
    a = RawClient(http, mux_url)
    await a.initialize()
    seen: list[Event] = []
    await read_until_progress(http, a, ticks_call(12), seen)
    assert seen[0].data is None and seen[0].id  # the priming event
    last = seen[-1].id
    assert last is not None
    await resume(http, a, last, seen)
    check_exactly_once(seen, 12, 5)


async def test_post_stream_resumes_after_the_request_finished(
    http: httpx.AsyncClient, engine: Engine, mux_url: str
) -> None:
    a = RawClient(http, mux_url)
    await a.initialize()
    seen: list[Event] = []
    await read_until_progress(http, a, ticks_call(6, msg_id=9), seen)
    session = engine.gateway.sessions[a.session_id or ""]
    channel = next(iter(session.post_streams.values()))
    for _ in range(500):  # the rest arrives while nobody listens
        if channel.done:
            break
        await asyncio.sleep(0.01)
    assert channel.done
    last = seen[-1].id
    assert last is not None
    await resume(http, a, last, seen)
    check_exactly_once(seen, 6, 9)
    assert not session.post_streams  # delivered: nothing kept for it any more
    # Resuming again from the priming id replays the whole stream from the buffer.
    again: list[Event] = []
    assert seen[0].id is not None
    await resume(http, a, seen[0].id, again)
    assert [ev.id for ev in again] == [ev.id for ev in seen[1:]]


async def test_get_stream_resumes_with_missed_notifications(
    http: httpx.AsyncClient, mux_url: str
) -> None:
    a, b = RawClient(http, mux_url), RawClient(http, mux_url)
    await a.initialize()
    await b.initialize()
    res = await a.call("resources/subscribe", {"uri": "file:///x"})
    assert res["result"] == {}

    async def touch(n: int) -> None:
        # b touches (its own POST gets the answer); a, subscribed, gets the update.
        res = await b.call("tools/call", {"name": "touch", "arguments": {"uri": "file:///x"}}, n)
        assert res["result"]["content"][0]["text"] == "touched"

    seen: list[Event] = []
    async with http.stream("GET", mux_url, headers=a.headers()) as r:
        assert r.status_code == 200
        stream = events(r)
        first = await anext(stream)
        assert first.data is None and first.id  # priming
        seen.append(first)
        await touch(1)
        seen.append(await anext(stream))
    for n in range(2, 5):  # while a's GET stream is gone
        await touch(n)
    last = seen[-1].id
    assert last is not None
    async with http.stream("GET", mux_url, headers={**a.headers(), "last-event-id": last}) as r:
        assert r.status_code == 200
        stream = events(r)
        while len([e for e in seen if e.data is not None]) < 4:
            seen.append(await asyncio.wait_for(anext(stream), 10))
        await touch(5)  # the resumed stream carries on
        seen.append(await asyncio.wait_for(anext(stream), 10))
    updates = [e for e in seen if e.data is not None]
    assert len(updates) == 5
    assert all(e.data and e.data["method"] == "notifications/resources/updated" for e in updates)
    ids = [e.id for e in seen]
    assert None not in ids and len(set(ids)) == len(ids)
    assert len({i.split("-")[0] for i in ids if i}) == 1  # one stream, resumed


@pytest.mark.parametrize("last_event_id", ["garbage", "G99-1", "P1-999999", "P1-", "X1-1"])
async def test_unknown_last_event_id_gives_a_fresh_stream(
    http: httpx.AsyncClient, mux_url: str, last_event_id: str
) -> None:
    a = RawClient(http, mux_url)
    await a.initialize()
    seen: list[Event] = []
    await read_until_progress(http, a, ticks_call(3), seen)  # stream P1 has events
    async with http.stream(
        "GET", mux_url, headers={**a.headers(), "last-event-id": last_event_id}
    ) as r:
        assert r.status_code == 200
        first = await anext(events(r))
        assert first.data is None  # the priming event of a new stream, nothing replayed
        assert first.id is not None and first.id.startswith("G")


async def test_event_ids_of_another_session_replay_nothing(
    http: httpx.AsyncClient, mux_url: str
) -> None:
    a, b = RawClient(http, mux_url), RawClient(http, mux_url)
    await a.initialize()
    await b.initialize()
    seen: list[Event] = []
    await read_until_progress(http, a, ticks_call(3), seen)
    last = seen[-1].id
    assert last is not None
    async with http.stream("GET", mux_url, headers={**b.headers(), "last-event-id": last}) as r:
        first = await anext(events(r))
        assert first.data is None  # b gets its own fresh stream, none of a's events


class CuttableProxy:
    """A loopback TCP proxy in front of the gateway whose connections the test can cut
    (what a network drop or a sleeping laptop does to a client)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.transports: list[asyncio.WriteTransport] = []
        self.connections = 0
        self.requests = bytearray()
        """Everything clients sent (plain HTTP/1.1), to see what they asked."""

    async def start(self) -> asyncio.Server:
        return await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.transports += [writer.transport, up_writer.transport]

        async def pipe(
            src: asyncio.StreamReader, dst: asyncio.StreamWriter, log: bytearray | None
        ) -> None:
            try:
                while data := await src.read(65536):
                    if log is not None:
                        log += data
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer, self.requests), pipe(up_reader, writer, None))

    def cut(self) -> None:
        for transport in self.transports:
            transport.abort()
        self.transports.clear()


async def test_sdk_client_resumes_a_cut_tool_call(engine: Engine, mux_url: str) -> None:
    from mcp import Client

    assert engine.listener is not None
    proxy = CuttableProxy(engine.listener.port)
    server = await proxy.start()
    port = server.sockets[0].getsockname()[1]
    url = mux_url.replace(f":{engine.listener.port}/", f":{port}/")
    ticks: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        ticks.append(progress)
        if len(ticks) == 1:
            proxy.cut()  # the POST's SSE stream (and the GET stream) drop mid-call

    try:
        async with Client(url) as client:
            result = await client.call_tool(
                "ticks", {"count": 10, "interval": 0.02}, progress_callback=on_progress
            )
            block = result.content[0]
            assert getattr(block, "text", None) == "ticked 10"
            assert ticks == [float(i) for i in range(1, 11)]  # each exactly once
            assert b"\r\nlast-event-id: p" in proxy.requests.lower()  # resumed the POST stream
    finally:
        server.close()
        proxy.cut()


async def test_no_priming_event_for_clients_before_2025_11_25(
    http: httpx.AsyncClient, mux_url: str
) -> None:
    # Older SDKs parse every event's data as JSON: an empty priming event would fail them.
    first = RawClient(http, mux_url)
    await first.initialize()
    old = RawClient(http, mux_url)
    params = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "o"}}
    r = await http.post(mux_url, json=rpc("initialize", params, 0), headers=old.headers())
    assert r.json()["result"]["protocolVersion"] == "2025-06-18"
    old.session_id = r.headers["mcp-session-id"]
    headers = {**old.headers(), "mcp-protocol-version": "2025-06-18"}
    async with http.stream("POST", mux_url, json=ticks_call(2), headers=headers) as r:
        seen = [ev async for ev in events(r)]
    assert all(ev.data is not None and ev.id for ev in seen)  # ids, but no priming
    check_exactly_once(seen, 2, 5)
