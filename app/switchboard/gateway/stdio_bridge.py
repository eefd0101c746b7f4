"""``switchboard connect <name>``: a stdio <-> gateway bridge for stdio-only MCP clients.

Claude Desktop and other clients that can only spawn a command talk JSON-RPC lines on
the bridge's stdin/stdout; the bridge speaks Streamable HTTP to the gateway:

- each client message is POSTed (requests concurrently: a slow tool does not block the
  others); JSON and SSE answers are written back as lines;
- after ``initialize`` it keeps the session id and opens the GET stream for
  server-initiated messages;
- a 404 (the gateway forgot the session, e.g. it restarted) is healed by replaying the
  client's ``initialize`` and retrying once; the client never notices;
- an unreachable gateway turns every request into a JSON-RPC error, nothing hangs;
- ``switchboard connect`` hands it the engine's private Unix socket as transport (see
  :mod:`switchboard.control.channel`): MCP bytes and tokens never go to whatever holds
  the TCP port; the URL only names the endpoint (Host header, token audience);
- a bearer token comes from a token provider (``SWITCHBOARD_TOKEN`` by default); on
  401 the provider is asked again once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson

from switchboard.gateway import jsonrpc

log = logging.getLogger("switchboard.gateway.stdio_bridge")

TokenProvider = Callable[[bool], Awaitable[str | None]]
"""Returns the bearer token for the gateway (None: send none). The argument is True
when the previous token was refused (401): fetch a fresh one."""

ACCEPT = "application/json, text/event-stream"


async def env_token(refresh: bool) -> str | None:
    """Default provider: the ``SWITCHBOARD_TOKEN`` environment variable."""
    return os.environ.get("SWITCHBOARD_TOKEN") or None


def token_provider_for(url: str) -> TokenProvider:
    """How ``connect`` gets tokens for ``url``: from ``SWITCHBOARD_TOKEN``."""
    return env_token


Writer = Callable[[bytes], None]


class StdioBridge:
    """Relays JSON-RPC lines between a stdio client and one gateway MCP URL."""

    def __init__(
        self,
        url: str,
        write: Writer,
        *,
        token_provider: TokenProvider = env_token,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self._write = write
        self._token_provider = token_provider
        self._http = httpx.AsyncClient(
            transport=transport,
            trust_env=False,
            timeout=httpx.Timeout(30.0, read=None),
        )
        self.session_id: str | None = None
        self.protocol_version: str | None = None
        self._init_message: dict[str, Any] | None = None
        self._token: str | None = None
        self._token_loaded = False
        self._get_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._reinit_lock = asyncio.Lock()

    async def run(self, lines: Callable[[], Awaitable[bytes]]) -> None:
        """Relay until ``lines()`` returns b"" (stdin closed)."""
        try:
            while True:
                line = await lines()
                if not line:
                    break
                line = line.strip()
                if line:
                    await self.handle(line)
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
        finally:
            await self.aclose()

    async def handle(self, line: bytes) -> None:
        try:
            msg = orjson.loads(line)
        except orjson.JSONDecodeError:
            self._write(jsonrpc.error(None, jsonrpc.PARSE_ERROR, "Parse error"))
            return
        if not isinstance(msg, dict):
            self._write(jsonrpc.error(None, jsonrpc.INVALID_REQUEST, "Batches are not supported"))
            return
        if msg.get("method") == "initialize":
            # Sequential: everything after it needs the session id.
            self._init_message = msg
            await self._send(msg, line)
            return
        task = asyncio.create_task(self._send(msg, line))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        if self._get_task is not None:
            self._get_task.cancel()
            with contextlib.suppress(BaseException):
                await self._get_task
        if self.session_id is not None:
            with contextlib.suppress(httpx.HTTPError):
                await self._http.delete(self.url, headers=await self._headers(), timeout=5)
        await self._http.aclose()

    # -- HTTP ---------------------------------------------------------------------------
    async def _headers(self) -> dict[str, str]:
        headers = {"accept": ACCEPT, "content-type": "application/json"}
        if self.session_id:
            headers["mcp-session-id"] = self.session_id
        if self.protocol_version:
            headers["mcp-protocol-version"] = self.protocol_version
        if not self._token_loaded:
            self._token = await self._token_provider(False)
            self._token_loaded = True
        if self._token:
            headers["authorization"] = f"Bearer {self._token}"
        return headers

    async def _send(self, msg: dict[str, Any], body: bytes, retried: bool = False) -> None:
        msg_id = msg.get("id")
        is_request = "method" in msg and "id" in msg
        try:
            async with self._http.stream(
                "POST", self.url, content=body, headers=await self._headers()
            ) as response:
                status = response.status_code
                if status == 401 and not retried:
                    await response.aread()
                    self._token = await self._token_provider(True)
                    self._token_loaded = True
                    await self._send(msg, body, retried=True)
                    return
                if status == 404 and self.session_id is not None and not retried:
                    await response.aread()
                    if await self._reinitialize():
                        await self._send(msg, body, retried=True)
                        return
                if msg.get("method") == "initialize" and status == 200:
                    self.session_id = response.headers.get("mcp-session-id")
                ctype = response.headers.get("content-type", "")
                if ctype.startswith("text/event-stream"):
                    await self._relay_sse(response)
                else:
                    data = await response.aread()
                    if data and ctype.startswith("application/json"):
                        self._deliver(data, msg_id if is_request else None, status)
                    elif is_request and status >= 400:
                        self._write(
                            jsonrpc.error(
                                msg_id,
                                jsonrpc.INTERNAL_ERROR,
                                f"The gateway answered HTTP {status}.",
                            )
                        )
        except httpx.HTTPError as exc:
            log.warning("bridge: %s", exc)
            if is_request:
                self._write(
                    jsonrpc.error(
                        msg_id,
                        jsonrpc.SERVER_UNAVAILABLE,
                        f"Switchboard is not running: its gateway at {self.url} is not "
                        f"reachable ({type(exc).__name__}: {exc}). Start Switchboard and "
                        "try again.",
                    )
                )
            return
        if msg.get("method") == "initialize" and self.session_id and self._get_task is None:
            self._get_task = asyncio.create_task(self._get_stream())

    def _deliver(self, data: bytes, msg_id: jsonrpc.MessageId, status: int) -> None:
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict) and ("result" in parsed or "error" in parsed):
            if parsed.get("id") is None and msg_id is not None:
                parsed["id"] = msg_id
            if parsed.get("id") == msg_id and msg_id is not None and "result" in parsed:
                result = parsed.get("result")
                if isinstance(result, dict) and "protocolVersion" in result:
                    self.protocol_version = str(result["protocolVersion"])
            self._write(orjson.dumps(parsed))
        elif msg_id is not None:
            self._write(
                jsonrpc.error(
                    msg_id, jsonrpc.INTERNAL_ERROR, f"The gateway answered HTTP {status}."
                )
            )

    async def _relay_sse(
        self, response: httpx.Response, on_id: Callable[[str], None] | None = None
    ) -> None:
        """Relay each event's data as one stdout line; ``on_id`` hears each event id.
        Events with empty data (2025-11-25 priming events) are not relayed."""
        data: list[str] = []
        async for raw in response.aiter_lines():
            if raw == "":
                if any(data):
                    self._write("\n".join(data).encode())
                data = []
            elif raw.startswith("data:"):
                data.append(raw[5:].lstrip())
            elif raw.startswith("id:") and on_id is not None:
                on_id(raw[3:].strip())
        if any(data):
            self._write("\n".join(data).encode())

    async def _get_stream(self) -> None:
        """Server-initiated messages; reconnects while the session lives, resuming with
        ``Last-Event-ID`` so nothing sent meanwhile is lost."""
        last: dict[str | None, str] = {}  # session -> the last event id seen in it

        def seen(event_id: str) -> None:
            last.clear()
            last[self.session_id] = event_id

        while self.session_id is not None:
            try:
                headers = await self._headers()
                headers["accept"] = "text/event-stream"
                if self.session_id in last:
                    headers["last-event-id"] = last[self.session_id]
                async with self._http.stream("GET", self.url, headers=headers) as response:
                    if response.status_code == 405:
                        return
                    if response.status_code == 404:
                        await self._reinitialize()
                        continue
                    if response.status_code != 200:
                        await asyncio.sleep(1.0)
                        continue
                    await self._relay_sse(response, seen)
            except httpx.HTTPError:
                await asyncio.sleep(1.0)

    async def _reinitialize(self) -> bool:
        """The gateway lost our session: replay the client's initialize, quietly."""
        if self._init_message is None:
            return False
        stale = self.session_id
        async with self._reinit_lock:
            if self.session_id != stale:
                return True  # someone else already re-initialized
            self.session_id = None
            init = dict(self._init_message, id="switchboard-bridge-reinit")
            headers = await self._headers()
            try:
                r = await self._http.post(self.url, content=orjson.dumps(init), headers=headers)
                if r.status_code != 200:
                    return False
                self.session_id = r.headers.get("mcp-session-id")
                headers = await self._headers()
                await self._http.post(
                    self.url,
                    content=b'{"jsonrpc":"2.0","method":"notifications/initialized"}',
                    headers=headers,
                )
            except httpx.HTTPError:
                return False
            log.info("bridge: re-initialized the session after the gateway lost it")
            return True


def _pollable(stream: Any) -> bool:
    """A pipe or a socket: what the event loop can watch."""
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _stdout_writer() -> Writer:
    out = sys.stdout.buffer

    def write(message: bytes) -> None:
        out.write(message + b"\n")
        out.flush()

    return write


async def run_bridge(
    url: str,
    token_provider: TokenProvider | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """Run the bridge on this process's stdin/stdout (``transport``: how to reach ``url``;
    None: plain TCP)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    lines: Callable[[], Awaitable[bytes]] | None = None
    if _pollable(sys.stdin):
        try:
            await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer
            )
            lines = reader.readline
        except (ValueError, OSError):
            pass
    if lines is None:
        # stdin is a regular file, /dev/null or a terminal: read it in a thread (epoll
        # refuses /dev/null, and that error would surface in a callback, not here).
        def lines_sync() -> Awaitable[bytes]:
            return asyncio.to_thread(sys.stdin.buffer.readline)

        lines = lines_sync
    bridge = StdioBridge(
        url, _stdout_writer(), token_provider=token_provider or env_token, transport=transport
    )
    await bridge.run(lines)
