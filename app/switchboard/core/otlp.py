"""The OpenTelemetry setting's check (``Settings.otlp_endpoint``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from switchboard.core.errors import ValidationError


def check_otlp_endpoint(url: str) -> None:
    """ "" or an http(s) URL with a host and no credentials, query or fragment (OTLP/HTTP
    appends ``/v1/traces``, ``/v1/metrics``: OpenTelemetry OTLP exporter specification)."""
    if url == "":
        return
    hint = "Use the collector's OTLP/HTTP address, e.g. http://127.0.0.1:4318, or leave it empty."
    if not isinstance(url, str):
        raise ValidationError("otlp_endpoint must be a string.", hint=hint)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValidationError(f"Invalid OTLP endpoint {url!r}.", hint=hint) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"The OTLP endpoint {url!r} is not an http(s) URL.", hint=hint)
    if parts.username or parts.password or parts.query or parts.fragment or url != url.strip():
        raise ValidationError(
            f"The OTLP endpoint {url!r} has credentials, a query or a fragment.", hint=hint
        )


__all__ = ["check_otlp_endpoint"]
