"""The gateway: every server behind ``/servers/<name>/mcp`` (and legacy ``/sse``).

A plain ASGI app (no per-request Starlette objects: it is the hot path), mounted on
the engine's listener behind the Origin/Host guard. Per request it:

1. finds the server (404 if unknown) and asks the auth slot (``host.authenticator``,
   read at request time so the auth service can replace it) -> 401/403 as told;
2. for a local HTTP server, passes the request through (see ``passthrough.py``);
3. for a stdio server, speaks MCP Streamable HTTP 2025-11-25 (POST answered as JSON,
   or as an SSE stream when the server sends requests/notifications first; GET
   stream; DELETE; ``Mcp-Session-Id``; 404 for unknown sessions) or the legacy
   HTTP+SSE transport, and hands messages to the server's :class:`StdioMux`.

Streamable HTTP SSE events carry ids; a GET with ``Last-Event-ID`` replays what the
client missed on that stream and continues it (``resumption.py``).

Browser pages (an ``Origin`` header; the guard let only loopback ones through) get
CORS only from servers that need a token; a server with sign-in off answers their
preflight with 403 and nothing with CORS headers, since any local web page could
otherwise call it. Sessions are bound to the caller that created them (another
caller's token finds no session: 404) and capped per caller (``sessions.py``).

Hardening: body limit -> 413, invalid JSON -> 400 with a JSON-RPC parse error, wrong
content type -> 415, unsupported ``MCP-Protocol-Version`` -> 400, stopped/failed
server -> 503 naming the server and its state. Clients of the 2026-07-28 revision
probe ``server/discover`` first: they get a JSON-RPC "method not found" and fall back
to ``initialize``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs

import httpx
from starlette.routing import BaseRoute, Mount
from starlette.types import Receive, Scope, Send

from switchboard.core.errors import ServerNotFound
from switchboard.core.events import ConfigChanged, Event, EventBus, StateChanged
from switchboard.core.spec import AuthMode, Transport
from switchboard.core.state import ServerState
from switchboard.gateway import jsonrpc
from switchboard.gateway.authentication import AuthDenied, Authenticator
from switchboard.gateway.mux import (
    SUPPORTED_VERSIONS,
    Outbox,
    PostChannel,
    Session,
    StdioMux,
    Unavailable,
)
from switchboard.gateway.resumption import GET as GET_STREAM
from switchboard.gateway.resumption import POST as POST_STREAM
from switchboard.gateway.sessions import (
    MAX_PER_CLIENT,
    MAX_SESSIONS,
    Owner,
    SessionTable,
    TooManySessions,
    owner_of,
)

if TYPE_CHECKING:
    from switchboard.supervisor.process import ManagedServer
    from switchboard.supervisor.supervisor import Supervisor

log = logging.getLogger("switchboard.gateway")

MAX_BODY = 4 * 1024 * 1024
"""Largest POST body accepted (a JSON-RPC message); bigger -> 413."""

_JSON = b"application/json"
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]
_NO_WEB_PAGES = jsonrpc.dumps(
    {
        "error": "forbidden_origin",
        "message": "This server has sign-in off, so web pages may not call it; programs "
        "on this computer still can.",
        "hint": "To use it from a browser-based client, turn sign-in on for it (its "
        "settings in the app, or 'switchboard add --auth switchboard').",
    }
)
_DOWN_STATES = {ServerState.STOPPED, ServerState.STOPPING, ServerState.FAILED}


class GatewayHost(Protocol):
    """What the gateway needs from the engine (the Engine is one)."""

    supervisor: Supervisor
    events: EventBus
    authenticator: Authenticator
    state: str


class _HTTPError(Exception):
    """Answer with ``status`` and a JSON(-RPC) body."""

    def __init__(self, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or []


def _rpc_error(
    status: int, msg_id: jsonrpc.MessageId, code: int, message: str, **data: Any
) -> _HTTPError:
    return _HTTPError(status, jsonrpc.error(msg_id, code, message, data or None))


class Gateway:
    """ASGI app serving every configured server under ``/servers/<name>/...``."""

    def __init__(
        self,
        host: GatewayHost,
        *,
        max_body: int = MAX_BODY,
        keepalive: float = 15.0,
        start_wait: float = 30.0,
        http_transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_sessions: int = MAX_SESSIONS,
        max_sessions_per_client: int = MAX_PER_CLIENT,
    ) -> None:
        self._host = host
        self.max_body = max_body
        self.keepalive = keepalive
        self.start_wait = start_wait
        self._clock = clock
        self._muxes: dict[str, StdioMux] = {}
        self.sessions = SessionTable(
            clock,
            self._end_session,
            max_sessions=max_sessions,
            max_per_client=max_sessions_per_client,
        )
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._http_transport = http_transport
        self._passthrough: Any = None
        self._closing: set[asyncio.Task[None]] = set()
        host.events.subscribe(self._on_event)

    def routes(self) -> list[BaseRoute]:
        return [Mount("/servers", app=self)]

    # -- events -----------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if isinstance(event, StateChanged):
            for fut in self._waiters.pop(event.name, ()):
                if not fut.done():
                    fut.set_result(None)
            if event.new is ServerState.STOPPED and self._passthrough is not None:
                self._maybe_close_passthrough()
        elif isinstance(event, ConfigChanged):
            for name in event.names or tuple(self._muxes):
                mux = self._muxes.get(name)
                if mux is None:
                    continue
                try:
                    spec = self._host.supervisor.get(name).spec
                except ServerNotFound:
                    spec = None
                if spec is None or spec.transport is not Transport.STDIO:
                    self._drop_mux(name)
                else:
                    mux.set_isolation(spec.isolation)

    def _maybe_close_passthrough(self) -> None:
        """Close the upstream HTTP client once no pass-through server is up (engine
        shutdown stops every server, so nothing is left open)."""
        for server in self._host.supervisor.servers():
            if server.spec.transport is not Transport.STDIO and server.state.is_active:
                return
        passthrough, self._passthrough = self._passthrough, None
        task = asyncio.get_running_loop().create_task(passthrough.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _drop_mux(self, name: str) -> None:
        mux = self._muxes.pop(name, None)
        if mux is None:
            return
        for session in list(mux.sessions.values()):
            self.sessions.pop(session.id)
        mux.close()

    # -- ASGI -------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        i = path.find("/servers/")
        name, _, endpoint = path[i + 9 :].partition("/")
        origin = host = authorization = None
        for key, value in scope["headers"]:  # one pass for what every request needs
            if key == b"host":
                host = value
            elif key == b"authorization":
                authorization = value
            elif key == b"origin":
                origin = value
        if origin is not None:
            # A browser page on a loopback origin (the guard refused the others). Only
            # servers that need a token give it CORS: without sign-in, any local web
            # page could otherwise drive the server (issue 10.8). Without CORS a browser
            # sends no MCP request at all (JSON POSTs and session headers need a
            # preflight), and cannot read the answer of what it may send.
            if self._auth_off(name):
                if scope["method"] == "OPTIONS":
                    await _respond(send, 403, _NO_WEB_PAGES, [])
                    return
            elif scope["method"] == "OPTIONS":
                await _respond(send, 204, b"", _cors(origin, preflight=True))
                return
            else:
                send = _with_cors(send, origin)
        try:
            await self._handle(scope, receive, send, path[:i], name, endpoint, host, authorization)
        except _HTTPError as exc:
            await _respond(send, exc.status, exc.body, exc.headers)

    def _auth_off(self, name: str) -> bool:
        try:
            return self._host.supervisor.get(name).spec.auth is AuthMode.OFF
        except ServerNotFound:
            return False

    async def _handle(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        prefix: str,
        name: str,
        endpoint: str,
        host: bytes | None,
        authorization: bytes | None,
    ) -> None:
        try:
            server = self._host.supervisor.get(name)
        except ServerNotFound:
            raise _HTTPError(
                404,
                _json_error(
                    "not_found",
                    f"No server named {name!r}.",
                    "Run 'switchboard list' to see configured servers.",
                ),
            ) from None
        if endpoint not in ("mcp", "sse", "messages"):
            raise _HTTPError(404, _json_error("not_found", "No such endpoint.", "Use .../mcp."))
        spec = server.spec
        kind = "sse" if endpoint == "messages" else endpoint
        host_header = host.decode("latin-1") if host is not None else None
        resource = f"http://{host_header}{prefix}/servers/{name}/{kind}"
        try:
            principal = await self._host.authenticator.authenticate(
                server=spec,
                resource=resource,
                authorization=authorization.decode("latin-1") if authorization else None,
            )
        except AuthDenied as denied:
            raise _HTTPError(
                denied.status,
                jsonrpc.dumps(denied.body),
                [(b"www-authenticate", denied.www_authenticate.encode("latin-1"))],
            ) from None
        owner = owner_of(principal)
        if spec.transport is not Transport.STDIO:
            await self._pass_through(scope, receive, send, server, endpoint, prefix, owner)
            return
        method = scope["method"]
        if endpoint == "mcp":
            if method == "POST":
                await self._post(scope, receive, send, server, owner)
            elif method == "GET":
                await self._get(scope, receive, send, server, owner)
            elif method == "DELETE":
                await self._delete(scope, server, owner)
                await _respond(send, 200, b"", [])
            else:
                raise _HTTPError(405, b"", [(b"allow", b"GET, POST, DELETE")])
        elif endpoint == "sse":
            if method != "GET":
                raise _HTTPError(405, b"", [(b"allow", b"GET")])
            await self._legacy_stream(scope, receive, send, server, prefix, owner)
        else:
            if method != "POST":
                raise _HTTPError(405, b"", [(b"allow", b"POST")])
            await self._legacy_post(scope, receive, send, server, owner)

    # -- Streamable HTTP ------------------------------------------------------------------
    async def _post(
        self, scope: Scope, receive: Receive, send: Send, server: ManagedServer, owner: Owner | None
    ) -> None:
        content_type = accept = session_id = version = None
        length = -1
        for key, value in scope["headers"]:
            if key == b"content-type":
                content_type = value
            elif key == b"accept":
                accept = value
            elif key == b"mcp-session-id":
                session_id = value
            elif key == b"mcp-protocol-version":
                version = value
            elif key == b"content-length":
                length = int(value) if value.isdigit() else -1
        if content_type is None or not content_type.lower().startswith(_JSON):
            raise _rpc_error(
                415, None, jsonrpc.INVALID_REQUEST, "Content-Type must be application/json."
            )
        sse_ok = True
        if accept is not None:
            accept = accept.lower()
            sse_ok = b"text/event-stream" in accept or b"*/*" in accept
            if not sse_ok and _JSON not in accept and b"application/*" not in accept:
                raise _rpc_error(
                    406,
                    None,
                    jsonrpc.INVALID_REQUEST,
                    "Accept must include application/json and text/event-stream.",
                )
        body = await self._read_body(receive, length)
        msg = _parse(body)
        method = msg.get("method")
        msg_id = msg.get("id")
        if method == "server/discover":
            raise _rpc_error(
                400,
                msg_id,
                jsonrpc.METHOD_NOT_FOUND,
                "Method not found: this gateway speaks MCP 2025-11-25; use initialize.",
            )
        if version is not None and method != "initialize":
            v = version.decode("latin-1")
            if v not in SUPPORTED_VERSIONS:
                raise _rpc_error(
                    400,
                    msg_id,
                    jsonrpc.INVALID_REQUEST,
                    f"Unsupported MCP-Protocol-Version {v!r}.",
                    supported=list(SUPPORTED_VERSIONS),
                )
        if method == "initialize":
            if "id" not in msg:
                raise _rpc_error(400, None, jsonrpc.INVALID_REQUEST, "initialize needs an id.")
            mux = await self._ready_mux(server, msg_id)
            session = Session(server.name)
            self._add_session(session, owner, msg_id)
            try:
                result = await mux.initialize(session, msg.get("params") or {})
            except Unavailable as exc:
                self.sessions.pop(session.id)
                raise self._unavailable(server, msg_id, exc) from None
            await _respond(
                send,
                200,
                jsonrpc.result(msg_id, result),
                [(b"content-type", _JSON), (b"mcp-session-id", session.id_bytes)],
            )
            return
        session = self._session(server.name, session_id, msg_id, owner)
        found = self._muxes.get(server.name)
        if found is None or session.closed:
            raise _rpc_error(404, msg_id, jsonrpc.INVALID_REQUEST, "Session not found.")
        mux = found
        if method is None or "id" not in msg:
            # A notification, or the client's response to a server request.
            with contextlib.suppress(Unavailable, _HTTPError):
                if not mux.ready():
                    await self._ready_mux(server, None)
                mux.notify(session, msg)
            await _respond(send, 202, b"", [])
            return
        if not mux.ready():
            mux = await self._ready_mux(server, msg_id)
        channel = PostChannel(sse_ok)
        try:
            mux.submit(session, msg, channel)
        except Unavailable as exc:
            raise self._unavailable(server, msg_id, exc) from None
        loop = asyncio.get_running_loop()
        if not channel.done:
            channel.waiter = loop.create_future()
            await channel.waiter
        messages = channel.messages
        if channel.done and len(messages) == 1:
            body = messages[0]
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", _JSON),
                        (b"mcp-session-id", session.id_bytes),
                        (b"content-length", b"%d" % len(body)),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        if channel.cancelled and not messages:
            # Cancelled before anything was sent: no response (mux.PostChannel.cancel).
            await _respond(send, 202, b"", [(b"mcp-session-id", session.id_bytes)])
            return
        # The server sent requests/notifications for this request first: stream them.
        await self._post_stream(receive, send, session, channel, None)

    async def _post_stream(
        self,
        receive: Receive,
        send: Send,
        session: Session,
        channel: PostChannel,
        replayed: list[bytes] | None,
    ) -> None:
        """Serve a request's SSE stream: its related messages, then its response.

        If the client leaves before the response, the channel stays with the session
        (``session.post_streams``) and keeps collecting; a GET with ``Last-Event-ID``
        takes it over (``replayed``: the frames it missed) and this loop serves it on.
        """
        replay = session.replay
        label = channel.label
        if label is None:
            label = channel.label = replay.new_stream(POST_STREAM)
            session.keep_post_stream(channel)
        owner = object()
        channel.owner = owner
        channel.wake()  # a previous response serving this stream stops
        channel.waiter = None
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_SSE_HEADERS, (b"mcp-session-id", session.id_bytes)],
            }
        )
        if replayed is not None:
            first = replayed
        elif session.protocol_version >= "2025-11-25":
            first = [replay.prime(label)]
        else:
            first = []
        loop = asyncio.get_running_loop()
        disconnected = asyncio.ensure_future(_wait_disconnect(receive))
        try:
            while True:
                if channel.owner is not owner:
                    return  # a resumption took the stream (and what is queued) over
                batch, channel.messages = channel.messages, []
                if batch:
                    first.extend(replay.event(label, m) for m in batch)
                if first:
                    body, first = b"".join(first), []
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                if channel.owner is not owner or disconnected.done():
                    # Resumed elsewhere, or the client left: the channel waits for a GET
                    # with Last-Event-ID (disconnect is not cancellation).
                    log.debug(
                        "session %s: stream %s %s",
                        session.id[:8],
                        label.decode(),
                        "taken over" if channel.owner is not owner else "left by the client",
                    )
                    return
                if channel.done and not channel.messages:
                    break
                if not channel.messages:
                    waiter = channel.waiter = loop.create_future()
                    await asyncio.wait((waiter, disconnected), return_when=asyncio.FIRST_COMPLETED)
                    if channel.waiter is waiter:
                        channel.waiter = None
            if not channel.cancelled:  # kept: a resumption hears it ended (see _get)
                session.post_streams.pop(label, None)
            channel.owner = None
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            disconnected.cancel()
            if channel.owner is owner:
                channel.owner = None

    async def _get(
        self, scope: Scope, receive: Receive, send: Send, server: ManagedServer, owner: Owner | None
    ) -> None:
        accept = session_id = last_event_id = None
        for key, value in scope["headers"]:
            if key == b"accept":
                accept = value
            elif key == b"mcp-session-id":
                session_id = value
            elif key == b"last-event-id":
                last_event_id = value
        if accept is not None and b"text/event-stream" not in accept.lower():
            raise _rpc_error(
                406, None, jsonrpc.INVALID_REQUEST, "GET needs Accept: text/event-stream."
            )
        session = self._session(server.name, session_id, None, owner)
        label = None
        first = None
        if last_event_id is not None:
            found = session.replay.after(last_event_id.decode("latin-1"))
            if found is not None:
                label, frames = found
                if label[:1] == POST_STREAM:
                    channel = session.post_streams.get(label)
                    if channel is not None and channel.cancelled:
                        # A cancelled request's stream ended without a response and
                        # none will come: nothing to resume (an empty SSE stream would
                        # make clients reconnect forever).
                        await _respond(send, 204, b"", [])
                        return
                    if channel is not None:
                        await self._post_stream(receive, send, session, channel, frames)
                        return
                    if frames:
                        # The request finished but the client missed the end: replay it.
                        await send(
                            {
                                "type": "http.response.start",
                                "status": 200,
                                "headers": [*_SSE_HEADERS, (b"mcp-session-id", session.id_bytes)],
                            }
                        )
                        await send({"type": "http.response.body", "body": b"".join(frames)})
                        return
                    label = None  # nothing left of that stream: a fresh GET stream
                else:
                    first = b"".join(frames)
            if label is None:
                log.debug("Last-Event-ID %r: nothing to replay, a fresh stream", last_event_id)
        box = Outbox(label or session.replay.new_stream(GET_STREAM))
        if label is not None:
            # Resuming a GET stream: an older response still serving it (the client's
            # disconnect not noticed yet) hands over what it had not written.
            for old in [b for b in session.outboxes if b.label == label]:
                old.closed = True
                session.outboxes.remove(old)
                for message in old.drain():
                    box.push(message)
        session.attach(box)
        if first is None and session.protocol_version >= "2025-11-25":
            first = session.replay.prime(box.label)
        try:
            await self._stream(
                receive, send, box, [(b"mcp-session-id", session.id_bytes)], first, session
            )
        finally:
            session.detach(box)
            session.last_active = self._clock()

    async def _delete(self, scope: Scope, server: ManagedServer, owner: Owner | None) -> None:
        session_id = None
        for key, value in scope["headers"]:
            if key == b"mcp-session-id":
                session_id = value
        session = self._session(server.name, session_id, None, owner)
        self._end_session(session)

    # -- legacy HTTP+SSE (2024-11-05) -----------------------------------------------------
    async def _legacy_stream(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        server: ManagedServer,
        prefix: str,
        owner: Owner | None,
    ) -> None:
        if server.state in _DOWN_STATES:
            raise self._unavailable(server, None, None)
        session = Session(server.name, legacy=True)
        self._add_session(session, owner, None)
        box = Outbox()
        session.attach(box)
        endpoint = f"{prefix}/servers/{server.name}/messages?session_id={session.id}".encode()
        try:
            await self._stream(
                receive, send, box, [], b"event: endpoint\ndata: " + endpoint + b"\n\n"
            )
        finally:
            self._end_session(session)

    async def _legacy_post(
        self, scope: Scope, receive: Receive, send: Send, server: ManagedServer, owner: Owner | None
    ) -> None:
        content_type = None
        length = -1
        for key, value in scope["headers"]:
            if key == b"content-type":
                content_type = value
            elif key == b"content-length":
                length = int(value) if value.isdigit() else -1
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        sid = (query.get("session_id") or [""])[0]
        session = self.sessions.find(sid, owner)
        if session is None or session.server != server.name or not session.legacy:
            raise _rpc_error(404, None, jsonrpc.INVALID_REQUEST, "Session not found.")
        if content_type is None or not content_type.lower().startswith(_JSON):
            raise _rpc_error(
                415, None, jsonrpc.INVALID_REQUEST, "Content-Type must be application/json."
            )
        msg = _parse(await self._read_body(receive, length))
        method = msg.get("method")
        msg_id = msg.get("id")
        # Errors about the server's state go on the stream: legacy clients give up on a
        # session whose POST fails.
        try:
            if method == "initialize":
                mux = await self._ready_mux(server, msg_id)
                result = await mux.initialize(session, msg.get("params") or {})
                session.send(jsonrpc.result(msg_id, result))
            elif method is None or "id" not in msg:
                mux = self._muxes.get(server.name) or await self._ready_mux(server, None)
                if not mux.ready():
                    await self._ready_mux(server, None)
                mux.notify(session, msg)
            else:
                mux = self._muxes.get(server.name) or await self._ready_mux(server, msg_id)
                if not mux.ready():
                    mux = await self._ready_mux(server, msg_id)
                mux.submit(session, msg, session)
        except Unavailable as exc:
            if "id" in msg and method is not None:
                session.send(self._unavailable(server, msg_id, exc).body)
        except _HTTPError as exc:
            if "id" in msg and method is not None:
                session.send(exc.body)
        await _respond(send, 202, b"", [])

    # -- shared pieces ----------------------------------------------------------------------
    def _session(
        self,
        name: str,
        session_id: bytes | None,
        msg_id: jsonrpc.MessageId,
        owner: Owner | None,
    ) -> Session:
        """The session named by ``Mcp-Session-Id``: 404 when unknown, ended, of another
        server, or bound to another caller (see ``sessions.py``)."""
        if session_id is None:
            raise _rpc_error(
                400,
                msg_id,
                jsonrpc.INVALID_REQUEST,
                "Missing Mcp-Session-Id header; initialize first.",
            )
        session = self.sessions.find(session_id.decode("latin-1"), owner)
        if session is None or session.server != name or session.legacy:
            raise _rpc_error(404, msg_id, jsonrpc.INVALID_REQUEST, "Session not found.")
        return session

    def _add_session(
        self, session: Session, owner: Owner | None, msg_id: jsonrpc.MessageId
    ) -> None:
        try:
            self.sessions.add(session, owner)
        except TooManySessions as exc:
            raise _HTTPError(
                exc.status,
                jsonrpc.error(msg_id, jsonrpc.INVALID_REQUEST, exc.message),
                [(b"content-type", _JSON), (b"retry-after", b"10")],
            ) from None

    def _end_session(self, session: Session) -> None:
        self.sessions.pop(session.id)
        mux = self._muxes.get(session.server)
        if mux is not None:
            mux.close_session(session)
        else:
            session.closed = True

    async def _ready_mux(self, server: ManagedServer, msg_id: jsonrpc.MessageId) -> StdioMux:
        name = server.name
        mux = self._muxes.get(name)
        if mux is None:
            supervisor = self._host.supervisor

            def stream_source() -> Any:
                try:
                    return supervisor.get(name).stream
                except ServerNotFound:
                    return None

            def timeout() -> float:
                try:
                    return supervisor.get(name).spec.request_timeout
                except ServerNotFound:
                    return 1.0

            mux = StdioMux(name, stream_source, timeout=timeout, isolation=server.spec.isolation)
            self._muxes[name] = mux
        if mux.ready():
            return mux
        deadline = self._clock() + self.start_wait
        while server.stream is None or server.stream.closed:
            if server.state in _DOWN_STATES:
                raise self._unavailable(server, msg_id, None)
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise self._unavailable(server, msg_id, None)
            fut = asyncio.get_running_loop().create_future()
            self._waiters.setdefault(name, []).append(fut)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(fut, min(remaining, 1.0))
        if mux.init_params is None:
            return mux  # the first initialize sets it up (StdioMux.initialize)
        try:
            await mux.ensure_ready()
        except Unavailable as exc:
            raise self._unavailable(server, msg_id, exc) from None
        return mux

    def _unavailable(
        self, server: ManagedServer, msg_id: jsonrpc.MessageId, exc: Unavailable | None
    ) -> _HTTPError:
        state = server.state.value
        if exc is not None and server.state is ServerState.RUNNING:
            message = str(exc)
            state = exc.state
        else:
            message = f"Server {server.name!r} is {state}."
        hint = f"Start it: 'switchboard start {server.name}' or from the tray."
        if server.state is ServerState.FAILED:
            hint = f"It failed: see 'switchboard logs {server.name}', fix it, then start it again."
        return _HTTPError(
            503,
            jsonrpc.error(
                msg_id,
                jsonrpc.SERVER_UNAVAILABLE,
                f"{message} {hint}",
                {"server": server.name, "state": state},
            ),
            [(b"content-type", _JSON), (b"retry-after", b"2")],
        )

    async def _read_body(self, receive: Receive, length: int) -> bytes:
        if length > self.max_body:
            raise _rpc_error(
                413, None, jsonrpc.INVALID_REQUEST, f"Request body over {self.max_body} bytes."
            )
        message = await receive()
        body: bytes = message.get("body", b"")
        if not message.get("more_body", False):
            if len(body) > self.max_body:
                raise _rpc_error(
                    413, None, jsonrpc.INVALID_REQUEST, f"Request body over {self.max_body} bytes."
                )
            return body
        parts = [body]
        size = len(body)
        while message.get("more_body", False):
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _HTTPError(400, b"")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _rpc_error(
                    413, None, jsonrpc.INVALID_REQUEST, f"Request body over {self.max_body} bytes."
                )
            parts.append(chunk)
        return b"".join(parts)

    async def _stream(
        self,
        receive: Receive,
        send: Send,
        box: Outbox,
        headers: list[tuple[bytes, bytes]],
        first: bytes | None,
        session: Session | None = None,
    ) -> None:
        """Serve one long-lived SSE stream until the client leaves or the engine stops.
        With ``session`` (Streamable HTTP GET), events get ids and are kept for replay."""
        if session is not None:
            replay, label = session.replay, box.label

            def frame(message: bytes) -> bytes:
                return replay.event(label, message)
        else:
            frame = _sse_event
        await send(
            {"type": "http.response.start", "status": 200, "headers": [*_SSE_HEADERS, *headers]}
        )
        await send(
            {"type": "http.response.body", "body": first or b": open\n\n", "more_body": True}
        )
        disconnected = asyncio.ensure_future(_wait_disconnect(receive))
        getter: asyncio.Future[bytes] | None = None
        last_write = self._clock()
        tick = min(self.keepalive, 1.0)
        try:
            while not box.closed and self._host.state not in ("closing", "closed"):
                if getter is None:
                    getter = asyncio.ensure_future(box.queue.get())
                done, _ = await asyncio.wait(
                    (getter, disconnected), timeout=tick, return_when=asyncio.FIRST_COMPLETED
                )
                if getter in done and (box.closed or disconnected in done):
                    # Taken, but not written: back to the session (a resumed stream took
                    # this one over) or to the front of the box (handed on at detach).
                    message, getter = getter.result(), None
                    if box.closed:
                        if session is not None:
                            session.send(message)
                    else:
                        rest = box.drain()
                        for item in (message, *rest):
                            box.push(item)
                    break
                if disconnected in done:
                    break
                now = self._clock()
                if getter in done:
                    chunks = [frame(getter.result())]
                    getter = None
                    while not box.queue.empty():
                        chunks.append(frame(box.queue.get_nowait()))
                    await send(
                        {"type": "http.response.body", "body": b"".join(chunks), "more_body": True}
                    )
                    last_write = now
                elif now - last_write >= self.keepalive:
                    await send(
                        {
                            "type": "http.response.body",
                            "body": b": keepalive\n\n",
                            "more_body": True,
                        }
                    )
                    last_write = now
            with contextlib.suppress(Exception):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            disconnected.cancel()
            if getter is not None:
                getter.cancel()

    # -- pass-through -----------------------------------------------------------------------
    async def _pass_through(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        server: ManagedServer,
        endpoint: str,
        prefix: str,
        owner: Owner | None,
    ) -> None:
        from switchboard.gateway.passthrough import PassThrough

        if server.state is not ServerState.RUNNING:
            raise self._unavailable(server, None, None)
        if self._passthrough is None:
            self._passthrough = PassThrough(self._http_transport)
        await self._passthrough.handle(
            scope, receive, send, server.spec, endpoint, prefix, self.max_body, owner
        )

    async def aclose(self) -> None:
        for name in list(self._muxes):
            self._drop_mux(name)
        if self._passthrough is not None:
            await self._passthrough.aclose()


def _cors(origin: bytes, preflight: bool = False) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"access-control-allow-origin", origin),
        (b"vary", b"Origin"),
        (b"access-control-expose-headers", b"mcp-session-id, www-authenticate"),
    ]
    if preflight:
        headers += [
            (b"access-control-allow-methods", b"GET, POST, DELETE, OPTIONS"),
            (
                b"access-control-allow-headers",
                b"authorization, content-type, accept, mcp-session-id, mcp-protocol-version, "
                b"last-event-id",
            ),
            (b"access-control-max-age", b"600"),
        ]
    return headers


def _with_cors(send: Send, origin: bytes) -> Send:
    extra = _cors(origin)

    async def wrapped(message: Any) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *extra]}
        await send(message)

    return wrapped


def _sse_event(message: bytes) -> bytes:
    return b"event: message\ndata: " + message + b"\n\n"


def _parse(body: bytes) -> dict[str, Any]:
    try:
        msg = jsonrpc.loads(body)
    except jsonrpc.JSONDecodeError:
        raise _rpc_error(
            400, None, jsonrpc.PARSE_ERROR, "Parse error: the body is not valid JSON."
        ) from None
    if isinstance(msg, list):
        raise _rpc_error(
            400,
            None,
            jsonrpc.INVALID_REQUEST,
            "JSON-RPC batches are not supported (MCP 2025-06-18+).",
        )
    if not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0":
        raise _rpc_error(400, None, jsonrpc.INVALID_REQUEST, "Not a JSON-RPC 2.0 message.")
    method = msg.get("method")
    if method is not None and not isinstance(method, str):
        raise _rpc_error(400, msg.get("id"), jsonrpc.INVALID_REQUEST, "method must be a string.")
    if method is None and "result" not in msg and "error" not in msg:
        raise _rpc_error(400, msg.get("id"), jsonrpc.INVALID_REQUEST, "Not a JSON-RPC 2.0 message.")
    problem = jsonrpc.check_client_message(msg)
    if problem is not None:
        msg_id = msg.get("id")
        raise _rpc_error(
            400, msg_id if jsonrpc.is_id(msg_id) else None, jsonrpc.INVALID_REQUEST, problem
        )
    return msg


def _json_error(code: str, message: str, hint: str) -> bytes:
    return jsonrpc.dumps({"error": code, "message": message, "hint": hint})


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    if body and not any(k == b"content-type" for k, _ in headers):
        headers = [(b"content-type", _JSON), *headers]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


Handler = Callable[[Scope, Receive, Send], Awaitable[None]]
