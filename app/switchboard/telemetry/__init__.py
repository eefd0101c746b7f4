"""Optional OpenTelemetry export of gateway requests (issue 15.4).

:class:`Telemetry` is a :class:`~switchboard.core.telemetry.RequestSink` that follows
``settings.otlp_endpoint``: empty (the default) means off: nothing of OpenTelemetry's
SDK is imported and each request costs one comparison. Set, it loads
``switchboard.telemetry.otel`` (the optional ``switchboard[otel]`` dependencies) and
exports there; changing or clearing the setting takes effect at the next request.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from switchboard.core.activity import ActivityRecord, RecordView
from switchboard.core.telemetry import RequestRecord

if TYPE_CHECKING:
    from switchboard.telemetry.otel import OtelExporter

log = logging.getLogger("switchboard.telemetry")


class Telemetry:
    """The switch between no telemetry and an :class:`OtelExporter`."""

    def __init__(self, endpoint: Callable[[], str], *, metrics_interval: float = 60.0) -> None:
        self._endpoint = endpoint
        self._metrics_interval = metrics_interval
        self.endpoint = ""
        """The endpoint exported to now ("" = off)."""
        self.exporter: OtelExporter | None = None
        self._atexit = False
        self.error: str | None = None
        """Why the export could not start (the SDK is not installed), for a person."""

    def record(self, record: ActivityRecord | RequestRecord) -> None:
        """One finished request from the gateway's hook (a plain ``ActivityRecord``
        tuple; named only when exported, so off costs nothing more)."""
        endpoint = self._endpoint()
        if endpoint != self.endpoint:
            self.apply(endpoint)
        exporter = self.exporter
        if exporter is not None:
            if type(record) is tuple:  # the gateway's plain record
                exporter.record(RecordView._make(record))
            else:  # already named (a RecordView, a test's record)
                exporter.record(cast(RequestRecord, record))

    def apply(self, endpoint: str) -> None:
        """Export to ``endpoint`` from now on ("" = stop). The old exporter flushes and
        stops on a thread of its own (it may wait on the network)."""
        old, self.exporter, self.endpoint = self.exporter, None, endpoint
        if old is not None:
            threading.Thread(target=old.shutdown, name="otel-shutdown", daemon=True).start()
        if not endpoint:
            self.error = None
            return
        try:
            from switchboard.telemetry.otel import OtelExporter
        except ImportError as exc:
            self.error = (
                f"OpenTelemetry export to {endpoint} is off: its packages are not installed "
                f"({exc.name}). Install them with: pip install 'switchboard[otel]'."
            )
            log.warning("%s", self.error)
            return
        self.error = None
        self.exporter = OtelExporter(endpoint, metrics_interval=self._metrics_interval)
        if not self._atexit:
            self._atexit = True
            atexit.register(self.close)
        log.info("exporting gateway traces and metrics to %s (OTLP/HTTP)", endpoint)

    def close(self) -> None:
        """Blocking: export what is pending and stop (engine close, exit)."""
        exporter, self.exporter = self.exporter, None
        if exporter is not None:
            exporter.shutdown()

    def flush(self) -> None:
        """Blocking: export what is pending (tests, shutdown)."""
        if self.exporter is not None:
            self.exporter.flush()


__all__ = ["Telemetry"]
