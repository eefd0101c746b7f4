"""The stdio multiplexer: many client sessions on one server process.

One :class:`StdioMux` per stdio server. Client sessions (Streamable HTTP or legacy
SSE; see ``channels.py``) hand it JSON-RPC messages; it rewrites request ids so they
are unique on the process's stdin and restores them on the way back (JSON-RPC 2.0 §4),
initializes each process once and answers later ``initialize`` calls from the first
InitializeResult (``initialization.py``), times requests out (``timeouts.py``), runs
*causing* requests one at a time when a server asks clients things without naming the
caller (``serial``), and turns a dead process into an immediate JSON-RPC error for
every waiting request. What the server sends on its own (its requests to clients,
notifications) is routed by ``server_messages.py`` (with ``attribution.py``); resource
subscriptions are ref-counted by ``subscriptions.py``.

A restart gives a new :class:`~switchboard.supervisor.stream.StdioStream`; the mux
re-initializes the new process itself (replaying the first client's initialize
params and the live subscriptions), so client sessions survive restarts.

Hostile input never raises: ids, tokens and params of any JSON type from a client are
refused by :func:`~switchboard.gateway.jsonrpc.check_client_message` before they get
here (and ignored here if they do), garbage from the server is dropped with a log line.
Cancelled requests get no response (MCP 2025-11-25 ``utilities/cancellation``: the
receiver SHOULD NOT respond); their channel ends empty (:meth:`PostChannel.cancel`).

One concept, a little over 500 lines: the life of a request on the shared process
(written, waiting in line, answered, cancelled, timed out, failed with the process),
which shares the mux's pending table and serial line throughout.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

from switchboard.core.activity import ActivitySink
from switchboard.core.errors import ServerNotRunning
from switchboard.core.spec import Isolation
from switchboard.gateway import jsonrpc
from switchboard.gateway.attribution import NON_CAUSING
from switchboard.gateway.channels import (
    BACKLOG,
    POST_STREAMS,
    Channel,
    Outbox,
    Pending,
    PostChannel,
    Session,
    Unavailable,
)
from switchboard.gateway.initialization import (
    LATEST_VERSION,
    SUPPORTED_VERSIONS,
    declared,
    negotiated_version,
    upstream_params,
)
from switchboard.gateway.recording import record_finished, record_initialize
from switchboard.gateway.server_messages import ServerMessages
from switchboard.gateway.subscriptions import Subscriptions
from switchboard.gateway.timeouts import Deadlines
from switchboard.supervisor.stream import StdioStream

__all__ = [
    "BACKLOG",
    "LATEST_VERSION",
    "POST_STREAMS",
    "SUPPORTED_VERSIONS",
    "Channel",
    "Outbox",
    "Pending",
    "PostChannel",
    "Session",
    "StdioMux",
    "Unavailable",
]

log = logging.getLogger("switchboard.gateway")


def _is_error(value: object) -> bool:
    """A JSON-RPC 2.0 §5.1 error object."""
    return (
        isinstance(value, dict)
        and type(value.get("code")) is int
        and isinstance(value.get("message"), str)
    )


StreamSource = Callable[[], StdioStream | None]


class StdioMux:
    """Multiplexes client sessions onto the current process of one stdio server."""

    def __init__(
        self,
        name: str,
        stream_source: StreamSource,
        *,
        timeout: Callable[[], float],
        isolation: Isolation = Isolation.AUTO,
        activity: ActivitySink | None = None,
    ) -> None:
        self.name = name
        self.activity = activity
        """Where finished requests are recorded (``core/activity.py``); None: not recorded."""
        self.isolation = isolation
        """The server's setting; the gateway updates it when the config changes."""
        self.serial = isolation is Isolation.SERIAL
        """One causing request at a time (AUTO turns it on at the first server request
        that names no caller; it stays on for the life of the mux)."""
        self._running = 0
        """Causing requests written upstream and not finished."""
        self._queue: collections.deque[Pending] = collections.deque()
        """Causing requests waiting for their turn (serialized), FIFO."""
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
        self.server_requests: dict[Any, Session] = {}
        self.progress: dict[Any, Pending] = {}
        self.sessions: dict[str, Session] = {}
        self.subscriptions = Subscriptions()
        self._server = ServerMessages(self)
        self._deadlines = Deadlines(self._loop, self.pending, self._expire)

    def set_isolation(self, isolation: Isolation) -> None:
        """Apply a changed setting (SHARED lets whatever waits in line go at once)."""
        self.isolation = isolation
        if isolation is Isolation.SERIAL:
            self.serial = True
        elif isolation is Isolation.SHARED:
            self.serial = False
            while self._queue:
                self._start(self._queue.popleft())

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
        stream.set_sink(lambda line: self._on_line(stream, line))
        log.debug("mux %s attached to process generation %d", self.name, stream.generation)

    async def _initialize_upstream(self, stream: StdioStream) -> None:
        if self.init_params is None:
            raise Unavailable(f"Server {self.name!r} has not been initialized by a client.", "new")
        reply = await self._call_internal(stream, "initialize", self.init_params)
        result = reply.get("result")
        if not isinstance(result, dict):
            err = reply.get("error")
            why = err.get("message") if isinstance(err, dict) else None
            raise Unavailable(
                f"Server {self.name!r} refused initialize: "
                f"{why if isinstance(why, str) else 'no valid InitializeResult'}.",
                "initialize-failed",
            )
        self.init_result = result
        self.write(stream, jsonrpc.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
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
            self.write(stream, jsonrpc.dumps(msg))
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
            self.write(stream, jsonrpc.dumps(msg))
        except Unavailable:
            self._internal.pop(upstream_id, None)

    def write(self, stream: StdioStream | None, line: bytes) -> None:
        if stream is None:
            raise Unavailable(f"Server {self.name!r} has no running process.", "stopped")
        try:
            stream.write_nowait(line)
        except ServerNotRunning:
            raise Unavailable(f"Server {self.name!r} is not running.", "stopped") from None

    # -- sessions ---------------------------------------------------------------------
    async def initialize(self, session: Session, params: dict[str, Any]) -> dict[str, Any]:
        """Answer a client's ``initialize``: the first one initializes the process."""
        if not isinstance(params, dict):
            params = {}
        started = time.time()
        session.capabilities = declared(params.get("capabilities"))
        first = self.init_params is None
        if first:
            self.init_params = upstream_params(params, session.capabilities)
        try:
            await self.ensure_ready()
        except Unavailable:
            if first and self.init_result is None:
                self.init_params = None  # the next client's initialize tries again
            if self.activity is not None:
                record_initialize(self.activity, self.name, session, started, False)
            raise
        if self.activity is not None:
            record_initialize(self.activity, self.name, session, started, True)
        result = dict(self.init_result or {})
        version = negotiated_version(params.get("protocolVersion"), result)
        session.protocol_version = version
        self.sessions[session.id] = session
        return result

    def close_session(self, session: Session) -> None:
        """End a session: drop its subscriptions (unsubscribing upstream at zero)."""
        if session.closed:
            return
        session.closed = True
        self.sessions.pop(session.id, None)
        for box in session.outboxes:
            box.closed = True
        for uri in self.subscriptions.release(session):
            if self.ready() and self.stream is not None:
                self._fire_internal(self.stream, "resources/unsubscribe", {"uri": uri})
        for pending in [p for p in session.inflight.values() if p.line is not None]:
            self._finish(pending.upstream_id, None)  # waiting in line for no one
        for key in [k for k, s in self.server_requests.items() if s is session]:
            del self.server_requests[key]
            # The server waits for an answer that will not come: tell it.
            with contextlib.suppress(Unavailable):
                self.write(
                    self.stream,
                    jsonrpc.error(key, jsonrpc.INTERNAL_ERROR, "The client left before answering."),
                )

    # -- client -> server ------------------------------------------------------------
    def submit(self, session: Session, msg: dict[str, Any], channel: Channel) -> None:
        """Forward one client request (the caller made sure :meth:`ready`)."""
        method = msg.get("method")
        client_id = msg.get("id")
        session.last_active = time.monotonic()
        if method in (
            "resources/subscribe",
            "resources/unsubscribe",
        ) and self.subscriptions.handle(session, msg, channel):
            return
        upstream_id = next(self._ids)
        pending = Pending(session, client_id, upstream_id, str(method), channel)
        params = msg.get("params")
        if isinstance(params, dict):
            meta = params.get("_meta")
            if isinstance(meta, dict) and jsonrpc.is_token(meta.get("progressToken")):
                token = meta["progressToken"]
                upstream_token = token
                if token in self.progress:
                    # Another session's request uses the same token: make ours unique.
                    upstream_token = f"sb-{upstream_id}"
                    meta = {**meta, "progressToken": upstream_token}
                    msg["params"] = {**params, "_meta": meta}
                self.progress[upstream_token] = pending
                pending.token = (upstream_token, token)
        msg["id"] = upstream_id
        line = jsonrpc.dumps(msg)
        if self.activity is not None:
            pending.started = time.time()
            pending.raw = line
            if isinstance(params, dict):
                target = params.get("name") or params.get("uri")
                pending.target = target if type(target) is str else None
        try:
            if method not in NON_CAUSING:
                pending.causing = True
                if self.serial and (self._running or self._queue):
                    pending.line = line  # waits its turn (see _start)
                    self._queue.append(pending)
                else:
                    self.write(self.stream, line)
                    self._running += 1
            else:
                self.write(self.stream, line)
        except Unavailable:
            if pending.token is not None:
                self.progress.pop(pending.token[0], None)
            raise
        self.pending[upstream_id] = pending
        session.inflight[upstream_id] = pending
        pending.deadline = deadline = self._loop.time() + self._timeout()
        self._deadlines.watch(deadline)

    def deadline(self) -> float:
        """Loop time at which a request written (or heard from) now times out."""
        return self._loop.time() + self._timeout()

    def notify(self, session: Session, msg: dict[str, Any]) -> None:
        """A client notification or a client's response to a server request."""
        session.last_active = time.monotonic()
        method = msg.get("method")
        if method is None:
            key = msg.get("id")
            owner = self.server_requests.get(key) if jsonrpc.is_id(key) else None
            if owner is not session:
                log.debug("mux %s: dropped a response to unknown server request %r", self.name, key)
                return
            del self.server_requests[key]
            self.write(self.stream, jsonrpc.dumps(msg))
            return
        if method in ("notifications/initialized", "notifications/roots/list_changed"):
            return  # the mux sent its own initialized; roots are never shared (see above)
        if method == "notifications/cancelled":
            params = msg.get("params")
            if isinstance(params, dict):
                self._cancel(session, params)
            return
        self.write(self.stream, jsonrpc.dumps(msg))

    def _cancel(self, session: Session, params: dict[str, Any]) -> None:
        """The client cancelled one of its requests (MCP 2025-11-25
        ``utilities/cancellation``): tell the server (unless the request still waits in
        line, then it just leaves the line), answer nothing, drop the server's late answer."""
        client_id = params.get("requestId")
        for upstream_id, pending in session.inflight.items():
            if pending.client_id == client_id and type(pending.client_id) is type(client_id):
                if pending.line is None:
                    forward = {**params, "requestId": upstream_id}
                    with contextlib.suppress(Unavailable):
                        self.write(
                            self.stream,
                            jsonrpc.dumps(
                                {
                                    "jsonrpc": "2.0",
                                    "method": "notifications/cancelled",
                                    "params": forward,
                                }
                            ),
                        )
                self._finish(upstream_id, None)
                return

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
        try:
            if isinstance(msg, dict):
                self._route(msg, line)
            elif isinstance(msg, list):
                for item in msg:
                    if isinstance(item, dict):
                        self._route(item, jsonrpc.dumps(item))
        except Exception:  # a bug here must not stop the process's reader
            log.exception("mux %s: could not route a message from the server", self.name)

    def _route(self, msg: dict[str, Any], line: bytes) -> None:
        method = msg.get("method")
        if method is None:
            upstream_id = msg.get("id")
            if type(upstream_id) is not int:  # ours are; garbage is dropped
                log.debug("mux %s: dropped a response with id %.80r", self.name, upstream_id)
                return
            pending = self.pending.get(upstream_id)
            if pending is not None and pending.line is None:
                msg["id"] = pending.client_id
                code = None
                if "result" not in msg and _is_error(msg.get("error")):
                    code = msg["error"]["code"]
                elif "result" not in msg:
                    log.warning(
                        "server %s: invalid response to %s (no result, no valid error)",
                        self.name,
                        pending.method,
                    )
                    code = jsonrpc.INTERNAL_ERROR
                    msg = {
                        "jsonrpc": "2.0",
                        "id": pending.client_id,
                        "error": {
                            "code": jsonrpc.INTERNAL_ERROR,
                            "message": f"Server {self.name!r} sent an invalid response to "
                            f"{pending.method} (neither a result nor a valid error). See "
                            f"'switchboard logs {self.name}'.",
                        },
                    }
                self._finish(upstream_id, jsonrpc.dumps(msg), code)
                return
            fut = self._internal.get(upstream_id)
            if fut is not None and not fut.done():
                fut.set_result(msg)
            return
        if type(method) is not str:
            log.debug("mux %s: dropped a message whose method is not a string", self.name)
            return
        if "id" in msg:
            self._server.request(method, msg, line)
        else:
            self._server.notification(method, msg, line)

    def _finish(self, upstream_id: int, response: bytes | None, code: int | None = None) -> None:
        """The request is over: deliver its response (None: cancelled, no response);
        ``code``: the JSON-RPC error code it carries, if any (for the activity record)."""
        pending = self.pending.pop(upstream_id, None)
        if pending is None:
            return
        if self.activity is not None:
            record_finished(self.activity, self.name, pending, response, code)
        pending.session.inflight.pop(upstream_id, None)
        if pending.token is not None:
            self.progress.pop(pending.token[0], None)
        if pending.causing:
            if pending.line is not None:
                self._queue.remove(pending)  # never reached the server
            else:
                self._running -= 1
                if self._queue and not self._running:
                    self._start(self._queue.popleft())
        if response is not None:
            pending.channel.push(response, True)
        elif isinstance(pending.channel, PostChannel):
            pending.channel.cancel()

    def _start(self, pending: Pending) -> None:
        """Write a request that waited in line: its turn has come."""
        line, pending.line = pending.line, None
        self._running += 1
        if line is None:
            return
        log.debug(
            "mux %s: %s of session %s starts", self.name, pending.method, pending.session.id[:8]
        )
        # Failing to write means the process is gone: its end (_on_end) fails the request.
        with contextlib.suppress(Unavailable):
            self.write(self.stream, line)

    def _expire(self, upstream_id: int) -> None:
        pending = self.pending.get(upstream_id)
        if pending is None:
            return
        timeout = self._timeout()
        if pending.line is not None:
            ahead = self._queue.index(pending) + self._running
            log.warning(
                "server %s: %s waited %.0f s for its turn", self.name, pending.method, timeout
            )
            self._finish(
                upstream_id,
                jsonrpc.error(
                    pending.client_id,
                    jsonrpc.REQUEST_TIMEOUT,
                    f"Server {self.name!r} did not start {pending.method} within {timeout:g} s: "
                    f"{ahead} request(s) were ahead of it. The server asks clients questions "
                    "(sampling, elicitation or roots), so the gateway runs its requests one "
                    "at a time to know whom to ask; retry, or raise the request timeout in "
                    "the server's settings.",
                ),
                jsonrpc.REQUEST_TIMEOUT,
            )
            return
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
                self.write(self.stream, jsonrpc.dumps(cancel))
        self._finish(
            upstream_id,
            jsonrpc.error(
                pending.client_id,
                jsonrpc.REQUEST_TIMEOUT,
                f"Server {self.name!r} did not answer {pending.method} within {timeout:g} s "
                "(the server's request timeout; raise it in the server's settings for "
                "long-running tools).",
            ),
            jsonrpc.REQUEST_TIMEOUT,
        )

    def _on_end(self) -> None:
        """The process's stdout closed: fail every waiting request now."""
        state = "exited"
        log.info(
            "server %s: process ended with %d request(s) waiting", self.name, len(self.pending)
        )
        self.stream = None
        self._ready = None
        # Nothing waits in line any more: every request is answered below.
        self._queue.clear()
        self._running = 0
        for pending in self.pending.values():
            pending.causing = False
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
                jsonrpc.SERVER_UNAVAILABLE,
            )
        for fut in self._internal.values():
            if not fut.done():
                fut.set_exception(Unavailable(f"Server {self.name!r} {state}.", state))
        self._internal.clear()
        self.server_requests.clear()
        self.progress.clear()

    def close(self) -> None:
        """The server was removed or switched transport: end every session."""
        self._on_end()
        self._deadlines.cancel()
        for session in list(self.sessions.values()):
            self.close_session(session)
        if self.stream is not None:
            self.stream.set_sink(None)
            self.stream = None
