"""What the stdio multiplexer tells the activity sink (issue 15.2; ``core/activity.py``).

Called only while recording (the mux checks its sink first), once per request when its
life ends: answered (``ok`` or a JSON-RPC error code), cancelled (no response: MCP
2025-11-25 ``utilities/cancellation``, or its session ended while it waited in line),
timed out (-32001), or failed with the process (-32000). One plain tuple per request, no
copies: the request and response bytes are the ones the mux already had.
"""

from __future__ import annotations

import time

from switchboard.core.activity import CANCELLED, ERROR, OK, TIMEOUT, ActivitySink
from switchboard.gateway import jsonrpc
from switchboard.gateway.channels import Pending, Session


def record_finished(
    sink: ActivitySink, server: str, pending: Pending, response: bytes | None, code: int | None
) -> None:
    """``pending`` is over; ``code``: the JSON-RPC error code of ``response``, if any."""
    session = pending.session
    owner = session.owner
    if response is None:
        outcome = CANCELLED
    elif code is None:
        outcome = OK
    else:
        outcome = TIMEOUT if code == jsonrpc.REQUEST_TIMEOUT else ERROR
    sink.record(
        (
            pending.started,
            time.time() - pending.started,
            server,
            session.via,
            owner[0] if owner is not None else None,
            owner[1] if owner is not None else None,
            session.id,
            pending.method,
            pending.target,
            outcome,
            code,
            len(pending.raw),
            len(response) if response is not None else 0,
            pending.raw,
            response,
        )
    )


def record_initialize(
    sink: ActivitySink, server: str, session: Session, started: float, ok: bool
) -> None:
    """A client's ``initialize``, answered by the mux itself (the process is initialized
    once; see ``initialization.py``): sizes unknown (0)."""
    owner = session.owner
    sink.record(
        (
            started,
            time.time() - started,
            server,
            session.via,
            owner[0] if owner is not None else None,
            owner[1] if owner is not None else None,
            session.id,
            "initialize",
            None,
            OK if ok else ERROR,
            None if ok else jsonrpc.SERVER_UNAVAILABLE,
            0,
            0,
            None,
            None,
        )
    )
