"""The head limit's edges on the real listener (in-process engine): heads that arrive
in many pieces, pipelined requests, sizes on either side of the limit."""

from __future__ import annotations

import asyncio
import re

import pytest

from switchboard.engine import Engine
from switchboard.httplimits import MAX_FIELDS, MAX_HEAD, LimitedHttpToolsProtocol

pytestmark = pytest.mark.timeout(60)


async def _statuses(engine: Engine, pieces: list[bytes], expect: int) -> list[bytes]:
    port = int(engine.base_url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0)
        data = b""
        while len(re.findall(rb"HTTP/1\.1 (\d{3}) ", data)) < expect:
            chunk = await asyncio.wait_for(reader.read(65536), 30)
            if not chunk:
                break
            data += chunk
        return re.findall(rb"HTTP/1\.1 (\d{3}) ", data)
    finally:
        writer.close()


def _get(extra: bytes = b"", close: bool = True) -> bytes:
    tail = b"Connection: close\r\n" if close else b""
    return b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + tail + b"\r\n"


async def test_a_head_in_many_pieces_under_the_limit(engine: Engine) -> None:
    head = _get(b"X-Big: " + b"a" * (MAX_HEAD - 200) + b"\r\n")
    pieces = [head[i : i + 1000] for i in range(0, len(head), 1000)]
    assert await _statuses(engine, pieces, 1) == [b"200"]


async def test_a_head_in_many_pieces_over_the_limit(engine: Engine) -> None:
    head = _get(b"X-Big: " + b"a" * (MAX_HEAD + 10) + b"\r\n")
    pieces = [head[i : i + 1000] for i in range(0, len(head), 1000)]
    assert await _statuses(engine, pieces, 1) == [b"431"]


async def test_fields_at_the_limit_pass(engine: Engine) -> None:
    fields = b"".join(b"X-%d: v\r\n" % i for i in range(MAX_FIELDS - 2))  # + Host, Connection
    assert await _statuses(engine, [_get(fields)], 1) == [b"200"]
    assert await _statuses(engine, [_get(fields + b"X-one-more: v\r\n")], 1) == [b"431"]


async def test_pipelined_requests_after_a_big_body(engine: Engine) -> None:
    """The second head starts in the middle of a read that also carried the end of a
    large body: that body is not counted as head."""
    body = b"a=" + b"a" * 40_000  # read by the token endpoint (so the connection stays)
    first = (
        b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n"
        % len(body)
        + body
    )
    second = _get(b"X-Mid: " + b"b" * (MAX_HEAD - 20_000) + b"\r\n")
    data = first + second
    cut = len(first) - len(body) + 1000
    pieces = [data[:cut], data[cut:-100], data[-100:]]
    assert await _statuses(engine, pieces, 2) == [b"400", b"200"]


async def test_a_trickled_or_missing_head_times_out(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn times out idle keep-alive connections only: a connection that never sends
    a whole head is closed after ``head_timeout`` (408 when it sent part of one)."""
    monkeypatch.setattr(LimitedHttpToolsProtocol, "head_timeout", 0.2)
    port = int(engine.base_url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.write(b"X-Slow: 1\r\n")  # a second read: the head spans reads
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 30)  # until the listener closes
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout")
    writer.close()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    assert await asyncio.wait_for(reader.read(), 30) == b""  # said nothing: closed
    writer.close()
    # A whole request on a fresh connection is unaffected.
    assert await _statuses(engine, [_get()], 1) == [b"200"]
