"""Pagination of a group's merged lists (MCP 2025-11-25 server/utilities/pagination).

A cursor is opaque to clients: here the base64url of ``g1:<offset>``. An invalid one is
a JSON-RPC -32602 error (the spec: "Invalid cursors SHOULD result in an error with code
-32602"). Merged lists change only on list_changed, after which clients list again.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

PAGE_SIZE = 200
"""Items per page of a group's list (members' own pages are merged first)."""


class BadCursor(ValueError):
    """The client sent a cursor this gateway did not issue."""


def encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"g1:{offset}".encode()).decode().rstrip("=")


def decode(cursor: object) -> int:
    if not isinstance(cursor, str) or len(cursor) > 64:
        raise BadCursor("Invalid cursor.")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadCursor("Invalid cursor.") from None
    prefix, _, number = raw.partition(":")
    if prefix != "g1" or not number.isdigit():
        raise BadCursor("Invalid cursor.")
    return int(number)


def page(items: Sequence[Any], key: str, params: object, size: int = PAGE_SIZE) -> dict[str, Any]:
    """The result of a ``*/list`` request: ``{key: items[offset:offset+size]}`` plus
    ``nextCursor`` when more follow. Raises :class:`BadCursor`."""
    offset = 0
    if isinstance(params, dict) and params.get("cursor") is not None:
        offset = decode(params["cursor"])
    if offset > len(items):
        raise BadCursor("Invalid cursor: the list is shorter now; list again.")
    chunk = list(items[offset : offset + size])
    result: dict[str, Any] = {key: chunk}
    if offset + size < len(items):
        result["nextCursor"] = encode(offset + size)
    return result
