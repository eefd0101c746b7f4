"""Reading a server's pipes line by line with a bound on memory (issue 12.6, 12.8).

``asyncio.StreamReader.readline`` buffers a whole line up to its ``limit`` before it can
say the line is too long: with a 64 MiB limit, a chatty server's long stderr lines cost
the engine that much each. :class:`LineReader` reads in chunks instead, keeps at most
``limit`` bytes of a line, and past that keeps only the line's first ``keep`` bytes and
counts (and drops) the rest until the newline.

:func:`response_id` finds the JSON-RPC ``id`` (JSON-RPC 2.0 §5) in the head of an
oversized response so that the request it answers can be failed at once.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

CHUNK = 64 * 1024

Line = tuple[bytes, int]
"""(the line without its newline, or its head when too long; bytes dropped after it)."""


class LineReader:
    """Splits a byte stream into lines; a line over ``limit`` bytes comes back as its
    first ``keep`` bytes plus the count of bytes dropped. Memory stays under about
    ``limit + chunk`` whatever the line lengths."""

    def __init__(
        self, reader: asyncio.StreamReader, limit: int, keep: int = 1024, chunk: int = CHUNK
    ) -> None:
        self._reader = reader
        self._limit = limit
        self._keep = min(keep, limit)
        self._chunk = chunk
        self._buf = bytearray()
        self._scanned = 0
        self._eof = False

    async def next(self) -> Line | None:
        """The next line, or None at the end of the stream."""
        buf = self._buf
        while True:
            i = buf.find(b"\n", self._scanned)
            if i >= 0:
                self._scanned = 0
                if i > self._limit:
                    head = bytes(buf[: self._keep])
                    del buf[: i + 1]
                    return head, i - self._keep
                line = bytes(buf[:i])
                del buf[: i + 1]
                return line, 0
            self._scanned = len(buf)
            if len(buf) > self._limit:
                return await self._skip_rest()
            if self._eof:
                if not buf:
                    return None
                line = bytes(buf)
                buf.clear()
                self._scanned = 0
                return line, 0
            chunk = await self._reader.read(self._chunk)
            if not chunk:
                self._eof = True
            buf += chunk

    async def _skip_rest(self) -> Line:
        """Keep the head of the too-long line in the buffer, drop the rest to the newline."""
        buf = self._buf
        head = bytes(buf[: self._keep])
        dropped = len(buf) - self._keep
        buf.clear()
        self._scanned = 0
        while True:
            chunk = await self._reader.read(self._chunk)
            if not chunk:
                self._eof = True
                return head, dropped
            j = chunk.find(b"\n")
            if j < 0:
                dropped += len(chunk)
                continue
            dropped += j
            buf += chunk[j + 1 :]
            return head, dropped


def truncated(text: str, dropped: int) -> str:
    """``text`` with a marker saying how many bytes were cut off after it."""
    return f"{text}… [truncated {dropped:,} bytes]"


def size_text(n: int) -> str:
    """1048576 -> '1 MiB' (for messages)."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n:,} bytes"


_DECODER = json.JSONDecoder()


def response_id(head: bytes) -> Any:
    """The top-level ``id`` of a JSON-RPC response whose text starts with ``head``.

    None when the head holds no top-level ``id`` (it may come after the payload), when
    the message is a request or notification (a top-level ``method``), or when the head
    is not the start of a JSON object. Nested ``"id"`` keys (inside ``result``) are
    skipped by tracking the nesting depth outside strings.
    """
    text = head.decode("utf-8", "replace")
    pos = _skip_ws(text, 0)
    if pos >= len(text) or text[pos] != "{":
        return None
    found: Any = None
    depth = 0
    expect_key = False
    i = pos
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            end = _string_end(text, i)
            if end < 0:
                break
            if depth == 1 and expect_key:
                key = text[i + 1 : end - 1]
                colon = _skip_ws(text, end)
                if colon >= n or text[colon] != ":":
                    break
                if key == "method":
                    return None
                if key == "id" and found is None:
                    try:
                        value, _ = _DECODER.raw_decode(text, _skip_ws(text, colon + 1))
                    except ValueError:
                        return found
                    if isinstance(value, (int, str)) and not isinstance(value, bool):
                        found = value
                i = colon + 1
                expect_key = False
                continue
            i = end
            continue
        if c in "{[":
            depth += 1
            expect_key = c == "{" and depth == 1
        elif c in "}]":
            depth -= 1
        elif c == "," and depth == 1:
            expect_key = True
        i += 1
    return found


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _string_end(text: str, start: int) -> int:
    """Index just past the closing quote of the string starting at ``start``; -1 if cut."""
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i + 1
        i += 1
    return -1
