"""Serving one long-lived SSE stream of a session (HTML Living Standard, "Server-sent
events"): a Streamable HTTP GET stream (MCP 2025-11-25 basic/transports, "Listening for
Messages from the Server", events with ids for ``Last-Event-ID``; see
``resumption.py``) or the legacy HTTP+SSE stream (2024-11-05, no ids).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from starlette.types import Receive, Send

from switchboard.gateway.channels import Outbox, Session
from switchboard.gateway.http_io import SSE_HEADERS, Headers, sse_event, wait_disconnect


async def serve_outbox(
    receive: Receive,
    send: Send,
    box: Outbox,
    headers: Headers,
    first: bytes | None,
    *,
    keepalive: float,
    clock: Callable[[], float],
    stopping: Callable[[], bool],
    session: Session | None = None,
) -> None:
    """Serve ``box`` until the client leaves, the box closes or ``stopping()`` (the
    engine shuts down); a comment every ``keepalive`` seconds of silence. With
    ``session`` (Streamable HTTP GET), events get ids and are kept for replay."""
    if session is not None:
        replay, label = session.replay, box.label

        def frame(message: bytes) -> bytes:
            return replay.event(label, message)
    else:
        frame = sse_event
    await send({"type": "http.response.start", "status": 200, "headers": [*SSE_HEADERS, *headers]})
    await send({"type": "http.response.body", "body": first or b": open\n\n", "more_body": True})
    disconnected = asyncio.ensure_future(wait_disconnect(receive))
    getter: asyncio.Future[bytes] | None = None
    last_write = clock()
    tick = min(keepalive, 1.0)
    try:
        while not box.closed and not stopping():
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
            now = clock()
            if getter in done:
                chunks = [frame(getter.result())]
                getter = None
                while not box.queue.empty():
                    chunks.append(frame(box.queue.get_nowait()))
                await send(
                    {"type": "http.response.body", "body": b"".join(chunks), "more_body": True}
                )
                last_write = now
            elif now - last_write >= keepalive:
                await send(
                    {"type": "http.response.body", "body": b": keepalive\n\n", "more_body": True}
                )
                last_write = now
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        disconnected.cancel()
        if getter is not None:
            getter.cancel()
