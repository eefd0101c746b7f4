"""Origin / Host guard against DNS rebinding and cross-site requests (MCP transports §Security).

A plain ASGI middleware in front of everything the listener serves:
- ``Host`` must name the loopback listener (127.0.0.1, localhost, [::1]) -> else 421;
- ``Origin``, when present, must be a loopback origin or one on the allow-list -> else 403.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


def _host_only(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end != -1 else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def origin_allowed(origin: str, extra: frozenset[str] = frozenset()) -> bool:
    if origin in extra:
        return True
    if origin == "null":
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host = parts.hostname.lower()
    return host in LOOPBACK_HOSTS or f"[{host}]" in LOOPBACK_HOSTS


class OriginHostGuard:
    """Rejects requests whose Host is not loopback (421) or whose Origin is foreign (403)."""

    def __init__(self, app: ASGIApp, allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed_origins = frozenset(allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = origin = None
        for key, value in scope["headers"]:
            if key == b"host":
                host = value.decode("latin-1")
            elif key == b"origin":
                origin = value.decode("latin-1")
        if host is None or _host_only(host) not in LOOPBACK_HOSTS:
            await _reject(
                send, 421, "misdirected_request", "Host header is not a loopback address."
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
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
