"""The gateway's ASGI plumbing: the one JSON/error responder, SSE framing, request
bodies with their size limit, and the JSON-RPC checks of a POSTed message.

Plain ASGI (no per-request Starlette objects: this is the hot path). Errors are raised
as :class:`HTTPError` and answered by :func:`respond` with a JSON(-RPC) body that says
what happened and what to do, never exception text (MCP 2025-11-25 basic/transports,
"Sending Messages to the Server": 400 with a JSON-RPC error for an invalid message;
JSON-RPC 2.0 §5.1 error objects).
"""

from __future__ import annotations

from typing import Any

from starlette.types import Receive, Send

from switchboard.gateway import jsonrpc

JSON = b"application/json"
SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]

Headers = list[tuple[bytes, bytes]]


class HTTPError(Exception):
    """Answer with ``status`` and a JSON(-RPC) body."""

    def __init__(self, status: int, body: bytes, headers: Headers | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or []


def rpc_error(
    status: int, msg_id: jsonrpc.MessageId, code: int, message: str, **data: Any
) -> HTTPError:
    """An HTTP error whose body is a JSON-RPC error response."""
    return HTTPError(status, jsonrpc.error(msg_id, code, message, data or None))


def json_error(code: str, message: str, hint: str) -> bytes:
    """A plain JSON error body: what went wrong (``message``) and what to do (``hint``)."""
    return jsonrpc.dumps({"error": code, "message": message, "hint": hint})


async def respond(send: Send, status: int, body: bytes, headers: Headers) -> None:
    """Send a whole response; a body without a content type is JSON."""
    if body and not any(k == b"content-type" for k, _ in headers):
        headers = [(b"content-type", JSON), *headers]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def sse_event(message: bytes) -> bytes:
    """One SSE ``message`` event without an id (legacy HTTP+SSE stream)."""
    return b"event: message\ndata: " + message + b"\n\n"


async def wait_disconnect(receive: Receive) -> None:
    """Return when the client has gone (``http.disconnect``)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def read_body(receive: Receive, length: int, max_body: int) -> bytes:
    """The request body (``length``: its Content-Length, -1 if none); 413 over ``max_body``."""
    if length > max_body:
        raise rpc_error(413, None, jsonrpc.INVALID_REQUEST, f"Request body over {max_body} bytes.")
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        if len(body) > max_body:
            raise rpc_error(
                413, None, jsonrpc.INVALID_REQUEST, f"Request body over {max_body} bytes."
            )
        return body
    parts = [body]
    size = len(body)
    while message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise HTTPError(400, b"")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_body:
            raise rpc_error(
                413, None, jsonrpc.INVALID_REQUEST, f"Request body over {max_body} bytes."
            )
        parts.append(chunk)
    return b"".join(parts)


def parse_message(body: bytes) -> dict[str, Any]:
    """One JSON-RPC 2.0 message from a client, checked; 400 with a JSON-RPC error if not
    (no batches: MCP 2025-06-18 removed them)."""
    try:
        msg = jsonrpc.loads(body)
    except jsonrpc.JSONDecodeError:
        raise rpc_error(
            400, None, jsonrpc.PARSE_ERROR, "Parse error: the body is not valid JSON."
        ) from None
    if isinstance(msg, list):
        raise rpc_error(
            400,
            None,
            jsonrpc.INVALID_REQUEST,
            "JSON-RPC batches are not supported (MCP 2025-06-18+).",
        )
    if not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0":
        raise rpc_error(400, None, jsonrpc.INVALID_REQUEST, "Not a JSON-RPC 2.0 message.")
    method = msg.get("method")
    if method is not None and not isinstance(method, str):
        raise rpc_error(400, msg.get("id"), jsonrpc.INVALID_REQUEST, "method must be a string.")
    if method is None and "result" not in msg and "error" not in msg:
        raise rpc_error(400, msg.get("id"), jsonrpc.INVALID_REQUEST, "Not a JSON-RPC 2.0 message.")
    problem = jsonrpc.check_client_message(msg)
    if problem is not None:
        msg_id = msg.get("id")
        raise rpc_error(
            400, msg_id if jsonrpc.is_id(msg_id) else None, jsonrpc.INVALID_REQUEST, problem
        )
    return msg


def target_at(path: str) -> tuple[str, int]:
    """(``"servers"`` or ``"groups"``, index of ``/servers/`` or ``/groups/``) for a
    gateway path: the earlier of the two wins, so ``/groups/servers/mcp`` (a group named
    "servers") is the group and ``/servers/groups/mcp`` the server. No ``/servers/``:
    ``("groups", index or -1)``."""
    i = path.find("/servers/")
    g = path.find("/groups/")
    if i < 0 or 0 <= g < i:
        return "groups", g
    return "servers", i
