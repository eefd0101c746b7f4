"""The bounded line reader, the JSON-RPC id of an oversized line, the byte-bounded log
(issue 12.6, 12.8)."""

from __future__ import annotations

import asyncio

from switchboard.core.events import LogLine, Stream
from switchboard.supervisor.lines import LineReader, response_id, truncated
from switchboard.supervisor.logs import ServerLog


def _reader(*chunks: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    for chunk in chunks:
        reader.feed_data(chunk)
    reader.feed_eof()
    return reader


async def _all(reader: LineReader) -> list[tuple[bytes, int]]:
    out = []
    while (item := await reader.next()) is not None:
        out.append(item)
    return out


async def test_lines_split_across_chunks_and_a_last_line_without_newline() -> None:
    reader = LineReader(_reader(b"ab", b"c\nde", b"f\n\ng"), limit=100, chunk=2)
    assert await _all(reader) == [(b"abc", 0), (b"def", 0), (b"", 0), (b"g", 0)]


async def test_an_overlong_line_keeps_its_head_and_counts_what_was_skipped() -> None:
    big = b"h" * 10 + b"x" * 5000
    reader = LineReader(_reader(b"ok\n", big, b"\nnext\n"), limit=100, keep=10, chunk=64)
    assert await _all(reader) == [(b"ok", 0), (b"h" * 10, 5000), (b"next", 0)]


async def test_an_overlong_line_ended_by_eof() -> None:
    reader = LineReader(_reader(b"y" * 1000), limit=100, keep=4, chunk=64)
    assert await _all(reader) == [(b"yyyy", 996)]


async def test_a_line_of_exactly_the_limit_is_whole() -> None:
    reader = LineReader(_reader(b"a" * 100 + b"\n" + b"b" * 101 + b"\n"), limit=100, keep=1)
    assert await _all(reader) == [(b"a" * 100, 0), (b"b", 100)]


async def test_the_reader_never_buffers_much_more_than_the_limit() -> None:
    stream = asyncio.StreamReader()
    reader = LineReader(stream, limit=1000, keep=10, chunk=256)
    task = asyncio.ensure_future(_all(reader))
    for _ in range(200):
        stream.feed_data(b"q" * 4096)
        await asyncio.sleep(0)
        assert len(reader._buf) <= 1000 + 256
    stream.feed_data(b"\nend\n")
    stream.feed_eof()
    assert await task == [(b"q" * 10, 200 * 4096 - 10), (b"end", 0)]


def test_response_id_reads_the_top_level_id_of_a_response_head() -> None:
    assert response_id(b'{"jsonrpc":"2.0","id":42,"result":{"content":[{"te') == 42
    assert response_id(b'{"id": "r-1", "jsonrpc": "2.0", "result": "zzz') == "r-1"
    assert response_id(b'{"jsonrpc":"2.0","id":"a\\"b","error":{"code') == 'a"b'
    # A nested "id" before the top-level one is not taken for it.
    assert response_id(b'{"jsonrpc":"2.0","result":{"id":5,"x":"zzzz') is None
    # Requests and notifications from the server are not responses.
    assert response_id(b'{"jsonrpc":"2.0","id":3,"method":"sampling/createMessage","p') is None
    assert response_id(b"not json at all") is None
    assert response_id(b'{"jsonrpc":"2.0","id":') is None


def test_truncation_marker_says_how_much() -> None:
    assert truncated("abc", 1_048_576) == "abc… [truncated 1,048,576 bytes]"


def _line(text: str) -> LogLine:
    return LogLine("s", 0.0, Stream.STDERR, text)


def test_server_log_is_bounded_by_bytes_not_lines() -> None:
    log = ServerLog(None, max_memory=10_000)
    for i in range(100):
        log.append(_line(f"{i:03d}" + "x" * 997))
    assert log.memory_bytes <= 10_000
    kept = log.tail(1000)
    assert 5 <= len(kept) <= 10
    assert kept[-1].text.startswith("099")
    # A single line over the whole budget is still kept (the newest is never dropped).
    log.append(_line("y" * 50_000))
    assert log.tail(1)[0].text == "y" * 50_000 and len(log.tail(100)) == 1
