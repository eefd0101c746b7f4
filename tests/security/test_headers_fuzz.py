"""Issue 10.4 (the gateway's HTTP layer): malformed methods, headers and bodies
against every gateway endpoint and the well-known documents never get a 5xx, never a
traceback, and never leave an error in the server log, on the real listener."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random

import httpx
import pytest

from switchboard.core.spec import AuthMode
from switchboard.engine import Engine
from tests.conftest import fixture_cmd
from tests.fixtures.gw_helpers import RawClient, add_started

pytestmark = pytest.mark.timeout(300)

PATHS = [
    "/servers/open/mcp",
    "/servers/open/sse",
    "/servers/open/messages?session_id=nope",
    "/servers/open/messages?session_id=%ff%zz&session_id=",
    "/servers/echo/mcp",
    "/servers/echo/sse",
    "/servers/echo/messages",
    "/servers/nope/mcp",
    "/servers//mcp",
    "/servers/open/mcp/extra",
    "/servers/%00/mcp",
    "/.well-known/oauth-protected-resource/servers/echo/mcp",
    "/.well-known/oauth-protected-resource/servers/open/sse",
    "/.well-known/oauth-protected-resource/servers/%ff/mcp",
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
]
METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS", "HEAD", "TRACE", "FOO", "get"]
BODIES = [
    b"",
    b"null",
    b"[]",
    b"{}",
    b"[1]",
    b"1e999999",
    b'"x"',
    b"\xff\xfe\x00garbage",
    b'{"jsonrpc":"2.0"}',
    b'{"jsonrpc":"1.0","id":1,"method":"ping"}',
    b'{"jsonrpc":"2.0","method":1,"id":1}',
    b'{"jsonrpc":"2.0","method":"initialize"}',
    b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":"x"}',
    b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":[1]}',
    b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":"x"}}',
    b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":7}}',
    b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":null}',
    b'{"jsonrpc":"2.0","id":null,"method":"ping"}',
    b'{"jsonrpc":"2.0","id":1.5,"method":"ping"}',
    b'{"jsonrpc":"2.0","id":1,"result":{}}',
    b'{"jsonrpc":"2.0","id":1,"error":"x"}',
    b'{"jsonrpc":"2.0","id":1,"method":"server/discover"}',
    b"[" * 5000 + b"]" * 5000,
    # (ids that are objects or arrays are the mux's to handle: branch mux)
]
HEADER_SETS: list[list[tuple[bytes, bytes]]] = [
    [],
    [(b"content-type", b"application/json")],
    [(b"content-type", b"application/json; charset=\xff"), (b"accept", b"\xff")],
    [(b"content-type", b"text/plain")],
    [(b"content-type", b"application/json"), (b"accept", b"text/html")],
    [(b"content-type", b"application/json"), (b"mcp-session-id", b"\xff\x01")],
    [(b"content-type", b"application/json"), (b"mcp-session-id", b"x" * 8000)],
    [(b"content-type", b"application/json"), (b"mcp-session-id", b"")],
    [(b"content-type", b"application/json"), (b"mcp-protocol-version", b"\xff")],
    [(b"content-type", b"application/json"), (b"mcp-protocol-version", b"")],
    [(b"accept", b"text/event-stream"), (b"last-event-id", b"p1-x")],
    [(b"accept", b"text/event-stream"), (b"last-event-id", b"\xff" * 300)],
    [(b"accept", b"text/event-stream"), (b"last-event-id", b"-1:-1")],
    [(b"authorization", b"Bearer \xff\xfe")],
    [(b"authorization", b"Bearer " + b"a." * 3000)],
    [(b"authorization", b"Basic")],
    [(b"authorization", b"")],
    [(b"origin", b"null")],
    [(b"origin", b"http://localhost:99999")],
    [(b"origin", b"http://[::1")],
    [(b"origin", b"\xff")],
    [(b"origin", b"http://localhost"), (b"access-control-request-method", b"\xff")],
    [(b"content-length", b"99999999999999")],
    [(b"content-type", b"application/json"), (b"expect", b"100-continue")],
    [(b"content-type", b"application/json"), (b"x-\xff", b"v")],
]


async def _exchange(port: int, raw: bytes) -> bytes:
    """Send ``raw``, half-close, and return the status line (b"" if the listener just
    closed the connection, which is fine for bytes that are not HTTP)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        try:
            line = await asyncio.wait_for(reader.readline(), 30)
        except ConnectionResetError:
            return b""
        return line.rstrip(b"\r\n")
    finally:
        writer.close()
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            await writer.wait_closed()


def _request(
    method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes, port: int
) -> bytes:
    head = [f"{method} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1:%d" % port]
    names = {k.lower() for k, _ in headers}
    head += [k + b": " + v for k, v in headers]
    if b"content-length" not in names and (body or method in ("POST", "PUT", "PATCH")):
        head.append(b"Content-Length: %d" % len(body))
    head.append(b"Connection: close")
    return b"\r\n".join(head) + b"\r\n\r\n" + body


async def test_malformed_requests_never_get_a_5xx(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    uvicorn_log = logging.getLogger("uvicorn.error")  # does not propagate to the root
    uvicorn_log.addHandler(caplog.handler)
    try:
        await _fuzz(engine, caplog)
    finally:
        uvicorn_log.removeHandler(caplog.handler)


async def _fuzz(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    await add_started(engine, "open", cmd, args)
    await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)
    engine.gateway.keepalive = 0.05
    port = int(engine.base_url.rsplit(":", 1)[1])
    rng = random.Random(20261129)
    cases: list[bytes] = []
    for path in PATHS:
        for method in METHODS:
            cases.append(_request(method, path, rng.choice(HEADER_SETS), b"", port))
        for body in BODIES:
            cases.append(_request("POST", path, HEADER_SETS[1], body, port))
        for headers in HEADER_SETS:
            method = rng.choice(["GET", "POST", "DELETE", "OPTIONS"])
            cases.append(_request(method, path, headers, rng.choice(BODIES), port))
    # Not HTTP, or broken HTTP framing: the listener answers 400 or closes.
    cases += [
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",  # a TLS ClientHello
        b"GET /servers/open/mcp HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n",
        b"POST /servers/open/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n",
        b"POST /servers/open/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n",
        b"POST /servers/open/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n"
        b"Content-Length: 2\r\n\r\n{}",
        b"POST /servers/open/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked"
        b"\r\nContent-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        b"POST /servers/open/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
        b"\r\nContent-Length: 100\r\n\r\n{}",  # a body shorter than announced
        b"GET /servers/open/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX: a\rb\r\n\r\n",
        b"GET /servers/open/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n Folded: x\r\n\r\n",
        b"GET /servers/open/mcp\x00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET /servers/open/sse HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\n\r\n",
        b"GET http://evil.example/servers/open/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    ]
    # The same with live sessions: Streamable HTTP, and legacy SSE with its stream open.
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        client = RawClient(http, engine.server_url("open"))
        await client.initialize()
        sid = (client.session_id or "").encode()
        live = [(b"mcp-session-id", sid), (b"mcp-protocol-version", b"2025-11-25")]
        async with http.stream(
            "GET", engine.server_url("open").removesuffix("/mcp") + "/sse"
        ) as sse:
            lines = sse.aiter_lines()
            assert await anext(lines) == "event: endpoint"
            messages = (await anext(lines)).removeprefix("data: ")
            for body in BODIES:
                for headers in (HEADER_SETS[1], rng.choice(HEADER_SETS)):
                    mcp = "/servers/open/mcp"
                    cases.append(_request("POST", mcp, [*live, *headers], body, port))
                    cases.append(_request("POST", messages, headers, body, port))
            for headers in HEADER_SETS[10:13]:
                cases.append(_request("GET", "/servers/open/mcp", [*live, *headers], b"", port))
            cases.append(_request("DELETE", "/servers/open/mcp", live, b"", port))
            await _run(port, cases)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    assert len(cases) > 500


async def _run(port: int, cases: list[bytes]) -> None:
    bad: list[tuple[bytes, bytes]] = []
    for raw in cases:
        status = await _exchange(port, raw)
        parts = status.split(b" ")
        code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        if code >= 500 or (status and not status.startswith(b"HTTP/1.1 ")):
            bad.append((status, raw[:200]))
    assert not bad, b"\n".join(s + b" <- " + r.split(b"\r\n")[0] for s, r in bad).decode("latin-1")


def _mutate(rng: random.Random, data: bytes) -> bytes:
    """A few random byte flips, insertions, deletions and duplications."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(out))
        op = rng.randrange(4)
        if op == 0:
            out[i] = rng.randrange(256)
        elif op == 1:
            out[i:i] = bytes([rng.choice(b':\r\n \x00\xff{}[]",0-')]) * rng.randint(1, 3)
        elif op == 2:
            del out[i : i + rng.randint(1, 8)]
        else:
            j = min(len(out), i + rng.randint(1, 40))
            out[j:j] = out[i:j]
    return bytes(out)


async def test_mutated_requests_never_get_a_5xx(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """Byte-level mutations of valid requests (a fixed seed: reproducible)."""
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addHandler(caplog.handler)
    try:
        cmd, args = fixture_cmd("echo_server.py")
        await add_started(engine, "open", cmd, args)
        port = int(engine.base_url.rsplit(":", 1)[1])
        async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
            client = RawClient(http, engine.server_url("open"))
            await client.initialize()
            live = [
                (b"mcp-session-id", (client.session_id or "").encode()),
                (b"mcp-protocol-version", b"2025-11-25"),
                (b"content-type", b"application/json"),
                (b"accept", b"application/json, text/event-stream"),
            ]
            seeds = [
                _request(
                    "POST",
                    "/servers/open/mcp",
                    live,
                    b'{"jsonrpc":"2.0","id":7,"method":"tools/call",'
                    b'"params":{"name":"echo","arguments":{"text":"x"}}}',
                    port,
                ),
                _request(
                    "POST",
                    "/servers/open/mcp",
                    live[2:],
                    b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":'
                    b'{"protocolVersion":"2025-11-25","capabilities":{},'
                    b'"clientInfo":{"name":"f","version":"1"}}}',
                    port,
                ),
                _request(
                    "GET", "/servers/open/mcp", [*live, (b"last-event-id", b"g1-1")], b"", port
                ),
                _request("DELETE", "/servers/open/mcp", live, b"", port),
                _request(
                    "GET", "/.well-known/oauth-protected-resource/servers/open/mcp", [], b"", port
                ),
            ]
            rng = random.Random(int(os.environ.get("FUZZ_SEED", "4242")))
            cases = [
                _mutate(rng, rng.choice(seeds)) for _ in range(int(os.environ.get("FUZZ_N", "400")))
            ]
            await _run(port, cases)
    finally:
        uvicorn_log.removeHandler(caplog.handler)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
