"""The activity port: what the gateway hands over about every MCP request it forwards.

Issue 15.2 ("Activity"): every request through the gateway is recorded (time, caller,
server or group, method, tool/prompt/resource name, duration, outcome, sizes). The
gateway builds one :class:`ActivityRecord` when the life of a request ends and gives
it to an :class:`ActivitySink`; ``switchboard.activity`` implements the sink (SQLite on
its own thread). Neither imports the other: both depend on this module only.

Arguments and results are never part of the record by value: its ``request`` and
``response`` are the raw JSON-RPC bytes the gateway already had (no copy), and the
recorder keeps them only for servers that opted in (``ServerSpec.record_arguments``),
with secret values redacted.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

OK = "ok"
"""A result (JSON-RPC 2.0 §5 ``result``)."""
ERROR = "error"
"""A JSON-RPC error response (§5.1); ``code`` says which."""
CANCELLED = "cancelled"
"""The client cancelled it (MCP 2025-11-25 ``utilities/cancellation``) or left."""
TIMEOUT = "timeout"
"""The server did not answer within its request timeout."""

OUTCOMES = (OK, ERROR, CANCELLED, TIMEOUT)


ActivityRecord = tuple[
    float,  # ts: wall-clock seconds when the request arrived
    float,  # duration: seconds from arrival to its end (response, cancellation, timeout)
    str,  # server
    str | None,  # via: the group whose endpoint the request came through
    str | None,  # client_id: the access token's client (None: authorization off)
    str | None,  # subject
    str,  # session
    str,  # method
    str | None,  # target: params.name (tool, prompt) or params.uri (resource)
    str,  # outcome: one of OUTCOMES
    int | None,  # code: the JSON-RPC error code (ERROR, TIMEOUT)
    int,  # request_size
    int,  # response_size
    bytes | None,  # request: raw, kept only where the server opted in (redacted)
    bytes | None,  # response: idem
]
"""One MCP request through the gateway, at its end: a plain tuple on purpose. It is built
once per request on the event loop (the hot path) and waits a fraction of a second for
the writer thread: a NamedTuple would be a tracked object the cyclic GC counts and
promotes (measured: ten times the cost, and gen-2 collections), a plain tuple of this
size comes from the interpreter's free list. Read it with :class:`RecordView`."""


class RecordView(NamedTuple):
    """Named fields over an :data:`ActivityRecord` (``RecordView._make(record)``); for
    readers off the hot path (tests, redaction), never built per request."""

    ts: float
    duration: float
    server: str
    via: str | None
    client_id: str | None
    subject: str | None
    session: str
    method: str
    target: str | None
    outcome: str
    code: int | None
    request_size: int
    response_size: int
    request: bytes | None
    response: bytes | None


class ActivitySink(Protocol):
    """Takes finished requests; must return at once (it runs on the event loop)."""

    def record(self, record: ActivityRecord) -> None: ...


__all__ = [
    "CANCELLED",
    "ERROR",
    "OK",
    "OUTCOMES",
    "TIMEOUT",
    "ActivityRecord",
    "ActivitySink",
    "RecordView",
]
