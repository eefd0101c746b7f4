"""The client side of the stdio multiplexer: sessions, their requests, and the channels
their messages go to (the session table itself is the gateway's, ``sessions.py``); and
:class:`Unavailable`, what the mux raises when the server cannot take requests.

A :class:`Session` is one client session (``Mcp-Session-Id`` or a legacy SSE
``session_id``); each request it sends becomes a :class:`Pending` whose replies go to a
:class:`Channel`: the POST's own response (:class:`PostChannel`), or an SSE stream
(:class:`Outbox`). :class:`~switchboard.gateway.mux.StdioMux` moves messages between
these and the server process.
"""

from __future__ import annotations

import asyncio
import collections
import secrets
import time
from typing import Any, Protocol

from switchboard.gateway import jsonrpc
from switchboard.gateway.initialization import LATEST_VERSION
from switchboard.gateway.resumption import ReplayBuffer

BACKLOG = 1000
"""Messages kept for a session that has no open stream to receive them."""
POST_STREAMS = 32
"""Unfinished POST response streams a session keeps for resumption (oldest go first)."""


class Unavailable(Exception):
    """The server cannot take requests now; ``state`` names why (for the 503 body)."""

    def __init__(self, message: str, state: str) -> None:
        super().__init__(message)
        self.state = state


class Channel(Protocol):
    """Where the messages of one client request go (a POST's response, an SSE stream)."""

    def push(self, message: bytes, final: bool) -> None: ...


class PostChannel:
    """The response of one Streamable HTTP POST: the final response, and any requests or
    notifications that belong to it (then the handler answers with an SSE stream)."""

    __slots__ = ("cancelled", "done", "label", "messages", "owner", "sse_ok", "waiter")

    def __init__(self, sse_ok: bool) -> None:
        self.messages: list[bytes] = []
        self.done = False
        self.cancelled = False
        """Ended by the client's ``notifications/cancelled``: no response follows."""
        self.sse_ok = sse_ok
        self.waiter: asyncio.Future[None] | None = None
        self.label: bytes | None = None
        """The SSE stream's name once the response is a stream (see ``resumption.py``)."""
        self.owner: object | None = None
        """The HTTP response currently serving the stream (a resumption takes it over)."""

    async def wait(self) -> None:
        """Until the next message (or the end) of the request."""
        self.waiter = asyncio.get_running_loop().create_future()
        await self.waiter

    def serve(self) -> object:
        """A response starts serving this channel's SSE stream; the one serving it
        before stops (a resumption takes it over). Returns the new owner's token."""
        owner = self.owner = object()
        self.wake()
        self.waiter = None
        return owner

    def take_messages(self) -> list[bytes]:
        """The messages not written yet (they are the caller's now)."""
        batch, self.messages = self.messages, []
        return batch

    async def wait_or(self, other: asyncio.Future[None]) -> None:
        """Until the next message, the end, a takeover, or ``other`` is done."""
        waiter = self.waiter = asyncio.get_running_loop().create_future()
        await asyncio.wait((waiter, other), return_when=asyncio.FIRST_COMPLETED)
        if self.waiter is waiter:
            self.waiter = None

    def release(self, owner: object) -> None:
        """The response ``owner`` stops serving the stream (if it still does)."""
        if self.owner is owner:
            self.owner = None

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def push(self, message: bytes, final: bool) -> None:
        if self.done:
            return
        self.messages.append(message)
        if final:
            self.done = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def cancel(self) -> None:
        """End without a response (the client cancelled the request; MCP 2025-11-25
        ``utilities/cancellation``: the receiver SHOULD NOT respond)."""
        if self.done:
            return
        self.done = self.cancelled = True
        self.wake()


class Outbox:
    """An open SSE stream of a session (GET stream, or the legacy SSE stream)."""

    __slots__ = ("closed", "label", "queue")

    def __init__(self, label: bytes = b"") -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.closed = False
        self.label = label
        """The SSE stream's name for event ids (empty: legacy stream, no ids)."""

    def drain(self) -> list[bytes]:
        """Take the messages not written yet."""
        out = []
        while not self.queue.empty():
            out.append(self.queue.get_nowait())
        return out

    def push(self, message: bytes, final: bool = False) -> None:
        self.queue.put_nowait(message)


class Session:
    """One client session on one server (``Mcp-Session-Id`` or legacy ``session_id``)."""

    def __init__(self, server: str, *, legacy: bool = False) -> None:
        self.id = secrets.token_urlsafe(24)
        self.id_bytes = self.id.encode()
        self.server = server
        self.legacy = legacy
        self.capabilities: dict[str, Any] = {}
        self.protocol_version = LATEST_VERSION
        self.outboxes: list[Outbox] = []
        self.backlog: collections.deque[bytes] = collections.deque(maxlen=BACKLOG)
        self.replay = ReplayBuffer()
        """Event ids and replay for ``Last-Event-ID`` (Streamable HTTP only)."""
        self.post_streams: dict[bytes, PostChannel] = {}
        """POST response streams not finished yet, by stream name (for resumption)."""
        self.inflight: dict[int, Pending] = {}
        """upstream id -> pending request of this session."""
        self.subscriptions: set[str] = set()
        self.closed = False
        self.last_active = time.monotonic()
        self.owner: tuple[str | None, str] | None = None
        """(client_id, subject) of the token that opened the session; None without one
        (set by the gateway; activity recording reads it)."""
        self.via: str | None = None
        """The group whose session opened this one on a member server, else None."""

    def send(self, message: bytes) -> None:
        """Deliver a message that belongs to no particular request of this session."""
        for box in reversed(self.outboxes):
            if not box.closed:
                box.push(message)
                return
        for pending in reversed(self.inflight.values()):
            ch = pending.channel
            if isinstance(ch, PostChannel) and ch.sse_ok and not ch.done:
                ch.push(message, False)
                return
        self.backlog.append(message)

    def attach(self, box: Outbox) -> None:
        self.outboxes.append(box)
        while self.backlog:
            box.push(self.backlog.popleft())

    def detach(self, box: Outbox) -> None:
        box.closed = True
        if box in self.outboxes:
            self.outboxes.remove(box)
        # What the stream had not written yet goes to the next stream (or the backlog).
        for message in box.drain():
            self.send(message)

    def keep_post_stream(self, channel: PostChannel) -> None:
        assert channel.label is not None
        streams = self.post_streams
        streams[channel.label] = channel
        if len(streams) > POST_STREAMS:
            del streams[next(iter(streams))]

    def forget_post_stream(self, label: bytes) -> None:
        """The POST stream ``label`` ended with its response: nothing left to resume."""
        self.post_streams.pop(label, None)

    def resume_stream(self, label: bytes) -> Outbox:
        """A new box for the GET stream ``label`` that a client resumes: an older
        response still serving it (the client's disconnect not noticed yet) hands over
        what it had not written."""
        box = Outbox(label)
        for old in [b for b in self.outboxes if b.label == label]:
            old.closed = True
            self.outboxes.remove(old)
            for message in old.drain():
                box.push(message)
        return box

    def push(self, message: bytes, final: bool) -> None:
        # A legacy session is itself the channel of its requests: all on its SSE stream.
        self.send(message)


class Pending:
    """A client request forwarded upstream and not answered yet."""

    __slots__ = (
        "causing",
        "channel",
        "client_id",
        "deadline",
        "line",
        "method",
        "raw",
        "session",
        "started",
        "target",
        "token",
        "upstream_id",
    )

    def __init__(
        self,
        session: Session,
        client_id: jsonrpc.MessageId,
        upstream_id: int,
        method: str,
        channel: Channel,
    ) -> None:
        self.session = session
        self.client_id = client_id
        self.upstream_id = upstream_id
        self.method = method
        self.channel = channel
        self.deadline = 0.0
        """Loop time after which the request times out (progress pushes it back)."""
        self.token: tuple[Any, Any] | None = None
        """(upstream progress token, the client's own token) when the request carried one."""
        self.causing = False
        """May make the server ask the client something (see ``_NON_CAUSING``)."""
        self.line: bytes | None = None
        """The message to write upstream while the request waits in line (serialized)."""
        self.started = 0.0
        """Wall-clock arrival, for the activity record (set only while recording)."""
        self.raw: bytes = b""
        """The request as written upstream, for the activity record (idem)."""
        self.target: str | None = None
        """Tool/prompt name or resource URI, for the activity record (idem)."""
