"""MCP Streamable HTTP for stdio servers (MCP 2025-11-25 basic/transports, "Streamable
HTTP"): ``POST``, ``GET`` and ``DELETE`` on ``/servers/<name>/mcp`` (and on a group's
``/groups/<name>/mcp``, whose :class:`~switchboard.gateway.groups.runtime.GroupMux` is
driven like a server's mux).

A POST is answered as JSON, or as an SSE stream when the server sends requests or
notifications for it first; ``GET`` opens the session's stream for server-initiated
messages; ``DELETE`` ends the session; ``Mcp-Session-Id`` names it (404 when unknown).
SSE events carry ids; a GET with ``Last-Event-ID`` replays what the client missed on
that stream and continues it ("Resumability and Redelivery", see ``resumption.py``).

Hardening: wrong content type -> 415, unacceptable Accept -> 406, unsupported
``MCP-Protocol-Version`` -> 400. Clients of the 2026-07-28 revision probe
``server/discover`` first: they get a JSON-RPC "method not found" and fall back to
``initialize``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from starlette.types import Receive, Scope, Send

from switchboard.gateway import jsonrpc
from switchboard.gateway.channels import Outbox, PostChannel, Session
from switchboard.gateway.http_io import (
    JSON,
    SSE_HEADERS,
    HTTPError,
    parse_message,
    read_body,
    respond,
    rpc_error,
    wait_disconnect,
)
from switchboard.gateway.mux import SUPPORTED_VERSIONS, Unavailable
from switchboard.gateway.resumption import GET as GET_STREAM
from switchboard.gateway.resumption import POST as POST_STREAM
from switchboard.gateway.sessions import Owner

if TYPE_CHECKING:
    from switchboard.gateway.gateway import Gateway, Target

log = logging.getLogger("switchboard.gateway")


class StreamableHTTP:
    """The ``/mcp`` endpoint of the gateway's stdio servers."""

    def __init__(self, gateway: Gateway) -> None:
        self._gw = gateway

    async def post(
        self, scope: Scope, receive: Receive, send: Send, server: Target, owner: Owner | None
    ) -> None:
        gw = self._gw
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
        if content_type is None or not content_type.lower().startswith(JSON):
            raise rpc_error(
                415, None, jsonrpc.INVALID_REQUEST, "Content-Type must be application/json."
            )
        sse_ok = True
        if accept is not None:
            accept = accept.lower()
            sse_ok = b"text/event-stream" in accept or b"*/*" in accept
            if not sse_ok and JSON not in accept and b"application/*" not in accept:
                raise rpc_error(
                    406,
                    None,
                    jsonrpc.INVALID_REQUEST,
                    "Accept must include application/json and text/event-stream.",
                )
        body = await read_body(receive, length, gw.max_body)
        msg = parse_message(body)
        method = msg.get("method")
        msg_id = msg.get("id")
        if method == "server/discover":
            raise rpc_error(
                400,
                msg_id,
                jsonrpc.METHOD_NOT_FOUND,
                "Method not found: this gateway speaks MCP 2025-11-25; use initialize.",
            )
        if version is not None and method != "initialize":
            v = version.decode("latin-1")
            if v not in SUPPORTED_VERSIONS:
                raise rpc_error(
                    400,
                    msg_id,
                    jsonrpc.INVALID_REQUEST,
                    f"Unsupported MCP-Protocol-Version {v!r}.",
                    supported=list(SUPPORTED_VERSIONS),
                )
        if method == "initialize":
            if "id" not in msg:
                raise rpc_error(400, None, jsonrpc.INVALID_REQUEST, "initialize needs an id.")
            mux = await gw.ready_mux(server, msg_id)
            session = Session(server.name)
            gw._add_session(session, owner, msg_id)
            try:
                result = await mux.initialize(session, msg.get("params") or {})
            except Unavailable as exc:
                gw.sessions.pop(session.id)
                raise gw.unavailable(server, msg_id, exc) from None
            await respond(
                send,
                200,
                jsonrpc.result(msg_id, result),
                [(b"content-type", JSON), (b"mcp-session-id", session.id_bytes)],
            )
            return
        session = gw.session_for(server.name, session_id, msg_id, owner)
        found = gw._muxes.get(server.name) or gw.groups.muxes.get(server.name)
        if found is None or session.closed:
            raise rpc_error(404, msg_id, jsonrpc.INVALID_REQUEST, "Session not found.")
        mux = found
        if method is None or "id" not in msg:
            # A notification, or the client's response to a server request.
            with contextlib.suppress(Unavailable, HTTPError):
                if not mux.ready():
                    await gw.ready_mux(server, None)
                mux.notify(session, msg)
            await respond(send, 202, b"", [])
            return
        if not mux.ready():
            mux = await gw.ready_mux(server, msg_id)
        channel = PostChannel(sse_ok)
        try:
            mux.submit(session, msg, channel)
        except Unavailable as exc:
            raise gw.unavailable(server, msg_id, exc) from None
        if not channel.done:
            await channel.wait()
        messages = channel.messages
        if channel.done and len(messages) == 1:
            body = messages[0]
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", JSON),
                        (b"mcp-session-id", session.id_bytes),
                        (b"content-length", b"%d" % len(body)),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        if channel.cancelled and not messages:
            # Cancelled before anything was sent: no response (mux.PostChannel.cancel).
            await respond(send, 202, b"", [(b"mcp-session-id", session.id_bytes)])
            return
        # The server sent requests/notifications for this request first: stream them.
        await self.post_stream(receive, send, session, channel, None)

    async def post_stream(
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
        owner = channel.serve()  # a previous response serving this stream stops
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*SSE_HEADERS, (b"mcp-session-id", session.id_bytes)],
            }
        )
        if replayed is not None:
            first = replayed
        elif session.protocol_version >= "2025-11-25":
            first = [replay.prime(label)]
        else:
            first = []
        disconnected = asyncio.ensure_future(wait_disconnect(receive))
        try:
            while True:
                if channel.owner is not owner:
                    return  # a resumption took the stream (and what is queued) over
                batch = channel.take_messages()
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
                    await channel.wait_or(disconnected)
            if not channel.cancelled:  # kept: a resumption hears it ended (see get)
                session.forget_post_stream(label)
            channel.release(owner)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            disconnected.cancel()
            channel.release(owner)

    async def get(
        self, scope: Scope, receive: Receive, send: Send, server: Target, owner: Owner | None
    ) -> None:
        gw = self._gw
        accept = session_id = last_event_id = None
        for key, value in scope["headers"]:
            if key == b"accept":
                accept = value
            elif key == b"mcp-session-id":
                session_id = value
            elif key == b"last-event-id":
                last_event_id = value
        if accept is not None and b"text/event-stream" not in accept.lower():
            raise rpc_error(
                406, None, jsonrpc.INVALID_REQUEST, "GET needs Accept: text/event-stream."
            )
        session = gw.session_for(server.name, session_id, None, owner)
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
                        await respond(send, 204, b"", [])
                        return
                    if channel is not None:
                        await self.post_stream(receive, send, session, channel, frames)
                        return
                    if frames:
                        # The request finished but the client missed the end: replay it.
                        await send(
                            {
                                "type": "http.response.start",
                                "status": 200,
                                "headers": [*SSE_HEADERS, (b"mcp-session-id", session.id_bytes)],
                            }
                        )
                        await send({"type": "http.response.body", "body": b"".join(frames)})
                        return
                    label = None  # nothing left of that stream: a fresh GET stream
                else:
                    first = b"".join(frames)
            if label is None:
                log.debug("Last-Event-ID %r: nothing to replay, a fresh stream", last_event_id)
        if label is None:
            box = Outbox(session.replay.new_stream(GET_STREAM))
        else:
            box = session.resume_stream(label)
        session.attach(box)
        if first is None and session.protocol_version >= "2025-11-25":
            first = session.replay.prime(box.label)
        try:
            await gw.serve_stream(
                receive, send, box, [(b"mcp-session-id", session.id_bytes)], first, session
            )
        finally:
            session.detach(box)
            session.last_active = gw.clock()

    async def delete(self, scope: Scope, server: Target, owner: Owner | None) -> None:
        session_id = None
        for key, value in scope["headers"]:
            if key == b"mcp-session-id":
                session_id = value
        session = self._gw.session_for(server.name, session_id, None, owner)
        self._gw._end_session(session)
