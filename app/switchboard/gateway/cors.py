"""CORS for browser-based MCP clients (Fetch standard, "CORS protocol"), as a plain ASGI
middleware in front of the gateway.

Browser pages send an ``Origin`` header; the Origin/Host guard (``guard.py``) already let
only loopback ones through. Only servers that need a token give them CORS: a server with
sign-in off answers their preflight with 403 and nothing with CORS headers, since any
local web page could otherwise drive it (issue 10.8). Without CORS a browser sends no
MCP request at all (JSON POSTs and session headers need a preflight), and cannot read
the answer of what it may send.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from switchboard.gateway import jsonrpc
from switchboard.gateway.http_io import Headers, respond

NO_WEB_PAGES = jsonrpc.dumps(
    {
        "error": "forbidden_origin",
        "message": "This server has sign-in off, so web pages may not call it; programs "
        "on this computer still can.",
        "hint": "To use it from a browser-based client, turn sign-in on for it (its "
        "settings in the app, or 'switchboard add --auth switchboard').",
    }
)


class CORS:
    """Answers preflights and adds CORS headers for ``/servers/<name>/...`` requests that
    carry an ``Origin``; ``auth_off(name)`` says whether that server has sign-in off."""

    def __init__(self, app: ASGIApp, *, auth_off: Callable[[str], bool]) -> None:
        self.app = app
        self.auth_off = auth_off

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = None
        if scope["type"] == "http":
            for key, value in scope["headers"]:
                if key == b"origin":
                    origin = value
        if origin is None:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        i = path.find("/servers/")
        if i >= 0:
            name = path[i + 9 :].partition("/")[0]
        else:  # a group: the gateway's auth_off takes "groups/<name>"
            name = "groups/" + path[path.find("/groups/") + 8 :].partition("/")[0]
        if self.auth_off(name):
            if scope["method"] == "OPTIONS":
                await respond(send, 403, NO_WEB_PAGES, [])
                return
        elif scope["method"] == "OPTIONS":
            await respond(send, 204, b"", cors_headers(origin, preflight=True))
            return
        else:
            send = _with_cors(send, origin)
        await self.app(scope, receive, send)


def cors_headers(origin: bytes, preflight: bool = False) -> Headers:
    """The CORS response headers for ``origin`` (with the preflight's own when asked)."""
    headers = [
        (b"access-control-allow-origin", origin),
        (b"vary", b"Origin"),
        (b"access-control-expose-headers", b"mcp-session-id, www-authenticate"),
    ]
    if preflight:
        headers += [
            (b"access-control-allow-methods", b"GET, POST, DELETE, OPTIONS"),
            (
                b"access-control-allow-headers",
                b"authorization, content-type, accept, mcp-session-id, mcp-protocol-version, "
                b"last-event-id",
            ),
            (b"access-control-max-age", b"600"),
        ]
    return headers


def _with_cors(send: Send, origin: bytes) -> Send:
    extra = cors_headers(origin)

    async def wrapped(message: Any) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *extra]}
        await send(message)

    return wrapped
