"""The replay buffer behind Last-Event-ID: ids unique per session, replay per stream,
bounded by events and bytes; and a session hands unsent messages on at detach."""

from __future__ import annotations

import asyncio
import re
from collections.abc import MutableMapping
from typing import Any

from switchboard.gateway.gateway import Gateway
from switchboard.gateway.mux import Outbox, PostChannel, Session
from switchboard.gateway.resumption import GET, POST, ReplayBuffer
from tests.helpers.hosts import FakeHost


def ids(frames: list[bytes]) -> list[str]:
    return [re.match(rb"id: (\S+)\n", f).group(1).decode() for f in frames]  # type: ignore[union-attr]


def test_ids_are_unique_across_streams_and_replay_stays_on_its_stream() -> None:
    buf = ReplayBuffer()
    p, g = buf.new_stream(POST), buf.new_stream(GET)
    assert (p, g) == (b"P1", b"G2")
    prime = buf.prime(p)
    assert prime == b"id: P1-1\ndata: \n\n"
    frames = [buf.event(p, b"1"), buf.event(g, b"2"), buf.event(p, b"3"), buf.event(g, b"4")]
    assert ids(frames) == ["P1-2", "G2-3", "P1-4", "G2-5"]
    assert frames[0] == b"id: P1-2\nevent: message\ndata: 1\n\n"
    assert buf.after("P1-1") == (b"P1", [frames[0], frames[2]])
    assert buf.after("P1-2") == (b"P1", [frames[2]])
    assert buf.after("G2-3") == (b"G2", [frames[3]])
    assert buf.after("G2-5") == (b"G2", [])


def test_unknown_ids_are_none() -> None:
    buf = ReplayBuffer()
    p = buf.new_stream(POST)
    buf.event(p, b"x")
    for bad in ("", "garbage", "P1", "P1-", "-1", "P-1", "Px-1", "X1-1", "P2-1", "P1-3", "G1-1x"):
        assert buf.after(bad) is None, bad
    assert buf.after(" P1-0 ") is not None


def test_bounded_by_events_and_bytes() -> None:
    buf = ReplayBuffer(max_events=3, max_bytes=10)
    s = buf.new_stream(GET)
    for i in range(5):
        buf.event(s, b"%d" % i)
    assert len(buf) == 3
    found = buf.after("G1-0")
    assert found is not None
    assert ids(found[1]) == ["G1-3", "G1-4", "G1-5"]  # the oldest went first
    buf.event(s, b"123456789")  # 9 bytes: with "4" exactly at the 10-byte cap
    found = buf.after("G1-0")
    assert found is not None
    assert ids(found[1]) == ["G1-5", "G1-6"]
    buf.event(s, b"x" * 11)  # over the cap alone: sent, not kept
    assert len(buf) == 0


def test_detach_hands_unsent_messages_to_the_next_stream() -> None:
    session = Session("s")
    first = Outbox(b"G1")
    session.attach(first)
    session.send(b"a")
    session.send(b"b")
    session.detach(first)
    assert first.closed
    assert list(session.backlog) == [b"a", b"b"]  # no stream open: kept for the next
    second = Outbox(b"G2")
    session.attach(second)
    assert second.drain() == [b"a", b"b"]


class Response:
    """One HTTP response as the ASGI app writes it; the client never leaves."""

    def __init__(self) -> None:
        self.body = b""
        self.ended = False
        self.gone = asyncio.Event()
        self.started = asyncio.Event()
        """Set by the test: the response start is written (a slow socket until then)."""

    async def receive(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            await self.started.wait()
        if message["type"] == "http.response.body":
            self.body += message.get("body", b"")
            self.ended = not message.get("more_body", False)


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_a_resumption_takes_a_live_post_stream_over() -> None:
    gw = Gateway(FakeHost())  # type: ignore[arg-type]
    session = Session("s")
    channel = PostChannel(sse_ok=True)
    channel.push(b'{"n":1}', False)
    old, new = Response(), Response()
    old.started.set()
    first = asyncio.ensure_future(
        gw.streamable.post_stream(old.receive, old.send, session, channel, None)
    )
    await settle()
    assert b'{"n":1}' in old.body
    # The client reconnects before the gateway noticed it left (no disconnect seen yet).
    assert channel.label is not None
    last = ids([f + b"\n\n" for f in old.body.split(b"\n\n") if f])[-1]
    found = session.replay.after(last)
    assert found == (channel.label, [])
    second = asyncio.ensure_future(
        gw.streamable.post_stream(new.receive, new.send, session, channel, found[1])
    )
    await asyncio.sleep(0)  # the new response takes over and is starting
    # A message comes before the old response (woken by the takeover) has run: it must
    # leave it for the new one.
    channel.push(b'{"n":2}', False)
    await settle()
    assert first.done()  # the old response stepped aside
    new.started.set()
    await settle()
    channel.push(b'{"n":3}', True)
    await asyncio.wait_for(second, 5)
    assert b'{"n":2}' not in old.body and not old.ended
    assert b'{"n":2}' in new.body and b'{"n":3}' in new.body and new.ended
    assert not session.post_streams
