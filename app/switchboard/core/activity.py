"""The activity port: what the gateway hands over about every MCP request it forwards.

Issue 15.2 ("Activity"): every request through the gateway is recorded (time, caller,
server or group, method, tool/prompt/resource name, duration, outcome, sizes). The
gateway builds one :class:`ActivityRecord` when the life of a request ends and gives
it to an :class:`ActivitySink`; ``switchboard.activity`` implements the sink (SQLite on
its own thread). Neither imports the other: both depend on this module only.

Arguments and results are never part of the record by value: ``request`` and
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


class ActivityRecord(NamedTuple):
    """One MCP request through the gateway, at its end.

    A tuple on purpose: it is built once per request on the event loop (the hot path)
    and handed to another thread as is.
    """

    ts: float
    """Wall-clock seconds when the request arrived."""
    duration: float
    """Seconds from arrival to its end (response, cancellation or timeout)."""
    server: str
    via: str | None
    """The group whose endpoint the request came through, or None."""
    client_id: str | None
    """The access token's client (None: authorization off)."""
    subject: str | None
    session: str
    method: str
    target: str | None
    """The tool or prompt name (``params.name``) or resource URI (``params.uri``)."""
    outcome: str
    """One of :data:`OUTCOMES`."""
    code: int | None
    """The JSON-RPC error code when ``outcome`` is ERROR or TIMEOUT."""
    request_size: int
    response_size: int
    request: bytes | None = None
    """The raw request (kept only where the server opted in, redacted)."""
    response: bytes | None = None
    """The raw response (idem)."""


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
]
