"""The stdio multiplexer: many client sessions on one server process.

One :class:`StdioMux` per stdio server. Client sessions (Streamable HTTP or legacy
SSE) hand it JSON-RPC messages; it rewrites request ids so they are unique on the
process's stdin, restores them on the way back, answers later ``initialize`` calls
from the first InitializeResult, routes server->client requests and notifications
to the right session, ref-counts resource subscriptions, and turns a dead process
into an immediate JSON-RPC error for every waiting request.

A restart gives a new :class:`~switchboard.supervisor.stream.StdioStream`; the mux
re-initializes the new process itself (replaying the first client's initialize
params and the live subscriptions), so client sessions survive restarts.

Routing of server->client requests (sampling, elicitation, roots): the stdio wire does
not say which client request caused them. Exact when the request's
``_meta.progressToken`` names a request in flight, or when only one capable session has
a request in flight that can cause one (tools/call, resources/read, prompts/get,
completion/complete); otherwise a best guess, the latest such request (see
:meth:`StdioMux._pick_session`). Progress notifications are exact (by progress token),
resource updates go to subscribers, list_changed to everyone.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any, Protocol

from switchboard.core.errors import ServerNotRunning
from switchboard.gateway import jsonrpc
from switchboard.gateway.resume import ReplayBuffer
from switchboard.supervisor.stream import StdioStream

log = logging.getLogger("switchboard.gateway")

SUPPORTED_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
LATEST_VERSION = "2025-11-25"

_CAPABILITY_OF = {
    "sampling/createMessage": "sampling",
    "elicitation/create": "elicitation",
    "roots/list": "roots",
}
_GATEWAY_CLIENT_CAPS: dict[str, Any] = {
    "sampling": {},
    "elicitation": {},
    "roots": {"listChanged": True},
}
BACKLOG = 1000
"""Messages kept for a session that has no open stream to receive them."""
POST_STREAMS = 32
"""Unfinished POST response streams a session keeps for resumption (oldest go first)."""


_CAUSES_SERVER_REQUESTS = frozenset(
    {"tools/call", "resources/read", "prompts/get", "completion/complete"}
)
"""Client requests during which a server may ask the client for sampling, elicitation or
roots (SEP-2260: such requests belong to one of these)."""


def _capable(session: Session, capability: str | None) -> bool:
    return capability is None or capability in session.capabilities


def _streams_related(pending: Pending) -> bool:
    """Can messages related to ``pending`` go on its own response (an open SSE stream)?"""
    ch = pending.channel
    return not isinstance(ch, PostChannel) or (ch.sse_ok and not ch.done)


class Channel(Protocol):
    """Where the messages of one client request go (a POST's response, an SSE stream)."""

    def push(self, message: bytes, final: bool) -> None: ...


class PostChannel:
    """The response of one Streamable HTTP POST: the final response, and any requests or
    notifications that belong to it (then the handler answers with an SSE stream)."""

    __slots__ = ("done", "label", "messages", "owner", "sse_ok", "waiter")

    def __init__(self, sse_ok: bool) -> None:
        self.messages: list[bytes] = []
        self.done = False
        self.sse_ok = sse_ok
        self.waiter: asyncio.Future[None] | None = None
        self.label: bytes | None = None
        """The SSE stream's name once the response is a stream (see ``resume.py``)."""
        self.owner: object | None = None
        """The HTTP response currently serving the stream (a resumption takes it over)."""

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
        self.initialized = False
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

    def push(self, message: bytes, final: bool) -> None:
        # A legacy session is itself the channel of its requests: all on its SSE stream.
        self.send(message)


class Pending:
    """A client request forwarded upstream and not answered yet."""

    __slots__ = ("channel", "client_id", "deadline", "method", "session", "token", "upstream_id")

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


class Unavailable(Exception):
    """The server cannot take requests now; ``state`` names why (for the 503 body)."""

    def __init__(self, message: str, state: str) -> None:
        super().__init__(message)
        self.state = state


StreamSource = Callable[[], StdioStream | None]


class StdioMux:
    """Multiplexes client sessions onto the current process of one stdio server."""

    def __init__(
        self,
        name: str,
        stream_source: StreamSource,
        *,
        timeout: Callable[[], float],
    ) -> None:
        self.name = name
        self._stream_source = stream_source
        self._timeout = timeout
        self._loop = asyncio.get_running_loop()
        self.stream: StdioStream | None = None
        self._ready: asyncio.Future[None] | None = None
        self.init_params: dict[str, Any] | None = None
        self.init_result: dict[str, Any] | None = None
        self._ids = itertools.count(1)
        self.pending: dict[int, Pending] = {}
        self._internal: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._server_requests: dict[Any, Session] = {}
        self._progress: dict[Any, Pending] = {}
        self.sessions: dict[str, Session] = {}
        self.subscriptions: dict[str, int] = {}
        self.generation = 0
        # One timer per mux for request timeouts, not one per request: call_later +
        # cancel for every request showed up in the profile (the cancelled handles stay
        # in the loop's heap until it is rebuilt).
        self._sweep_handle: asyncio.TimerHandle | None = None
        self._sweep_at = 0.0

    # -- readiness ------------------------------------------------------------------
    def ready(self) -> bool:
        """True when requests can be written right now (the hot path checks this)."""
        stream = self.stream
        return (
            stream is not None
            and not stream.closed
            and self._ready is not None
            and self._ready.done()
            and self._ready.exception() is None
            and self._stream_source() is stream
        )

    async def ensure_ready(self) -> None:
        """Attach to the current process and initialize it (once per process)."""
        while True:
            current = self._stream_source()
            if current is None or current.closed:
                raise Unavailable(f"Server {self.name!r} has no running process.", "stopped")
            if current is not self.stream:
                self._attach(current)
            if self._ready is None:
                self._ready = self._loop.create_task(self._initialize_upstream(current))
            ready = self._ready
            try:
                await asyncio.shield(ready)
            except Unavailable:
                if self._ready is ready:
                    self._ready = None
                raise
            if self.stream is current and not current.closed:
                return

    def _attach(self, stream: StdioStream) -> None:
        self.stream = stream
        self._ready = None
        self.generation += 1
        stream.set_sink(lambda line: self._on_line(stream, line))
        log.debug("mux %s attached to process generation %d", self.name, stream.generation)

    async def _initialize_upstream(self, stream: StdioStream) -> None:
        if self.init_params is None:
            raise Unavailable(f"Server {self.name!r} has not been initialized by a client.", "new")
        reply = await self._call_internal(stream, "initialize", self.init_params)
        if "error" in reply:
            err = reply.get("error") or {}
            raise Unavailable(
                f"Server {self.name!r} refused initialize: {err.get('message', 'error')}.",
                "initialize-failed",
            )
        self.init_result = reply.get("result") or {}
        self._write(
            stream, jsonrpc.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"})
        )
        for uri in self.subscriptions:
            self._fire_internal(stream, "resources/subscribe", {"uri": uri})

    async def _call_internal(
        self, stream: StdioStream, method: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        upstream_id = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        self._internal[upstream_id] = fut
        msg = {"jsonrpc": "2.0", "id": upstream_id, "method": method, "params": params}
        try:
            self._write(stream, jsonrpc.dumps(msg))
            return await asyncio.wait_for(asyncio.shield(fut), self._timeout())
        except TimeoutError:
            raise Unavailable(
                f"Server {self.name!r} did not answer {method} in time.", "unresponsive"
            ) from None
        finally:
            self._internal.pop(upstream_id, None)

    def _fire_internal(self, stream: StdioStream, method: str, params: dict[str, Any]) -> None:
        upstream_id = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        fut.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._internal[upstream_id] = fut
        msg = {"jsonrpc": "2.0", "id": upstream_id, "method": method, "params": params}
        try:
            self._write(stream, jsonrpc.dumps(msg))
        except Unavailable:
            self._internal.pop(upstream_id, None)

    def _write(self, stream: StdioStream | None, line: bytes) -> None:
        if stream is None:
            raise Unavailable(f"Server {self.name!r} has no running process.", "stopped")
        try:
            stream.write_nowait(line)
        except ServerNotRunning:
            raise Unavailable(f"Server {self.name!r} is not running.", "stopped") from None

    # -- sessions ---------------------------------------------------------------------
    def add_session(self, session: Session) -> None:
        self.sessions[session.id] = session

    async def initialize(self, session: Session, params: dict[str, Any]) -> dict[str, Any]:
        """Answer a client's ``initialize``: the first one initializes the process."""
        if not isinstance(params, dict):
            params = {}
        caps = params.get("capabilities")
        session.capabilities = caps if isinstance(caps, dict) else {}
        if self.init_params is None:
            merged = dict(params)
            merged["capabilities"] = {**_GATEWAY_CLIENT_CAPS, **session.capabilities}
            merged.setdefault("protocolVersion", LATEST_VERSION)
            self.init_params = merged
        await self.ensure_ready()
        result = dict(self.init_result or {})
        version = str(result.get("protocolVersion", LATEST_VERSION))
        requested = params.get("protocolVersion")
        if isinstance(requested, str) and requested in SUPPORTED_VERSIONS and requested < version:
            # An older client than the one that initialized the process: the gateway is
            # its server and supports that version, so it answers with it (lifecycle:
            # "MUST respond with the same version"); e.g. no priming events for it.
            result["protocolVersion"] = version = requested
        session.protocol_version = version
        session.initialized = True
        self.add_session(session)
        return result

    def close_session(self, session: Session) -> None:
        """End a session: drop its subscriptions (unsubscribing upstream at zero)."""
        if session.closed:
            return
        session.closed = True
        self.sessions.pop(session.id, None)
        for box in session.outboxes:
            box.closed = True
        for uri in session.subscriptions:
            self._unref(uri)
        session.subscriptions.clear()
        for key in [k for k, s in self._server_requests.items() if s is session]:
            del self._server_requests[key]

    def _unref(self, uri: str) -> None:
        count = self.subscriptions.get(uri, 0) - 1
        if count > 0:
            self.subscriptions[uri] = count
            return
        self.subscriptions.pop(uri, None)
        if self.ready() and self.stream is not None:
            self._fire_internal(self.stream, "resources/unsubscribe", {"uri": uri})

    # -- client -> server ------------------------------------------------------------
    def submit(self, session: Session, msg: dict[str, Any], channel: Channel) -> None:
        """Forward one client request (the caller made sure :meth:`ready`)."""
        method = msg.get("method")
        client_id = msg.get("id")
        session.last_active = time.monotonic()
        if method in ("resources/subscribe", "resources/unsubscribe") and self._subscription(
            session, msg, channel
        ):
            return
        upstream_id = next(self._ids)
        pending = Pending(session, client_id, upstream_id, str(method), channel)
        params = msg.get("params")
        if isinstance(params, dict):
            meta = params.get("_meta")
            if isinstance(meta, dict) and "progressToken" in meta:
                token = meta["progressToken"]
                upstream_token = token
                if token in self._progress:
                    # Another session's request uses the same token: make ours unique.
                    upstream_token = f"sb-{upstream_id}"
                    meta = {**meta, "progressToken": upstream_token}
                    msg["params"] = {**params, "_meta": meta}
                self._progress[upstream_token] = pending
                pending.token = (upstream_token, token)
        msg["id"] = upstream_id
        line = jsonrpc.dumps(msg)
        self._write(self.stream, line)
        self.pending[upstream_id] = pending
        session.inflight[upstream_id] = pending
        pending.deadline = deadline = self._loop.time() + self._timeout()
        if self._sweep_handle is None or deadline < self._sweep_at:
            self._arm(deadline)

    def _arm(self, when: float) -> None:
        if self._sweep_handle is not None:
            self._sweep_handle.cancel()
        self._sweep_at = when
        self._sweep_handle = self._loop.call_at(when, self._sweep)

    def _sweep(self) -> None:
        """Time out what is due; sleep until the next deadline."""
        self._sweep_handle = None
        now = self._loop.time() + 0.001  # the loop may run a timer a hair early
        due = []
        upcoming: float | None = None
        for upstream_id, pending in self.pending.items():
            if pending.deadline <= now:
                due.append(upstream_id)
            elif upcoming is None or pending.deadline < upcoming:
                upcoming = pending.deadline
        for upstream_id in due:
            self._expire(upstream_id)
        if upcoming is not None and self._sweep_handle is None:
            self._arm(upcoming)

    def _subscription(self, session: Session, msg: dict[str, Any], channel: Channel) -> bool:
        """Ref-count subscriptions; True when answered here without the server."""
        params = msg.get("params")
        uri = params.get("uri") if isinstance(params, dict) else None
        if not isinstance(uri, str):
            return False
        if msg.get("method") == "resources/subscribe":
            if uri in session.subscriptions:
                channel.push(jsonrpc.result(msg.get("id"), {}), True)
                return True
            session.subscriptions.add(uri)
            count = self.subscriptions.get(uri, 0)
            self.subscriptions[uri] = count + 1
            if count == 0:
                return False  # first subscriber: the server hears about it
            channel.push(jsonrpc.result(msg.get("id"), {}), True)
            return True
        if uri not in session.subscriptions:
            channel.push(jsonrpc.result(msg.get("id"), {}), True)
            return True
        session.subscriptions.discard(uri)
        count = self.subscriptions.get(uri, 0) - 1
        if count > 0:
            self.subscriptions[uri] = count
            channel.push(jsonrpc.result(msg.get("id"), {}), True)
            return True
        self.subscriptions.pop(uri, None)
        return False  # last subscriber left: the server hears about it

    def notify(self, session: Session, msg: dict[str, Any]) -> None:
        """A client notification or a client's response to a server request."""
        session.last_active = time.monotonic()
        method = msg.get("method")
        if method is None:
            key = msg.get("id")
            owner = self._server_requests.get(key)
            if owner is not session:
                log.debug("mux %s: dropped a response to unknown server request %r", self.name, key)
                return
            del self._server_requests[key]
            self._write(self.stream, jsonrpc.dumps(msg))
            return
        if method == "notifications/initialized":
            return  # the mux sent its own when it initialized the process
        if method == "notifications/cancelled":
            params = msg.get("params")
            if not isinstance(params, dict):
                return
            client_id = params.get("requestId")
            for upstream_id, pending in session.inflight.items():
                if pending.client_id == client_id:
                    forward = {**params, "requestId": upstream_id}
                    self._write(
                        self.stream,
                        jsonrpc.dumps({"jsonrpc": "2.0", "method": method, "params": forward}),
                    )
                    self._finish(
                        upstream_id,
                        jsonrpc.error(client_id, jsonrpc.REQUEST_CANCELLED, "Request cancelled"),
                    )
                    return
            return
        self._write(self.stream, jsonrpc.dumps(msg))

    # -- server -> client -------------------------------------------------------------
    def _on_line(self, stream: StdioStream, line: bytes | None) -> None:
        if line is None:
            if stream is self.stream:
                self._on_end()
            return
        if stream is not self.stream:
            return
        try:
            msg = jsonrpc.loads(line)
        except jsonrpc.JSONDecodeError:
            log.debug("mux %s: ignored a non-JSON stdout line", self.name)
            return
        if isinstance(msg, dict):
            self._route(msg, line)
        elif isinstance(msg, list):
            for item in msg:
                if isinstance(item, dict):
                    self._route(item, jsonrpc.dumps(item))

    def _route(self, msg: dict[str, Any], line: bytes) -> None:
        method = msg.get("method")
        if method is None:
            upstream_id = msg.get("id")
            pending = self.pending.get(upstream_id)  # type: ignore[arg-type]
            if pending is not None:
                msg["id"] = pending.client_id
                self._finish(upstream_id, jsonrpc.dumps(msg))  # type: ignore[arg-type]
                return
            fut = self._internal.get(upstream_id)  # type: ignore[arg-type]
            if fut is not None and not fut.done():
                fut.set_result(msg)
            return
        if "id" in msg:
            self._server_request(msg, line)
        else:
            self._server_notification(method, msg, line)

    def _finish(self, upstream_id: int, response: bytes) -> None:
        pending = self.pending.pop(upstream_id, None)
        if pending is None:
            return
        pending.session.inflight.pop(upstream_id, None)
        if pending.token is not None:
            self._progress.pop(pending.token[0], None)
        pending.channel.push(response, True)

    def _expire(self, upstream_id: int) -> None:
        pending = self.pending.get(upstream_id)
        if pending is None:
            return
        timeout = self._timeout()
        log.warning(
            "server %s: %s did not answer within %.0f s", self.name, pending.method, timeout
        )
        if self.stream is not None and not self.stream.closed:
            cancel = {
                "jsonrpc": "2.0",
                "method": "notifications/cancelled",
                "params": {"requestId": upstream_id, "reason": "timeout"},
            }
            with contextlib.suppress(Unavailable):
                self._write(self.stream, jsonrpc.dumps(cancel))
        self._finish(
            upstream_id,
            jsonrpc.error(
                pending.client_id,
                jsonrpc.REQUEST_TIMEOUT,
                f"Server {self.name!r} did not answer {pending.method} within {timeout:g} s "
                "(the server's request timeout; raise it in the server's settings for "
                "long-running tools).",
            ),
        )

    def _server_request(self, msg: dict[str, Any], line: bytes) -> None:
        method = msg.get("method")
        if method == "ping":
            self._write(self.stream, jsonrpc.result(msg.get("id"), {}))
            return
        params = msg.get("params")
        session, related = self._pick_session(
            _CAPABILITY_OF.get(str(method)), params if isinstance(params, dict) else {}
        )
        if session is None:
            self._write(
                self.stream,
                jsonrpc.error(
                    msg.get("id"),
                    jsonrpc.METHOD_NOT_FOUND,
                    f"No connected client supports {method}.",
                ),
            )
            return
        self._server_requests[msg.get("id")] = session
        if related is not None and _streams_related(related):
            related.channel.push(line, False)
        else:
            self._deliver_related(session, line)

    def _pick_session(
        self, capability: str | None, params: dict[str, Any]
    ) -> tuple[Session | None, Pending | None]:
        """Which session (and which of its requests) a server request belongs to.

        stdio carries no "related request" on the wire (MCP 2025-11-25; SEP-2260 makes
        the association mandatory but still not visible to an intermediary), so:

        1. exact: the request's ``_meta.progressToken`` is the token of a request in
           flight (servers that pass the caller's token along);
        2. exact: only one capable session has a request in flight that may cause
           server requests (``tools/call``, ``resources/read``, ``prompts/get``, ...;
           SEP-2260: sampling, elicitation and roots only happen inside one);
        3. best guess among several such sessions: the one whose request started
           last; with none in flight, the most recently active capable session.
        """
        meta = params.get("_meta")
        if isinstance(meta, dict) and "progressToken" in meta:
            token = meta["progressToken"]
            try:
                pending = self._progress.get(token)
            except TypeError:  # an unhashable token
                pending = None
            if pending is not None and _capable(pending.session, capability):
                return pending.session, pending
        latest: Pending | None = None
        candidates = 0
        for session in self.sessions.values():
            if session.closed or not _capable(session, capability):
                continue
            mine = None
            for pending in session.inflight.values():
                if pending.method in _CAUSES_SERVER_REQUESTS:
                    mine = pending  # inflight is in submit order: the last one wins
            if mine is None:
                continue
            candidates += 1
            if latest is None or mine.upstream_id > latest.upstream_id:
                latest = mine
        if latest is not None:
            if candidates > 1:
                log.debug(
                    "mux %s: %d sessions could have caused a server request; guessed the "
                    "latest request",
                    self.name,
                    candidates,
                )
            return latest.session, latest
        best: Session | None = None
        best_key: tuple[bool, float] = (False, -1.0)
        for session in self.sessions.values():
            if session.closed or not _capable(session, capability):
                continue
            key = (bool(session.inflight), session.last_active)
            if best is None or key > best_key:
                best, best_key = session, key
        return best, None

    def _deliver_related(self, session: Session, line: bytes) -> None:
        """To the session's most recent in-flight request stream, else its GET stream."""
        for pending in reversed(session.inflight.values()):
            ch = pending.channel
            if isinstance(ch, PostChannel):
                if ch.sse_ok and not ch.done:
                    ch.push(line, False)
                    return
            else:
                ch.push(line, False)
                return
        session.send(line)

    def _server_notification(self, method: str, msg: dict[str, Any], line: bytes) -> None:
        params = msg.get("params")
        params = params if isinstance(params, dict) else {}
        if method == "notifications/progress":
            pending = self._progress.get(params.get("progressToken"))
            if pending is None:
                return
            assert pending.token is not None
            if pending.token[0] != pending.token[1]:
                line = jsonrpc.dumps(
                    {**msg, "params": {**params, "progressToken": pending.token[1]}}
                )
            # Progress shows the request is alive: the timeout starts over (the sweep
            # due at the old deadline finds it later and sleeps on).
            pending.deadline = self._loop.time() + self._timeout()
            ch = pending.channel
            if isinstance(ch, PostChannel) and not (ch.sse_ok and not ch.done):
                pending.session.send(line)
            else:
                ch.push(line, False)
            return
        if method == "notifications/cancelled":
            session = self._server_requests.pop(params.get("requestId"), None)
            if session is not None:
                session.send(line)
            return
        if method == "notifications/resources/updated":
            uri = params.get("uri")
            for session in list(self.sessions.values()):
                if uri in session.subscriptions:
                    session.send(line)
            return
        if method == "notifications/message":
            busy = [s for s in self.sessions.values() if s.inflight]
            for session in busy or list(self.sessions.values()):
                self._deliver_related(session, line)
            return
        for session in list(self.sessions.values()):
            session.send(line)

    def _on_end(self) -> None:
        """The process's stdout closed: fail every waiting request now."""
        state = "exited"
        log.info(
            "server %s: process ended with %d request(s) waiting", self.name, len(self.pending)
        )
        self.stream = None
        self._ready = None
        for upstream_id, pending in list(self.pending.items()):
            self._finish(
                upstream_id,
                jsonrpc.error(
                    pending.client_id,
                    jsonrpc.SERVER_UNAVAILABLE,
                    f"Server {self.name!r} {state} before answering {pending.method}. "
                    "It is restarted if its restart policy allows; retry the request.",
                    {"server": self.name, "state": state},
                ),
            )
        for fut in self._internal.values():
            if not fut.done():
                fut.set_exception(Unavailable(f"Server {self.name!r} {state}.", state))
        self._internal.clear()
        self._server_requests.clear()
        self._progress.clear()

    def close(self) -> None:
        """The server was removed or switched transport: end every session."""
        self._on_end()
        if self._sweep_handle is not None:
            self._sweep_handle.cancel()
            self._sweep_handle = None
        for session in list(self.sessions.values()):
            self.close_session(session)
        if self.stream is not None:
            self.stream.set_sink(None)
            self.stream = None
