"""An MCP client inside the engine, on a server's shared mux (no second process).

Groups open one member session per group session on each member's
:class:`~switchboard.gateway.mux.StdioMux`; the inspector lists and calls tools of a
running server. Both are "just another client" of the mux: an :class:`InternalSession`
is a :class:`~switchboard.gateway.channels.Session` whose messages are delivered to a
Python callback instead of an HTTP stream, and each request's replies go to a
:class:`_RequestChannel` instead of a POST response. Everything the mux does for HTTP
clients applies unchanged: id rewriting, timeouts, exact-or-refuse attribution of the
server's requests (MCP 2025-11-25 client/sampling, client/elicitation: they reach the
``on_message`` of the request that caused them), progress (basic/utilities/progress),
cancellation (basic/utilities/cancellation: cancelling the awaiting task sends
``notifications/cancelled`` upstream) and re-initialization after a restart.

Messages are parsed once into dicts for the callbacks; a request's final response is
returned as its ``result`` or raised as :class:`RpcError` (JSON-RPC 2.0 §5.1).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from switchboard.core.errors import ServerNotFound
from switchboard.gateway import jsonrpc
from switchboard.gateway.channels import Session, Unavailable
from switchboard.gateway.http_io import HTTPError
from switchboard.gateway.initialization import LATEST_VERSION

if TYPE_CHECKING:
    from switchboard.gateway.gateway import Gateway
    from switchboard.gateway.mux import StdioMux

log = logging.getLogger("switchboard.gateway")

OnMessage = Callable[[dict[str, Any]], None]
"""Receives one server->client message (a notification or a request), parsed."""


class RpcError(Exception):
    """The server (or the gateway for it) answered a request with a JSON-RPC error."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def _ignore(msg: dict[str, Any]) -> None:
    log.debug("internal session: dropped %s", msg.get("method", "a response"))


def _parse(message: bytes) -> dict[str, Any] | None:
    try:
        msg = jsonrpc.loads(message)
    except jsonrpc.JSONDecodeError:
        return None
    return msg if isinstance(msg, dict) else None


def _deliver(callback: OnMessage, message: bytes) -> None:
    msg = _parse(message)
    if msg is None:
        return
    try:
        callback(msg)
    except Exception:  # a consumer's bug must not break the mux's reader
        log.exception("internal session: a message handler failed")


class InternalSession(Session):
    """A client session whose server->client messages go to a callback."""

    def __init__(self, server: str, on_message: OnMessage) -> None:
        super().__init__(server)
        self.on_message = on_message

    def send(self, message: bytes) -> None:
        _deliver(self.on_message, message)

    def push(self, message: bytes, final: bool) -> None:
        self.send(message)


class _RequestChannel:
    """Where the mux puts one request's replies: related messages to ``on_message``,
    the response into :attr:`future`."""

    __slots__ = ("future", "on_message")

    def __init__(self, loop: asyncio.AbstractEventLoop, on_message: OnMessage) -> None:
        self.future: asyncio.Future[dict[str, Any]] = loop.create_future()
        self.on_message = on_message

    def push(self, message: bytes, final: bool) -> None:
        if not final:
            _deliver(self.on_message, message)
            return
        msg = _parse(message)
        if not self.future.done():
            self.future.set_result(msg if msg is not None else {})


def _unavailable(exc: HTTPError, name: str) -> Unavailable:
    """The gateway's 503 (``Gateway.unavailable``) as the exception internal callers get."""
    message = f"Server {name!r} is not available."
    state = "unavailable"
    body = _parse(exc.body) if exc.body else None
    err = body.get("error") if body else None
    if isinstance(err, dict):
        message = str(err.get("message", message))
        data = err.get("data")
        if isinstance(data, dict):
            state = str(data.get("state", state))
    return Unavailable(message, state)


class InternalClient:
    """One in-process client session on a server's mux (see the module docstring)."""

    def __init__(
        self, gateway: Gateway, server: str, session: InternalSession, result: dict[str, Any]
    ) -> None:
        self._gateway = gateway
        self.server = server
        self.session = session
        self.initialize_result = result
        """The server's InitializeResult (capabilities, serverInfo, instructions)."""
        self._ids = itertools.count(1)

    @property
    def closed(self) -> bool:
        return self.session.closed

    async def _mux(self) -> StdioMux:
        if self.session.closed:
            raise Unavailable(f"The session with server {self.server!r} has ended.", "closed")
        mux = self._gateway.mux_of(self.server)
        if mux is not None and mux.ready():
            return mux
        try:
            managed = self._gateway.managed(self.server)
            return await self._gateway.ready_mux(managed, None)
        except ServerNotFound:
            raise Unavailable(f"Server {self.server!r} was removed.", "removed") from None
        except HTTPError as exc:
            raise _unavailable(exc, self.server) from None

    async def request(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        on_message: OnMessage | None = None,
    ) -> dict[str, Any]:
        """Send a request and return its ``result``; :class:`RpcError` for an error
        response, :class:`Unavailable` when the server cannot take it. ``on_message``
        gets the messages related to this request (progress, sampling, ...)."""
        mux = await self._mux()
        msg_id = next(self._ids)
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            msg["params"] = params
        channel = _RequestChannel(asyncio.get_running_loop(), on_message or self.session.on_message)
        mux.submit(self.session, msg, channel)
        try:
            reply = await channel.future
        except asyncio.CancelledError:
            future = channel.future  # cancelled with the task unless the answer was in
            if future.cancelled() or not future.done():
                mux.notify(
                    self.session,
                    {
                        "jsonrpc": "2.0",
                        "method": "notifications/cancelled",
                        "params": {"requestId": msg_id, "reason": "Cancelled by the caller."},
                    },
                )
            raise
        if "error" in reply:
            err = reply["error"] if isinstance(reply["error"], dict) else {}
            raise RpcError(
                int(err.get("code", jsonrpc.INTERNAL_ERROR)),
                str(err.get("message", "error")),
                err.get("data"),
            )
        result = reply.get("result")
        return result if isinstance(result, dict) else {}

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification (dropped while the server is down)."""
        msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self._send(msg)

    def reply(
        self,
        request_id: jsonrpc.MessageId,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        """Answer a server->client request (sampling, elicitation, ...) received by an
        ``on_message`` callback: exactly one of ``result`` and ``error``."""
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
        if error is not None:
            msg["error"] = error
        else:
            msg["result"] = result if result is not None else {}
        self._send(msg)

    def _send(self, msg: dict[str, Any]) -> None:
        if self.session.closed:
            return
        mux = self._gateway.mux_of(self.server)
        if mux is None or not mux.ready():
            log.debug("internal session on %s: server down, dropped a message", self.server)
            return
        try:
            mux.notify(self.session, msg)
        except Unavailable:
            log.debug("internal session on %s: server went away", self.server)

    def close(self) -> None:
        """End the session (releases its subscriptions upstream)."""
        mux = self._gateway.mux_of(self.server)
        if mux is not None:
            mux.close_session(self.session)
        self.session.closed = True


async def open_internal(
    gateway: Gateway,
    server: str,
    *,
    client_info: dict[str, Any],
    capabilities: dict[str, Any] | None = None,
    owner: tuple[str | None, str] | None = None,
    via: str | None = None,
    on_message: OnMessage | None = None,
    protocol_version: str = LATEST_VERSION,
) -> InternalClient:
    """Open an internal session on ``server`` (waiting for a starting server like an
    HTTP client does). Raises ``ServerNotFound``, or :class:`Unavailable` naming the
    server and its state when it is down."""
    managed = gateway.managed(server)
    try:
        mux = await gateway.ready_mux(managed, None)
    except HTTPError as exc:
        raise _unavailable(exc, server) from None
    session = InternalSession(server, on_message or _ignore)
    session.owner = owner
    session.via = via
    params = {
        "protocolVersion": protocol_version,
        "capabilities": capabilities or {},
        "clientInfo": client_info,
    }
    result = await mux.initialize(session, params)
    return InternalClient(gateway, server, session, result)
