"""JSON-RPC 2.0 wire helpers for the gateway (orjson: the hot path parses every message)."""

from __future__ import annotations

from typing import Any

import orjson

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_UNAVAILABLE = -32000
"""Implementation-defined: the server behind the gateway is not running or went away."""
REQUEST_TIMEOUT = -32001
REQUEST_CANCELLED = -32800

loads = orjson.loads
dumps = orjson.dumps

JSONDecodeError = orjson.JSONDecodeError

MessageId = int | str | None


def error(msg_id: MessageId, code: int, message: str, data: Any = None) -> bytes:
    """One JSON-RPC error response, serialized."""
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return dumps({"jsonrpc": "2.0", "id": msg_id, "error": err})


def result(msg_id: MessageId, value: Any) -> bytes:
    return dumps({"jsonrpc": "2.0", "id": msg_id, "result": value})
