"""The legacy HTTP+SSE transport (MCP 2024-11-05 basic/transports, "HTTP with SSE") for
stdio servers (and groups, ``/groups/<name>/sse``): ``GET /servers/<name>/sse`` opens the
session's stream, whose first event names the ``.../messages?session_id=...`` endpoint
the client POSTs to.

Answers and errors about the server's state go on the stream, not in the POST's
response: legacy clients give up on a session whose POST fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from starlette.types import Receive, Scope, Send

from switchboard.gateway import jsonrpc
from switchboard.gateway.channels import Outbox, Session
from switchboard.gateway.http_io import (
    JSON,
    HTTPError,
    parse_message,
    read_body,
    respond,
    rpc_error,
)
from switchboard.gateway.mux import Unavailable
from switchboard.gateway.sessions import Owner

if TYPE_CHECKING:
    from switchboard.gateway.gateway import Gateway, Target


class LegacySSE:
    """The ``/sse`` and ``/messages`` endpoints of the gateway's stdio servers."""

    def __init__(self, gateway: Gateway) -> None:
        self._gw = gateway

    async def stream(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        server: Target,
        prefix: str,
        owner: Owner | None,
    ) -> None:
        gw = self._gw
        if gw.is_down(server):
            raise gw.unavailable(server, None, None)
        session = Session(server.name, legacy=True)
        gw._add_session(session, owner, None)
        box = Outbox()
        session.attach(box)
        base = server.name if "/" in server.name else f"servers/{server.name}"  # groups/<g>
        endpoint = f"{prefix}/{base}/messages?session_id={session.id}".encode()
        try:
            await gw.serve_stream(
                receive, send, box, [], b"event: endpoint\ndata: " + endpoint + b"\n\n"
            )
        finally:
            gw._end_session(session)

    async def post(
        self, scope: Scope, receive: Receive, send: Send, server: Target, owner: Owner | None
    ) -> None:
        gw = self._gw
        content_type = None
        length = -1
        for key, value in scope["headers"]:
            if key == b"content-type":
                content_type = value
            elif key == b"content-length":
                length = int(value) if value.isdigit() else -1
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        sid = (query.get("session_id") or [""])[0]
        session = gw.sessions.find(sid, owner, server=server.name, legacy=True)
        if session is None:
            raise rpc_error(404, None, jsonrpc.INVALID_REQUEST, "Session not found.")
        if content_type is None or not content_type.lower().startswith(JSON):
            raise rpc_error(
                415, None, jsonrpc.INVALID_REQUEST, "Content-Type must be application/json."
            )
        msg = parse_message(await read_body(receive, length, gw.max_body))
        method = msg.get("method")
        msg_id = msg.get("id")
        try:
            if method == "initialize":
                mux = await gw.ready_mux(server, msg_id)
                result = await mux.initialize(session, msg.get("params") or {})
                session.send(jsonrpc.result(msg_id, result))
            elif method is None or "id" not in msg:
                mux = gw.mux_for(server.name) or await gw.ready_mux(server, None)
                if not mux.ready():
                    await gw.ready_mux(server, None)
                mux.notify(session, msg)
            else:
                mux = gw.mux_for(server.name) or await gw.ready_mux(server, msg_id)
                if not mux.ready():
                    mux = await gw.ready_mux(server, msg_id)
                mux.submit(session, msg, session)
        except Unavailable as exc:
            if "id" in msg and method is not None:
                session.send(gw.unavailable(server, msg_id, exc).body)
        except HTTPError as exc:
            if "id" in msg and method is not None:
                session.send(exc.body)
        await respond(send, 202, b"", [])
