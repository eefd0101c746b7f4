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


_ID_TYPES = (str, int, float)


def is_id(value: object) -> bool:
    """A usable request id: a string or a number (MCP ``RequestId = string | number``;
    JSON-RPC 2.0 §4 also allows null, which MCP excludes). Booleans are not numbers."""
    return type(value) in _ID_TYPES


def is_token(value: object) -> bool:
    """A usable ``_meta.progressToken`` (MCP ``ProgressToken = string | number``)."""
    return type(value) in _ID_TYPES


def check_client_message(msg: dict[str, Any]) -> str | None:
    """What is wrong with a client's JSON-RPC message, or None if it can be handled.

    JSON-RPC 2.0 §4 (request), §5 (response) and MCP 2025-11-25 ``basic/index``: ids are
    strings or numbers, ``params`` is an object, ``_meta.progressToken`` a string or
    number, a response carries ``result`` or ``error``. Anything else is an Invalid
    Request (-32600) for the client, never an exception in the gateway.
    """
    method = msg.get("method")
    has_id = "id" in msg
    if method is None:
        if not has_id or not is_id(msg["id"]):
            return "A response needs the string or number id of the request it answers."
        if ("result" in msg) == ("error" in msg):
            return "A response needs exactly one of result and error."
        return None
    if type(method) is not str:
        return "method must be a string."
    if has_id and not is_id(msg["id"]):
        return "id must be a string or a number."
    params = msg.get("params")
    if params is None:  # absent (or null, which some clients send)
        return None
    if type(params) is not dict:
        return "params must be an object."
    meta = params.get("_meta")
    if meta is None:
        return None
    if type(meta) is not dict:
        return "params._meta must be an object."
    if "progressToken" in meta and not is_token(meta["progressToken"]):
        return "params._meta.progressToken must be a string or a number."
    return None
