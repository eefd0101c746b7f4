"""SSE event ids and the per-session replay buffer (MCP 2025-11-25, Streamable HTTP
transport, "Resumability and Redelivery").

Every event the gateway writes on a session's SSE streams (a POST's response stream or
a GET stream) carries an id that is unique within the session: ``<stream>-<seq>``,
where ``<stream>`` names the stream (``P3``: the third stream of the session, a POST
response; ``G4``: a GET stream) and ``<seq>`` counts every event of the session. A
client that lost a stream sends ``GET`` with ``Last-Event-ID``; the gateway replays the
events of *that* stream after that id (never those of another stream) and continues
it: a POST stream until its response, a GET stream for as long as the client stays.

A POST whose response comes before any other message is answered as plain JSON (the
hot path): no stream, no id, nothing to resume; a client that loses that response
retries the request. Only once the server sends something for the request first does
the answer become a stream (priming event first for 2025-11-25 clients).

The buffer is bounded per session: at most :data:`REPLAY_EVENTS` events and
:data:`REPLAY_BYTES` bytes of message data, the oldest dropped first (one message
larger than the byte cap is sent but not kept). Events dropped from the buffer cannot
be replayed; an id the buffer does not know (malformed, from another session, or for a
stream that has nothing left to give) replays nothing and the client gets a fresh GET
stream, as the spec allows ("MAY ... replay").
"""

from __future__ import annotations

import collections

REPLAY_EVENTS = 256
"""Events kept per session for replay."""
REPLAY_BYTES = 1024 * 1024
"""Bytes of message data kept per session for replay."""

POST = b"P"
GET = b"G"


def _frame(stream: bytes, seq: int, message: bytes) -> bytes:
    return b"id: %s-%d\nevent: message\ndata: %s\n\n" % (stream, seq, message)


class ReplayBuffer:
    """Numbers a session's SSE events and keeps the latest ones for ``Last-Event-ID``."""

    __slots__ = ("_events", "_seq", "_size", "_streams", "max_bytes", "max_events")

    def __init__(self, max_events: int = REPLAY_EVENTS, max_bytes: int = REPLAY_BYTES) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self._events: collections.deque[tuple[bytes, int, bytes]] = collections.deque()
        self._size = 0
        self._seq = 0
        self._streams = 0

    def __len__(self) -> int:
        return len(self._events)

    def new_stream(self, kind: bytes) -> bytes:
        """A new stream name (``kind`` is :data:`POST` or :data:`GET`)."""
        self._streams += 1
        return kind + b"%d" % self._streams

    def event(self, stream: bytes, message: bytes) -> bytes:
        """Number ``message`` as the next event of ``stream``, keep it, return the frame."""
        self._seq += 1
        seq = self._seq
        events = self._events
        events.append((stream, seq, message))
        self._size += len(message)
        while len(events) > self.max_events or self._size > self.max_bytes:
            self._size -= len(events.popleft()[2])
        return _frame(stream, seq, message)

    def prime(self, stream: bytes) -> bytes:
        """The priming event (an id, empty data) a 2025-11-25 stream starts with, so the
        client can resume even before the first message."""
        self._seq += 1
        return b"id: %s-%d\ndata: \n\n" % (stream, self._seq)

    def after(self, last_event_id: str) -> tuple[bytes, list[bytes]] | None:
        """``(stream, frames)``: the kept events of the stream ``last_event_id`` belongs
        to that came after it. None for an id this session never gave out."""
        stream_s, sep, seq_s = last_event_id.strip().rpartition("-")
        if not sep or not seq_s.isdigit() or len(stream_s) < 2 or not stream_s[1:].isdigit():
            return None
        stream = stream_s.encode("ascii", "replace")
        if stream[:1] not in (POST, GET) or int(stream[1:]) > self._streams:
            return None
        seq = int(seq_s)
        if seq > self._seq:
            return None
        frames = [_frame(s, q, m) for s, q, m in self._events if s == stream and q > seq]
        return stream, frames
