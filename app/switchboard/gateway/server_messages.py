"""Messages a stdio server sends on its own: its requests to clients (ping, roots,
sampling, elicitation) and its notifications, routed to the client sessions they
concern (MCP 2025-11-25 client/sampling, client/elicitation, client/roots,
basic/utilities/progress and cancellation, server/resources, server/utilities/logging).

The stdio wire does not say which client request caused a server request, and a guess
would show one person's prompt to another: :mod:`~switchboard.gateway.attribution`
names the caller exactly or the request is refused; once a server asks without naming
the caller, its :class:`~switchboard.gateway.mux.StdioMux` admits one causing request
at a time (``serial``). Progress notifications are exact (by progress token), resource
updates go to subscribers, list_changed to everyone. Responses to the mux's own
requests are not handled here (the mux restores their ids).
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from switchboard.core.spec import Isolation
from switchboard.gateway import jsonrpc
from switchboard.gateway.attribution import Refusal, by_running, by_token, check_capable
from switchboard.gateway.channels import Pending, PostChannel, Session, Unavailable

if TYPE_CHECKING:
    from switchboard.gateway.mux import StdioMux

log = logging.getLogger("switchboard.gateway")


def _streams_related(pending: Pending) -> bool:
    """Can messages related to ``pending`` go on its own response (an open SSE stream)?"""
    ch = pending.channel
    return not isinstance(ch, PostChannel) or (ch.sse_ok and not ch.done)


class ServerMessages:
    """Routes what one server process sends on its own to the mux's client sessions."""

    __slots__ = ("_mux",)

    def __init__(self, mux: StdioMux) -> None:
        self._mux = mux

    def request(self, method: str, msg: dict[str, Any], line: bytes) -> None:
        """A request from the server (ping, roots, sampling, elicitation, ...)."""
        mux = self._mux
        msg_id = msg.get("id")
        if not jsonrpc.is_id(msg_id):
            log.warning(
                "server %s: dropped a %.80s request whose id is not a string or number",
                mux.name,
                method,
            )
            return
        if method == "ping":
            mux.write(mux.stream, jsonrpc.result(msg_id, {}))
            return
        if method == "roots/list":
            log.info("server %s asked for roots; a shared process is not told them", mux.name)
            mux.write(
                mux.stream,
                jsonrpc.error(
                    msg_id,
                    jsonrpc.METHOD_NOT_FOUND,
                    "Roots are not available: this server process is shared by several "
                    "clients through Switchboard, and one client's workspace must not "
                    "become another's.",
                ),
            )
            return
        params = msg.get("params")
        params = params if isinstance(params, dict) else {}
        found: Pending | Refusal | None = by_token(params, mux.progress)
        if found is None:
            found = by_running(method, mux.pending.values())
            # Asked during a request without naming it: later concurrent requests would
            # be ambiguous, so they run one at a time from now on (AUTO). Asked outside
            # any request (e.g. roots/list after initialize): refused, nothing to line up.
            idle = isinstance(found, Refusal) and found.idle
            if not mux.serial and mux.isolation is Isolation.AUTO and not idle:
                mux.serial = True
                log.info(
                    "server %s sent %s without naming the client request it belongs to: "
                    "from now on its requests run one at a time so that every such "
                    "request reaches the client that caused it",
                    mux.name,
                    method,
                )
        refusal = found if isinstance(found, Refusal) else check_capable(method, found)
        if refusal is not None:
            log.info("server %s: refused its %.80s request: %s", mux.name, method, refusal.message)
            with contextlib.suppress(Unavailable):
                mux.write(mux.stream, jsonrpc.error(msg_id, refusal.code, refusal.message))
            return
        assert not isinstance(found, Refusal)
        pending, session = found, found.session
        mux.server_requests[msg_id] = session
        if _streams_related(pending):
            pending.channel.push(line, False)
        else:
            self.deliver_related(session, line)

    def deliver_related(self, session: Session, line: bytes) -> None:
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

    def notification(self, method: str, msg: dict[str, Any], line: bytes) -> None:
        """A notification from the server: to the sessions it concerns."""
        mux = self._mux
        params = msg.get("params")
        params = params if isinstance(params, dict) else {}
        if method == "notifications/progress":
            token = params.get("progressToken")
            pending = mux.progress.get(token) if jsonrpc.is_token(token) else None
            if pending is None:
                return
            assert pending.token is not None
            if pending.token[0] != pending.token[1]:
                line = jsonrpc.dumps(
                    {**msg, "params": {**params, "progressToken": pending.token[1]}}
                )
            # Progress shows the request is alive: the timeout starts over (the sweep
            # due at the old deadline finds it later and sleeps on).
            pending.deadline = mux.deadline()
            ch = pending.channel
            if isinstance(ch, PostChannel) and not (ch.sse_ok and not ch.done):
                pending.session.send(line)
            else:
                ch.push(line, False)
            return
        if method == "notifications/cancelled":
            key = params.get("requestId")
            session = mux.server_requests.pop(key, None) if jsonrpc.is_id(key) else None
            if session is not None:
                session.send(line)
            return
        if method == "notifications/resources/updated":
            uri = params.get("uri")
            if not isinstance(uri, str):
                return
            for session in list(mux.sessions.values()):
                if uri in session.subscriptions:
                    session.send(line)
            return
        if method == "notifications/message":
            # A log line names no request either: to the sessions whose causing requests
            # run (one, once requests run one at a time), else whose requests run, else
            # everyone (a server-level message). Never to those only waiting in line.
            causing: dict[str, Session] = {}
            running: dict[str, Session] = {}
            for p in mux.pending.values():
                if p.line is None:
                    (causing if p.causing else running)[p.session.id] = p.session
            for session in list((causing or running or mux.sessions).values()):
                self.deliver_related(session, line)
            return
        for session in list(mux.sessions.values()):
            session.send(line)
