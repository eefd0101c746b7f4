"""The gateway: every server behind ``/servers/<name>/mcp`` (and legacy ``/sse``), and
every group behind ``/groups/<name>/mcp`` (and ``/sse``; see ``groups/``).

A plain ASGI app (no per-request Starlette objects: it is the hot path), mounted on
the engine's listener behind the Origin/Host guard (``guard.py``) and CORS
(``cors.py``). Per request it:

1. finds the server (404 if unknown) and asks the auth slot (``host.authenticator``,
   read at request time so the auth service can replace it; see
   ``authentication.py``) -> 401/403 as told;
2. for a local HTTP server, passes the request through (see ``passthrough.py``);
3. for a stdio server, speaks MCP Streamable HTTP 2025-11-25
   (``streamable_http.py``) or the legacy HTTP+SSE transport (``legacy_sse.py``),
   and hands messages to the server's :class:`~switchboard.gateway.mux.StdioMux`.

Sessions are bound to the caller that created them (another caller's token finds no
session: 404) and capped per caller (``sessions.py``). Body limit -> 413, invalid JSON
-> 400 with a JSON-RPC parse error (``http_io.py``); stopped/failed server -> 503
naming the server and its state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, overload

import httpx
from starlette.types import Receive, Scope, Send

from switchboard.core.activity import ActivitySink
from switchboard.core.auth import AuthDenied, Authenticator
from switchboard.core.errors import GroupNotFound, ServerNotFound
from switchboard.core.events import ConfigChanged, Event, EventBus, GroupsChanged, StateChanged
from switchboard.core.group import GroupSpec
from switchboard.core.spec import AuthMode
from switchboard.core.state import EngineState, ServerState
from switchboard.gateway import jsonrpc
from switchboard.gateway.channels import Outbox, Session
from switchboard.gateway.cors import CORS
from switchboard.gateway.groups.hub import GroupHub
from switchboard.gateway.groups.runtime import GroupMux
from switchboard.gateway.groups.target import GroupTarget
from switchboard.gateway.http_io import (
    JSON,
    Headers,
    HTTPError,
    json_error,
    respond,
    rpc_error,
    target_at,
)
from switchboard.gateway.internal import InternalClient, open_internal
from switchboard.gateway.legacy_sse import LegacySSE
from switchboard.gateway.mux import StdioMux, Unavailable
from switchboard.gateway.sessions import (
    MAX_PER_CLIENT,
    MAX_SESSIONS,
    Owner,
    SessionTable,
    TooManySessions,
    owner_of,
)
from switchboard.gateway.sse import serve_outbox
from switchboard.gateway.streamable_http import StreamableHTTP

log = logging.getLogger("switchboard.gateway")

if TYPE_CHECKING:
    from switchboard.supervisor.process import ManagedServer
    from switchboard.supervisor.supervisor import Supervisor

MAX_BODY = 4 * 1024 * 1024
"""Largest POST body accepted (a JSON-RPC message); bigger -> 413."""

_DOWN_STATES = {
    ServerState.STOPPED,
    ServerState.STOPPING,
    ServerState.FAILED,
    ServerState.NEEDS_SIGN_IN,
}

Target: TypeAlias = "ManagedServer | GroupTarget"
"""What a transport serves: a server, or a group (``groups/target.py``)."""


class GatewayHost(Protocol):
    """What the gateway needs from the engine (the Engine is one)."""

    supervisor: Supervisor
    events: EventBus
    authenticator: Authenticator
    state: EngineState

    def group(self, name: str) -> GroupSpec:
        """The group's spec (raises GroupNotFound)."""
        ...

    async def wake(self, name: str) -> None:
        """Start the sleeping on-demand server ``name`` (issue 16.2)."""


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
        activity: ActivitySink | None = None,
    ) -> None:
        self._host = host
        self.activity = activity
        """Where every forwarded request is recorded when it ends (None: nowhere)."""
        self.max_body = max_body
        self.keepalive = keepalive
        self.start_wait = start_wait
        self.clock = clock
        self._muxes: dict[str, StdioMux] = {}
        self.sessions = SessionTable(
            clock,
            self._end_session,
            max_sessions=max_sessions,
            max_per_client=max_sessions_per_client,
        )
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._waking: dict[str, asyncio.Task[None]] = {}
        self._http_transport = http_transport
        self._passthrough: Any = None
        self._closing: set[asyncio.Task[None]] = set()
        self.groups = GroupHub(self, host)
        self.streamable = StreamableHTTP(self)
        self.legacy = LegacySSE(self)
        self._app = CORS(self._dispatch, auth_off=self._auth_off)
        host.events.subscribe(self._on_event)

    # -- events -----------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if isinstance(event, StateChanged):
            for fut in self._waiters.pop(event.name, ()):
                if not fut.done():
                    fut.set_result(None)
            self.groups.server_state_changed(event.name)
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
                if spec is None or not spec.muxed:
                    self._drop_mux(name)
                else:
                    mux.set_isolation(spec.isolation)
            for name in event.names:
                if self.groups.state_of(name) is None:
                    self.groups.server_removed(name)
        elif isinstance(event, GroupsChanged):
            self.groups.groups_changed(event.names)

    def _maybe_close_passthrough(self) -> None:
        """Close the upstream HTTP client once no pass-through server is up (engine
        shutdown stops every server, so nothing is left open)."""
        for server in self._host.supervisor.servers():
            if not server.spec.muxed and server.state.is_active:
                return
        passthrough, self._passthrough = self._passthrough, None
        task = asyncio.get_running_loop().create_task(passthrough.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _drop_mux(self, name: str) -> None:
        mux = self._muxes.pop(name, None)
        if mux is None:
            return
        self.sessions.forget_server(mux.sessions.values())
        mux.close()

    # -- ASGI -------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        kind, i = target_at(path)
        if kind == "groups":
            await self.groups.dispatch(scope, receive, send, path)
            return
        name, _, endpoint = path[i + 9 :].partition("/")
        host = authorization = None
        for key, value in scope["headers"]:  # one pass for what every request needs
            if key == b"host":
                host = value
            elif key == b"authorization":
                authorization = value
        try:
            await self._handle(scope, receive, send, path[:i], name, endpoint, host, authorization)
        except HTTPError as exc:
            await respond(send, exc.status, exc.body, exc.headers)

    def _auth_off(self, name: str) -> bool:
        if name.startswith("groups/"):
            try:
                return self.groups.spec(name[7:]).auth is AuthMode.OFF
            except GroupNotFound:
                return False
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
            raise HTTPError(
                404,
                json_error(
                    "not_found",
                    f"No server named {name!r}.",
                    "Run 'switchboard list' to see configured servers.",
                ),
            ) from None
        if endpoint not in ("mcp", "sse", "messages"):
            raise HTTPError(404, json_error("not_found", "No such endpoint.", "Use .../mcp."))
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
            raise HTTPError(
                denied.status,
                jsonrpc.dumps(denied.body),
                [(b"www-authenticate", denied.www_authenticate.encode("latin-1"))],
            ) from None
        owner = owner_of(principal)
        if not spec.muxed:
            await self._pass_through(scope, receive, send, server, endpoint, prefix, owner)
            return
        await self.serve(scope, receive, send, server, endpoint, prefix, owner)

    async def serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        server: ManagedServer | GroupTarget,
        endpoint: str,
        prefix: str,
        owner: Owner | None,
    ) -> None:
        method = scope["method"]
        if endpoint == "mcp":
            if method == "POST":
                await self.streamable.post(scope, receive, send, server, owner)
            elif method == "GET":
                await self.streamable.get(scope, receive, send, server, owner)
            elif method == "DELETE":
                await self.streamable.delete(scope, server, owner)
                await respond(send, 200, b"", [])
            else:
                raise HTTPError(405, b"", [(b"allow", b"GET, POST, DELETE")])
        elif endpoint == "sse":
            if method != "GET":
                raise HTTPError(405, b"", [(b"allow", b"GET")])
            await self.legacy.stream(scope, receive, send, server, prefix, owner)
        else:
            if method != "POST":
                raise HTTPError(405, b"", [(b"allow", b"POST")])
            await self.legacy.post(scope, receive, send, server, owner)

    # -- groups -----------------------------------------------------------------------
    def mux_for(self, key: str) -> StdioMux | GroupMux | None:
        """The mux of a server or group session key (``name`` or ``groups/<name>``)."""
        return self._muxes.get(key) or self.groups.muxes.get(key)

    async def server_listing(self, name: str) -> dict[str, Any]:
        """A server's tools, prompts, resources and templates as it sent them, its state
        and why they are missing (DESIGN.md). Starts nothing."""
        return await self.groups.server_listing(name)

    async def group_listing(self, name: str) -> dict[str, Any]:
        """What each member of group ``name`` offers and what the group exposes of it
        (DESIGN.md). Raises GroupNotFound."""
        return await self.groups.group_listing(name)

    # -- sessions ---------------------------------------------------------------------
    def session_for(
        self,
        name: str,
        session_id: bytes | None,
        msg_id: jsonrpc.MessageId,
        owner: Owner | None,
    ) -> Session:
        """The Streamable HTTP session named by ``Mcp-Session-Id``: 404 when unknown,
        ended, of another server, or bound to another caller (see ``sessions.py``)."""
        if session_id is None:
            raise rpc_error(
                400,
                msg_id,
                jsonrpc.INVALID_REQUEST,
                "Missing Mcp-Session-Id header; initialize first.",
            )
        session = self.sessions.find(session_id.decode("latin-1"), owner, server=name)
        if session is None:
            raise rpc_error(404, msg_id, jsonrpc.INVALID_REQUEST, "Session not found.")
        return session

    def _add_session(
        self, session: Session, owner: Owner | None, msg_id: jsonrpc.MessageId
    ) -> None:
        session.owner = owner
        try:
            self.sessions.add(session, owner)
        except TooManySessions as exc:
            raise HTTPError(
                exc.status,
                jsonrpc.error(msg_id, jsonrpc.INVALID_REQUEST, exc.message),
                [(b"content-type", JSON), (b"retry-after", b"10")],
            ) from None

    def _end_session(self, session: Session) -> None:
        self.sessions.pop(session.id)
        mux = self.mux_for(session.server)
        if mux is not None:
            mux.close_session(session)
        else:
            session.closed = True

    async def serve_stream(
        self,
        receive: Receive,
        send: Send,
        box: Outbox,
        headers: Headers,
        first: bytes | None,
        session: Session | None = None,
    ) -> None:
        """Serve one long-lived SSE stream (see ``sse.py``) until the client leaves or
        the engine stops."""
        host = self._host
        await serve_outbox(
            receive,
            send,
            box,
            headers,
            first,
            keepalive=self.keepalive,
            clock=self.clock,
            stopping=lambda: host.state in (EngineState.CLOSING, EngineState.CLOSED),
            session=session,
        )

    # -- in-process clients (groups, the inspector; see internal.py) -------------------
    def managed(self, name: str) -> ManagedServer:
        """The supervised server ``name`` (raises ServerNotFound)."""
        return self._host.supervisor.get(name)

    def mux_of(self, name: str) -> StdioMux | None:
        """The server's mux if one was made (a client or internal session opened it)."""
        return self._muxes.get(name)

    async def open_internal(
        self,
        name: str,
        *,
        client_info: dict[str, Any],
        capabilities: dict[str, Any] | None = None,
        owner: Owner | None = None,
        via: str | None = None,
        on_message: Callable[[dict[str, Any]], None] | None = None,
    ) -> InternalClient:
        """An MCP client session inside the engine on server ``name``'s mux (see
        ``internal.py``): raises ServerNotFound, or Unavailable when the server is down
        or is not a stdio server."""
        server = self.managed(name)
        if not server.spec.muxed:
            raise Unavailable(
                f"Server {name!r} is a {server.spec.transport.value} server: the gateway "
                "passes its requests through and cannot open a session on it itself.",
                "pass-through",
            )
        return await open_internal(
            self,
            name,
            client_info=client_info,
            capabilities=capabilities,
            owner=owner,
            via=via,
            on_message=on_message,
        )

    # -- the server's process ---------------------------------------------------------
    def is_down(self, server: ManagedServer | GroupTarget) -> bool:
        """Stopped, stopping or failed: nothing will answer until someone starts it."""
        return server.state in _DOWN_STATES

    @overload
    async def ready_mux(self, server: ManagedServer, msg_id: jsonrpc.MessageId) -> StdioMux: ...
    @overload
    async def ready_mux(
        self, server: ManagedServer | GroupTarget, msg_id: jsonrpc.MessageId
    ) -> StdioMux | GroupMux: ...
    async def ready_mux(
        self, server: ManagedServer | GroupTarget, msg_id: jsonrpc.MessageId
    ) -> StdioMux | GroupMux:
        """The server's mux, ready for requests: waits up to ``start_wait`` for a
        starting process; 503 (:meth:`unavailable`) if there is none. A group's is
        always ready."""
        if type(server) is GroupTarget:
            return server.mux
        assert not isinstance(server, GroupTarget)
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

            mux = StdioMux(
                name,
                stream_source,
                timeout=timeout,
                isolation=server.spec.isolation,
                activity=self.activity,
            )
            self._muxes[name] = mux
        if mux.ready():
            return mux
        deadline = self.clock() + self.start_wait
        while server.stream is None or server.stream.closed:
            if server.wakeable:  # on demand and asleep: start it, wait as for a start
                self._wake(name)
            elif server.state in _DOWN_STATES or (
                server.spec.remote and server.state is ServerState.BACKOFF
            ):  # a remote that cannot be reached: say so now, not after start_wait
                raise self.unavailable(server, msg_id, None)
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise self.unavailable(server, msg_id, None)
            fut = asyncio.get_running_loop().create_future()
            self._waiters.setdefault(name, []).append(fut)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(fut, min(remaining, 1.0))
        if mux.init_params is None:
            return mux  # the first initialize sets it up (StdioMux.initialize)
        try:
            await mux.ensure_ready()
        except Unavailable as exc:
            raise self.unavailable(server, msg_id, exc) from None
        return mux

    def _wake(self, name: str) -> None:
        """Start one wake of ``name`` (callers wait on its state changes, not on it)."""
        if name in self._waking:
            return
        task = asyncio.get_running_loop().create_task(self._host.wake(name))
        self._waking[name] = task
        task.add_done_callback(lambda t: self._woken(name, t))

    def _woken(self, name: str, task: asyncio.Task[None]) -> None:
        self._waking.pop(name, None)
        if not task.cancelled() and task.exception() is not None:
            # The waiting request tries again within a second, until start_wait ends.
            log.warning("could not wake server %s: %s", name, task.exception())

    def unavailable(
        self,
        server: ManagedServer | GroupTarget,
        msg_id: jsonrpc.MessageId,
        exc: Unavailable | None,
    ) -> HTTPError:
        """503 naming the server, its state and what to do."""
        state = server.state.value
        if exc is not None and server.state is ServerState.RUNNING:
            message = str(exc)
            state = exc.state
        else:
            message = f"Server {server.name!r} is {state}."
        hint = f"Start it: 'switchboard start {server.name}' or from the tray."
        if server.state is ServerState.FAILED:
            hint = f"It failed: see 'switchboard logs {server.name}', fix it, then start it again."
        elif (
            not isinstance(server, GroupTarget)
            and server.spec.remote
            and server.state is ServerState.BACKOFF
        ):
            message = f"Remote server {server.name!r} is unreachable: {server.detail}"
            hint = "Switchboard keeps retrying; check the network or the provider's status."
        elif server.state is ServerState.NEEDS_SIGN_IN:
            message = f"Remote server {server.name!r} needs sign-in."
            hint = f"Sign in once in Switchboard: 'switchboard signin {server.name}' or the window."
        return HTTPError(
            503,
            jsonrpc.error(
                msg_id,
                jsonrpc.SERVER_UNAVAILABLE,
                f"{message} {hint}",
                {"server": server.name, "state": state},
            ),
            [(b"content-type", JSON), (b"retry-after", b"2")],
        )

    # -- pass-through -----------------------------------------------------------------
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
            raise self.unavailable(server, None, None)
        if self._passthrough is None:
            self._passthrough = PassThrough(self._http_transport, self.activity)
        await self._passthrough.handle(
            scope, receive, send, server.spec, endpoint, prefix, self.max_body, owner
        )

    async def aclose(self) -> None:
        self.groups.close()
        for name in list(self._muxes):
            self._drop_mux(name)
        if self._passthrough is not None:
            await self._passthrough.aclose()
