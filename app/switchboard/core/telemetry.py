"""The per-request telemetry port (issue 15.4): what an exporter needs of each MCP
request the gateway forwarded.

It is the shape of ``core/activity.py``'s ``ActivityRecord`` (issue 15.2) on purpose:
the gateway builds one record when a request ends and hands it to one sink; OpenTelemetry
(``switchboard.telemetry``) is another sink beside the activity recorder, joined with
:class:`FanOut`, so the hot path has one hook, not two.
"""

from __future__ import annotations

import logging
from typing import Generic, Protocol, TypeVar

log = logging.getLogger("switchboard.telemetry")


class RequestRecord(Protocol):
    """One MCP request through the gateway, at its end (read-only)."""

    @property
    def ts(self) -> float:
        """Wall-clock seconds when the request arrived."""
        ...

    @property
    def duration(self) -> float: ...

    @property
    def server(self) -> str: ...

    @property
    def via(self) -> str | None:
        """The group whose endpoint the request came through, or None."""
        ...

    @property
    def client_id(self) -> str | None: ...

    @property
    def session(self) -> str: ...

    @property
    def method(self) -> str: ...

    @property
    def target(self) -> str | None:
        """The tool or prompt name, or the resource URI."""
        ...

    @property
    def outcome(self) -> str:
        """``ok``, ``error``, ``cancelled`` or ``timeout``."""
        ...

    @property
    def code(self) -> int | None:
        """The JSON-RPC error code, if any."""
        ...


class RequestSink(Protocol):
    """Takes finished requests; returns at once (it runs on the event loop)."""

    def record(self, record: RequestRecord) -> None: ...


R = TypeVar("R")
R_contra = TypeVar("R_contra", contravariant=True)


class Sink(Protocol[R_contra]):
    """Any sink of records of type ``R_contra`` (``ActivitySink`` is a ``Sink[ActivityRecord]``)."""

    def record(self, record: R_contra) -> None: ...


class FanOut(Generic[R]):
    """One sink that hands each record to several (a failing one is logged, never fatal):
    ``FanOut(activity_recorder, telemetry)`` is what the gateway gets."""

    def __init__(self, *sinks: Sink[R]) -> None:
        self.sinks = sinks

    def record(self, record: R) -> None:
        for sink in self.sinks:
            try:
                sink.record(record)
            except Exception:
                log.exception("request sink %r failed", sink)


__all__ = ["FanOut", "RequestRecord", "RequestSink", "Sink"]
