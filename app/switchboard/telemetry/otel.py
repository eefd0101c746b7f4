"""OpenTelemetry export over OTLP/HTTP (issue 15.4); imported only when an endpoint is set.

Per gateway request (one :class:`~switchboard.core.telemetry.RequestRecord`):

- a span from the request's arrival to its end, kind SERVER, named after the method
  (``tools/call get_time``), with attributes following the OpenTelemetry semantic
  conventions for MCP where they exist (``mcp.method.name``, ``mcp.session.id``,
  ``gen_ai.tool.name``, ``gen_ai.prompt.name``, ``mcp.resource.uri``,
  ``rpc.jsonrpc.error_code``) and ``switchboard.server``, ``switchboard.group``,
  ``switchboard.client_id``, ``switchboard.outcome``; status ERROR unless ``ok``;
- for a request that came through a group, the span of the group request
  (``groups/NAME tools/call x``) is the parent of the member call's span (kind CLIENT);
- metrics: ``switchboard.gateway.requests`` (counter) and
  ``switchboard.gateway.request.duration`` (histogram, seconds) by server, group,
  method and outcome.

Traces go to ``{endpoint}/v1/traces`` and metrics to ``{endpoint}/v1/metrics``
(OTLP/HTTP protobuf, the OTLP specification's default paths), batched on the SDK's
own threads: the event loop only builds spans.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from switchboard import __version__
from switchboard.core.telemetry import RequestRecord

TARGET_ATTRIBUTE = {
    "tools/call": "gen_ai.tool.name",
    "prompts/get": "gen_ai.prompt.name",
    "resources/read": "mcp.resource.uri",
    "resources/subscribe": "mcp.resource.uri",
    "resources/unsubscribe": "mcp.resource.uri",
}
NAMED = frozenset({"tools/call", "prompts/get"})


class OtelExporter:
    """Spans and metrics for gateway requests, to one OTLP/HTTP endpoint. Its own
    providers (never the global ones): two endpoints, two exporters, no crosstalk."""

    def __init__(self, endpoint: str, *, metrics_interval: float = 60.0) -> None:
        base = endpoint.rstrip("/")
        resource = Resource.create({"service.name": "switchboard", "service.version": __version__})
        # Shut down by Telemetry (at exit too), not by the SDK's own atexit hooks.
        self.tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        self.tracer_provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{base}/v1/traces", timeout=5))
        )
        self.tracer = self.tracer_provider.get_tracer("switchboard.gateway", __version__)
        reader = PeriodicExportingMetricReader(
            OTLPMetricExporter(endpoint=f"{base}/v1/metrics", timeout=5),
            export_interval_millis=metrics_interval * 1000,
        )
        self.meter_provider = MeterProvider(
            resource=resource, metric_readers=[reader], shutdown_on_exit=False
        )
        meter = self.meter_provider.get_meter("switchboard.gateway", __version__)
        self.requests = meter.create_counter(
            "switchboard.gateway.requests", unit="{request}", description="MCP requests"
        )
        self.durations = meter.create_histogram(
            "switchboard.gateway.request.duration", unit="s", description="MCP request time"
        )

    def record(self, record: RequestRecord) -> None:
        """One finished request: its span(s) and metrics (event loop; no I/O here)."""
        start = int(record.ts * 1e9)
        end = start + max(0, int(record.duration * 1e9))
        method, target = record.method, record.target
        name = f"{method} {target}" if target and method in NAMED else method
        attributes: dict[str, Any] = {
            "mcp.method.name": method,
            "mcp.session.id": record.session,
            "switchboard.server": record.server,
            "switchboard.outcome": record.outcome,
        }
        if target:
            attributes[TARGET_ATTRIBUTE.get(method, "switchboard.target")] = target
        if record.client_id:
            attributes["switchboard.client_id"] = record.client_id
        if record.code is not None:
            attributes["rpc.jsonrpc.error_code"] = record.code
        status = None if record.outcome == "ok" else Status(StatusCode.ERROR, record.outcome)
        if record.via:
            attributes["switchboard.group"] = record.via
            group = self.tracer.start_span(
                f"groups/{record.via} {name}",
                kind=SpanKind.SERVER,
                start_time=start,
                attributes={**attributes, "switchboard.server": record.server},
            )
            member = self.tracer.start_span(
                f"{record.server} {name}",
                context=trace.set_span_in_context(group),
                kind=SpanKind.CLIENT,
                start_time=start,
                attributes=attributes,
            )
            for span in (member, group):
                if status is not None:
                    span.set_status(status)
                span.end(end_time=end)
        else:
            span = self.tracer.start_span(
                name, kind=SpanKind.SERVER, start_time=start, attributes=attributes
            )
            if status is not None:
                span.set_status(status)
            span.end(end_time=end)
        labels = {"switchboard.server": record.server, "mcp.method.name": method}
        labels["switchboard.outcome"] = record.outcome
        if record.via:
            labels["switchboard.group"] = record.via
        self.requests.add(1, labels)
        self.durations.record(record.duration, labels)

    def flush(self, timeout: float = 10.0) -> None:
        """Blocking: export what is pending now."""
        self.tracer_provider.force_flush(int(timeout * 1000))
        self.meter_provider.force_flush(int(timeout * 1000))

    def shutdown(self) -> None:
        """Blocking: export what is pending, then stop the SDK's threads."""
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown(timeout_millis=3000)


__all__ = ["OtelExporter"]
