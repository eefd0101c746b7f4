"""Activity records for requests passed through to a server's own Streamable HTTP
endpoint (``passthrough.py``; issue 15.2).

The request is the POST body (JSON-RPC 2.0 §4: one request with an ``id``; notifications
and responses are not recorded). The outcome comes from what the server answered, as
the gateway forwards it: a JSON body, or the SSE event (MCP 2025-11-25 "Streamable
HTTP") that carries the response with the request's id; a non-2xx status without
one is an error with no JSON-RPC code. At most :data:`KEEP` bytes of the answer are
looked at (beyond that: "ok" if the status was 2xx); the bytes are forwarded unchanged
either way.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from switchboard.core.activity import ERROR, OK, TIMEOUT, ActivitySink
from switchboard.gateway import jsonrpc

KEEP = 1024 * 1024
"""Bytes of an answer kept to find the JSON-RPC response in."""


class PassThroughCall:
    """One forwarded request being recorded: feed it the answer's chunks, then finish."""

    __slots__ = ("_chunks", "_id", "_kept", "_meta", "_request", "_sink", "_started", "size")

    def __init__(
        self,
        sink: ActivitySink,
        request: bytes,
        msg: dict[str, Any],
        meta: tuple[str, str | None, str | None, str, str, str | None],
    ) -> None:
        self._sink = sink
        self._request = request
        self._id = msg.get("id")
        self._meta = meta
        self._started = time.time()
        self._chunks: list[bytes] = []
        self._kept = 0
        self.size = 0

    @classmethod
    def start(
        cls,
        sink: ActivitySink | None,
        server: str,
        body: bytes,
        owner: tuple[str | None, str] | None,
        session: str | None,
    ) -> PassThroughCall | None:
        """A recorder for ``body`` if it is one JSON-RPC request, else None."""
        if sink is None or not body:
            return None
        try:
            msg = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(msg, dict) or not isinstance(msg.get("method"), str) or "id" not in msg:
            return None
        params = msg.get("params")
        target = None
        if isinstance(params, dict):
            found = params.get("name") or params.get("uri")
            target = found if isinstance(found, str) else None
        client, subject = owner if owner is not None else (None, None)
        meta = (server, client, subject, session or "", str(msg["method"]), target)
        return cls(sink, body, msg, meta)

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self._kept < KEEP:
            self._chunks.append(chunk)
            self._kept += len(chunk)

    def finish(self, status: int, sse: bool) -> None:
        """The answer ended: record the request."""
        data = b"".join(self._chunks)
        response = _sse_response(data, self._id) if sse else data
        code = None
        outcome = OK if status < 300 else ERROR
        if response:
            try:
                msg = orjson.loads(response)
            except orjson.JSONDecodeError:
                msg = None
            err = msg.get("error") if isinstance(msg, dict) else None
            if isinstance(err, dict) and type(err.get("code")) is int:
                code = err["code"]
                outcome = TIMEOUT if code == jsonrpc.REQUEST_TIMEOUT else ERROR
        server, client, subject, session, method, target = self._meta
        self._sink.record(
            (
                self._started,
                time.time() - self._started,
                server,
                None,
                client,
                subject,
                session,
                method,
                target,
                outcome,
                code,
                len(self._request),
                self.size,
                self._request,
                response or None,
            )
        )


def _sse_response(data: bytes, msg_id: Any) -> bytes | None:
    """The ``data`` of the SSE event that is the response to ``msg_id``."""
    for event in data.replace(b"\r\n", b"\n").split(b"\n\n"):
        payload = b"\n".join(
            line[5:].lstrip() for line in event.split(b"\n") if line.startswith(b"data:")
        )
        if not payload:
            continue
        try:
            msg = orjson.loads(payload)
        except orjson.JSONDecodeError:
            continue
        if isinstance(msg, dict) and "method" not in msg and msg.get("id") == msg_id:
            return payload
    return None
