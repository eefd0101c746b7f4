"""Origin / Host guard against DNS rebinding and cross-site requests (MCP transports §Security).

A plain ASGI middleware in front of everything the listener serves:
- exactly one ``Host`` (RFC 9112 §3.2: a request with more than one -> 400);
- it must name the loopback listener (127.0.0.1, localhost, [::1]) with at most a
  numeric port, nothing else -> else 421. Everything downstream that builds a URL from
  the Host (the gateway's ``resource``, RFC 9728 metadata, ``WWW-Authenticate``) can
  rely on that one validated value; Starlette and authlib read the first Host, the
  gateway the last, so two different ones must never get through;
- ``Origin``, when present, must be a loopback origin or one on the allow-list -> else 403.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from switchboard.core.loopback import LOOPBACK_HOSTS, is_loopback_host
from switchboard.gateway.http_io import respond

_VALID_HOST = re.compile(
    b"(?:"
    + b"|".join(re.escape(host.encode()) for host in sorted(LOOPBACK_HOSTS))
    + rb")(?::[0-9]{1,5})?",
    re.IGNORECASE,
)
"""RFC 9110 §7.2 ``Host = uri-host [ ":" port ]``, restricted to the loopback names."""


def origin_allowed(origin: str, extra: frozenset[str] = frozenset()) -> bool:
    if origin in extra:
        return True
    if origin == "null":
        return False
    try:
        parts = urlsplit(origin)
        hostname = parts.hostname
    except ValueError:  # e.g. "http://[::1" (RFC 6454 §7: an Origin we cannot parse)
        return False
    if parts.scheme not in ("http", "https") or not hostname:
        return False
    return is_loopback_host(hostname)


class OriginHostGuard:
    """Rejects requests whose Host is not loopback (421) or whose Origin is foreign (403)."""

    def __init__(self, app: ASGIApp, allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed_origins = frozenset(allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host: bytes | None = None
        origin = None
        for key, value in scope["headers"]:
            if key == b"host":
                if host is not None:
                    await _reject(
                        send,
                        400,
                        "invalid_request",
                        "More than one Host header. Send exactly one (RFC 9112 section 3.2).",
                    )
                    return
                host = value
            elif key == b"origin":
                origin = value.decode("latin-1")
        if host is None or _VALID_HOST.fullmatch(host) is None:
            await _reject(
                send,
                421,
                "misdirected_request",
                "The Host header must be 127.0.0.1, localhost or [::1], with an optional port.",
            )
            return
        if origin is not None and not origin_allowed(origin, self.allowed_origins):
            await _reject(
                send, 403, "forbidden_origin", "Requests from this Origin are not allowed."
            )
            return
        await self.app(scope, receive, send)


async def _reject(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": code, "error_description": message}).encode()
    await respond(send, status, body, [])
