"""Keeps the owner's paths off TCP: the control API and the first-party client are served
only on the engine's private Unix socket (see :mod:`switchboard.control.channel`).

Whoever reaches the loopback port (a local web page, another local user) therefore
cannot use a leaked admin token or first-party secret there. A request came through the
Unix socket when its ASGI ``server`` is ``(path, None)`` (ASGI HTTP spec, "server":
for a Unix socket the port is None); uvicorn sets it from the socket, not from headers.
"""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import unquote

from starlette.types import ASGIApp, Receive, Scope, Send

CONTROL_PREFIX = "/api/v1"


def via_private_socket(scope: Scope) -> bool:
    server = scope.get("server")
    return isinstance(server, tuple | list) and len(server) == 2 and server[1] is None


def basic_client_id(scope: Scope) -> str | None:
    """The client id of an ``Authorization: Basic`` header (RFC 6749 §2.3.1: the id is
    form-urlencoded before base64), else None."""
    for key, value in scope["headers"]:
        if key == b"authorization":
            scheme, _, rest = value.decode("latin-1").partition(" ")
            if scheme.lower() != "basic":
                return None
            try:
                decoded = base64.b64decode(rest.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            return unquote(decoded.partition(":")[0])
    return None


class TCPGuard:
    """ASGI middleware: on TCP, ``/api/v1`` answers 403 and the token/revoke/introspect
    endpoints refuse the first-party client (``private_client_id``) with 401."""

    def __init__(self, app: ASGIApp, private_client_id: str, *, enabled: bool = True) -> None:
        self.app = app
        self.private_client_id = private_client_id
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        # Paths first: the MCP hot path (/servers/...) pays two startswith, nothing more.
        if (
            self.enabled
            and path.startswith(("/api/v1", "/oauth/"))
            and scope["type"] == "http"
            and not via_private_socket(scope)
        ):
            if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
                await _reject(
                    send,
                    403,
                    {
                        "error": "forbidden",
                        "message": "The control API is served only on Switchboard's private "
                        "socket, not on TCP.",
                        "hint": "Use the switchboard CLI as the user who runs the app.",
                    },
                )
                return
            if path.startswith("/oauth/") and basic_client_id(scope) == self.private_client_id:
                await _reject(
                    send,
                    401,
                    {
                        "error": "invalid_client",
                        "error_description": "This client authenticates only over "
                        "Switchboard's private socket.",
                    },
                )
                return
        await self.app(scope, receive, send)


async def _reject(send: Send, status: int, body: dict[str, str]) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
