"""Limits on the HTTP request head (request line + header fields) for the listener.

uvicorn's httptools protocol has none: httptools keeps a header field in memory until
its line ends, so one connection sending an endless header grows the engine without
bound (16 connections x 32 MB took it from 90 MB to 673 MB). This subclass counts
the head while it arrives and answers **431 Request Header Fields Too Large** (RFC 6585
§5; RFC 9110 §15.5 leaves the limit to the server) as soon as the head is over
:data:`MAX_HEAD` bytes or :data:`MAX_FIELDS` fields, before any auth and before the
app runs; then it closes the connection. A head still incomplete after
:data:`HEAD_TIMEOUT` seconds gets **408 Request Timeout** (RFC 9110 §15.5.9) and the
connection is closed (uvicorn only times out idle keep-alive connections, so a client
trickling a head, or opening a connection and sending nothing, held it forever).

Cost on the hot path: one length addition per received chunk and one comparison per
request; the exact size of a head is only summed when the chunks that carried it were
large enough for it to be over the limit.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("switchboard.listener")

MAX_HEAD = 64 * 1024
"""Largest request line + header fields, in bytes (nginx: 4 x 8 KiB; Node: 16 KiB)."""
MAX_FIELDS = 100
"""Most header fields in one request (Apache's ``LimitRequestFields``)."""
HEAD_TIMEOUT = 30.0
"""Seconds for the first request head of a connection, and for any head that spans
more than one read (a head that arrives in one read costs no timer)."""
LINGER_BYTES = 1024 * 1024
LINGER_SECONDS = 2.0
"""After a 431, what is still arriving is read and dropped (up to this much, this long)
so the client sees the answer instead of a reset (RFC 9112 §9.6, lingering close)."""

_BODY = json.dumps(
    {
        "error": "request_header_fields_too_large",
        "error_description": (
            f"The request line and headers are over {MAX_HEAD // 1024} KiB or more than "
            f"{MAX_FIELDS} header fields. Send fewer or smaller headers."
        ),
    }
).encode()
_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: application/json\r\n"
    b"content-length: %d\r\n"
    b"connection: close\r\n\r\n" % len(_BODY)
) + _BODY
_408_BODY = json.dumps(
    {
        "error": "request_timeout",
        "error_description": f"The request headers did not arrive within {HEAD_TIMEOUT:.0f} "
        "seconds. Send the whole request at once.",
    }
).encode()
_408 = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: application/json\r\n"
    b"content-length: %d\r\n"
    b"connection: close\r\n\r\n" % len(_408_BODY)
) + _408_BODY


class _HeadTooLarge(Exception):
    """Raised inside a parser callback to stop httptools at a head over the limits."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bounded request head (see the module doc).

    Per message it counts the chunks received while the head is incomplete (the chunk
    the message began in is not counted there: it may hold the end of the previous
    message) and rejects once that lower bound passes :data:`MAX_HEAD`; so a
    connection holds at most the limit plus one read (256 KiB) of head. A head that
    completes is measured exactly (request target + fields) when it may be too large.
    """

    max_head = MAX_HEAD
    max_fields = MAX_FIELDS
    head_timeout = HEAD_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._chunk = 0
        self._in_head = False
        self._first_chunk = True
        self._head_first = 0  # length of the chunk the message began in (upper bound)
        self._head_rest = 0  # the later chunks of an unfinished head (exact)
        self._rejected = False
        self._lingered = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._fresh = True  # nothing received yet on this connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._head_timer = self.loop.call_later(self.head_timeout, self._too_slow)

    # -- bytes in ---------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self._rejected:
            self._lingered += len(data)
            if self._lingered > LINGER_BYTES:
                self.transport.close()
            return
        self._unset_keepalive_if_required()
        self._fresh = False
        self._chunk = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if self._rejected:
                self._send_431()
                return
            msg = "Invalid HTTP request received."
            log.debug("%s (from %s)", msg, self.client)
            self.send_400_response(msg)
            return
        if self._in_head:
            if self._first_chunk:
                self._first_chunk = False
                if self._head_timer is None:  # the head spans reads: give it a deadline
                    self._head_timer = self.loop.call_later(self.head_timeout, self._too_slow)
            else:
                self._head_rest += len(data)
            if self._head_rest > self.max_head or len(self.headers) > self.max_fields:
                self._rejected = True
                self._send_431()

    # -- parser callbacks -----------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._first_chunk = True
        self._head_first = self._chunk
        self._head_rest = 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        headers = self.headers
        if len(headers) > self.max_fields:
            self._rejected = True
        else:
            upper = self._head_first + self._head_rest + (0 if self._first_chunk else self._chunk)
            if upper > self.max_head:
                size = len(self.url) + sum(len(k) + len(v) + 4 for k, v in headers)
                self._rejected = size > self.max_head
        if self._rejected:
            raise _HeadTooLarge
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    # -- the answers ----------------------------------------------------------------------
    def _too_slow(self) -> None:
        self._head_timer = None
        if self._fresh:
            self.transport.close()  # connected, never said anything
            return
        if not self._in_head or self._rejected:
            return
        self._rejected = True
        log.info(
            "request head from %s incomplete after %.0f s: 408", self.client, self.head_timeout
        )
        self._answer(_408)

    def _send_431(self) -> None:
        log.warning(
            "request head from %s over %d bytes or %d fields: 431",
            self.client,
            self.max_head,
            self.max_fields,
        )
        self._answer(_431)

    def _answer(self, response: bytes) -> None:
        """Write ``response`` and close: half-close at once, drop what still arrives
        (:data:`LINGER_BYTES`, :data:`LINGER_SECONDS`), then close."""
        transport = self.transport
        if transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            transport.close()  # a pipelined request's response is still being written
            return
        transport.write(response)
        if transport.can_write_eof():
            transport.write_eof()
        asyncio.get_running_loop().call_later(LINGER_SECONDS, transport.close)
