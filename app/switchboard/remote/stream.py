"""One upstream session of a remote server, seen by the mux as a line stream.

It has the interface the gateway's mux uses of a stdio server's
:class:`~switchboard.supervisor.stream.StdioStream` (``write_nowait``, ``set_sink``,
``closed``, ``generation``): each line the mux writes becomes a POST upstream, each
message the server sends comes back as a line.

Streamable HTTP (MCP 2025-11-25 basic/transports): ``Mcp-Session-Id`` from the
initialize response, ``MCP-Protocol-Version`` on later requests, answers as JSON or
an SSE stream, a GET stream for the server's own messages (405: none). Legacy HTTP+SSE
(2024-11-05): a GET stream whose ``endpoint`` event names the POST URL.

What goes upstream is the JSON-RPC line plus our own headers (credentials.py): the
client's headers never reach here. What comes back is only JSON-RPC messages: the
upstream's headers, cookies and challenges never reach a client. A request that cannot
be delivered is answered at once with a JSON-RPC error naming the server; a session
that cannot go on ends the stream with a reason (``end_reason``) the server object
turns into a state.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from switchboard.core.errors import ServerNotRunning, SwitchboardError
from switchboard.remote.credentials import Credentials
from switchboard.remote.discovery import parse_challenge
from switchboard.remote.oauth import SignInRequired, Unreachable

log = logging.getLogger("switchboard.remote")

Sink = Callable[[bytes | None], None]
UNAVAILABLE = -32000
ACCEPT = "application/json, text/event-stream"
MAX_EVENT = 64 * 1024 * 1024


class NotAnEndpoint(SwitchboardError):
    """The URL answers, but not as an MCP endpoint (404/405 to a POST)."""


class EndReason(enum.Enum):
    STOPPED = "stopped"
    SIGN_IN = "sign-in"
    UNREACHABLE = "unreachable"
    SESSION_LOST = "session-lost"


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, str, str | None]]:
    """(event, data, id) of a ``text/event-stream`` body (HTML Living Standard §9.2.6)."""
    event, event_id, size = "message", None, 0
    data: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if data:
                yield event, "\n".join(data), event_id
            event, data, size = "message", [], 0
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            size += len(value)
            if size > MAX_EVENT:
                raise httpx.DecodingError("SSE event too large")
            data.append(value)
        elif field == "event":
            event = value or "message"
        elif field == "id":
            event_id = value
    if data:
        yield event, "\n".join(data), event_id


class RemoteStream:
    """The mux's view of one upstream session."""

    def __init__(
        self,
        name: str,
        generation: int,
        url: str,
        *,
        legacy: bool,
        http: httpx.AsyncClient,
        credentials: Credentials,
        system: Callable[[str], None],
        ended: Callable[[RemoteStream], None],
    ) -> None:
        self.name = name
        self.generation = generation
        self.url = url
        self.legacy = legacy
        self._http = http
        self._creds = credentials
        self._system = system
        self._ended = ended
        self.closed = False
        self.end_reason: EndReason | None = None
        self.end_detail = ""
        self._sink: Sink | None = None
        self._queue: list[bytes] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.session_id: str | None = None
        self.protocol_version: str | None = None
        self._init_id: Any = None
        self._gate: asyncio.Task[None] | None = None
        self._post_url = url
        self._listener: asyncio.Task[None] | None = None
        self._legacy_ready: asyncio.Future[None] | None = None

    # -- the StdioStream interface ---------------------------------------------------
    def set_sink(self, sink: Sink | None) -> None:
        self._sink = sink
        if sink is not None:
            queued, self._queue = self._queue, []
            for line in queued:
                sink(line)

    def write_nowait(self, message: bytes) -> None:
        if self.closed:
            raise ServerNotRunning(
                f"Remote server {self.name!r} is not connected.", hint="Start it and try again."
            )
        try:
            msg = json.loads(message)
        except ValueError:
            return
        if not isinstance(msg, dict):
            return
        if msg.get("method") == "initialize":
            self._init_id = msg.get("id")
        task = asyncio.get_running_loop().create_task(self._post(message, msg, self._gate))
        if msg.get("method") == "notifications/initialized":
            self._gate = task  # requests after it wait until the server has it
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def send(self, message: bytes) -> None:
        self.write_nowait(message)

    def _feed(self, line: bytes) -> None:
        if self.closed:
            return
        if self._sink is not None:
            self._sink(line)
        else:
            self._queue.append(line)

    def _end(self, reason: EndReason = EndReason.STOPPED, detail: str = "") -> None:
        """End the session (the sink gets None: the mux fails what waits at once)."""
        if self.closed:
            return
        self.closed = True
        self.end_reason = reason
        self.end_detail = detail
        if self._sink is not None:
            self._sink(None)
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        if self._listener is not None and self._listener is not current:
            self._listener.cancel()
        if reason is EndReason.STOPPED and self.session_id and not self.legacy:
            # MCP basic/transports "Session Management": DELETE to end it (best effort).
            task = asyncio.get_running_loop().create_task(self._delete(self.session_id))
            _BACKGROUND.add(task)
            task.add_done_callback(_BACKGROUND.discard)
        self._ended(self)

    # -- connecting --------------------------------------------------------------------
    async def connect(self) -> None:
        """Check that the server answers and accepts our credentials (raises
        SignInRequired or Unreachable); legacy SSE: open the stream, learn the POST URL."""
        if self.legacy:
            loop = asyncio.get_running_loop()
            self._legacy_ready = loop.create_future()
            self._listener = loop.create_task(self._listen())
            try:
                await asyncio.wait_for(asyncio.shield(self._legacy_ready), 30)
            except TimeoutError:
                raise Unreachable(
                    f"Remote server {self.name!r} sent no endpoint event.",
                    hint="Check that the URL is a legacy SSE endpoint.",
                ) from None
            return
        probe = b'{"jsonrpc":"2.0","id":"switchboard-probe","method":"ping"}'
        response = await self._request("POST", self.url, probe, probe=True)
        await response.aclose()
        if response.status_code in (404, 405):
            raise NotAnEndpoint(
                f"Remote server {self.name!r}: {self.url} answered HTTP "
                f"{response.status_code}; it is not a Streamable HTTP MCP endpoint.",
                hint="Check the URL (it usually ends in /mcp); a legacy server needs "
                "transport 'sse' and its /sse URL.",
            )
        if response.status_code >= 500:
            raise Unreachable(
                f"Remote server {self.name!r} answered HTTP {response.status_code}.",
                hint="The provider has trouble; Switchboard retries.",
            )

    async def _request(
        self, method: str, url: str, body: bytes | None, *, probe: bool = False
    ) -> httpx.Response:
        """Send with credentials; a 401 refreshes once and retries. The response is
        open (streamed): the caller closes it. Raises SignInRequired / Unreachable."""
        for attempt in range(2):
            headers = {"accept": ACCEPT if method == "POST" else "text/event-stream"}
            if body is not None:
                headers["content-type"] = "application/json"
            if self.session_id and not probe:
                headers["mcp-session-id"] = self.session_id
            if self.protocol_version and not probe:
                headers["mcp-protocol-version"] = self.protocol_version
            headers.update(await self._creds.headers())
            request = self._http.build_request(method, url, content=body, headers=headers)
            try:
                response = await self._http.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise Unreachable(
                    f"Remote server {self.name!r} could not be reached ({type(exc).__name__}).",
                    hint="Check the network; Switchboard retries.",
                ) from None
            if response.status_code == 401:
                await response.aclose()
                challenge = parse_challenge(response.headers.get("www-authenticate"))
                if attempt == 0 and await self._creds.unauthorized(
                    challenge, headers.get("Authorization")
                ):
                    continue
                raise SignInRequired(
                    f"Remote server {self.name!r} refused the sign-in.", hint="Sign in again."
                )
            if response.status_code == 403:
                challenge = parse_challenge(response.headers.get("www-authenticate"))
                if challenge.error == "insufficient_scope":
                    await response.aclose()
                    raise self._creds.insufficient_scope(challenge)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    # -- messages to the server --------------------------------------------------------
    async def _post(
        self, line: bytes, msg: dict[str, Any], gate: asyncio.Task[None] | None
    ) -> None:
        if gate is not None and not gate.done():
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.shield(gate)
        msg_id = msg.get("id") if "method" in msg else None
        try:
            response = await self._request("POST", self._post_url, line)
        except SignInRequired as exc:
            self._fail(msg_id, f"Remote server {self.name!r} needs sign-in: {exc.message}")
            self._end(EndReason.SIGN_IN, exc.message)
            return
        except Unreachable as exc:
            self._fail(msg_id, exc.message)
            self._end(EndReason.UNREACHABLE, exc.message)
            return
        try:
            await self._answer(response, msg, msg_id)
        except (httpx.HTTPError, ValueError) as exc:
            self._fail(msg_id, f"Remote server {self.name!r}: the answer broke off ({exc}).")
        finally:
            await response.aclose()

    async def _answer(self, response: httpx.Response, msg: dict[str, Any], msg_id: Any) -> None:
        status = response.status_code
        if status == 404 and self.session_id:
            # The server ended the session: a new one (the mux re-initializes).
            self._fail(msg_id, f"Remote server {self.name!r} ended the session; retry.")
            self._end(EndReason.SESSION_LOST, "the server ended the session")
            return
        if status >= 400:
            if status < 500 and msg_id is not None and await self._rpc_error(response, msg_id):
                return  # the server's own JSON-RPC error (e.g. 400 invalid params)
            self._fail(msg_id, f"Remote server {self.name!r} answered HTTP {status}.")
            return
        if msg.get("method") == "initialize" and not self.legacy:
            self.session_id = response.headers.get("mcp-session-id") or None
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/json":
            body = await response.aread()
            if len(body) > MAX_EVENT:
                self._fail(msg_id, f"Remote server {self.name!r} sent too large an answer.")
                return
            self._deliver(body)
        elif kind == "text/event-stream":
            async for _event, data, _ in sse_events(response):
                self._deliver(data.encode())
        elif status not in (200, 202, 204) and msg_id is not None:
            self._fail(msg_id, f"Remote server {self.name!r} sent no JSON-RPC answer.")
        if msg.get("method") == "notifications/initialized" and not self.legacy:
            self._start_listening()

    async def _rpc_error(self, response: httpx.Response, msg_id: Any) -> bool:
        """Deliver a 4xx body that is a JSON-RPC error for ``msg_id`` (MCP servers answer
        bad requests that way); False when it is anything else."""
        if not response.headers.get("content-type", "").startswith("application/json"):
            return False
        body = await response.aread()
        try:
            data = json.loads(body) if len(body) <= 65536 else None
        except ValueError:
            return False
        if (
            isinstance(data, dict)
            and data.get("id") == msg_id
            and isinstance(data.get("error"), dict)
            and type(data["error"].get("code")) is int
            and isinstance(data["error"].get("message"), str)
        ):
            error = {"code": data["error"]["code"], "message": data["error"]["message"][:2000]}
            self._feed(json.dumps({"jsonrpc": "2.0", "id": msg_id, "error": error}).encode())
            return True
        return False

    def _deliver(self, body: bytes) -> None:
        """Hand the server's message(s) to the mux (a JSON-RPC batch is split)."""
        try:
            data = json.loads(body)
        except ValueError:
            self._system("dropped a message that is not JSON")
            return
        for item in data if isinstance(data, list) else [data]:
            if not isinstance(item, dict):
                continue
            if item.get("id") == self._init_id and isinstance(item.get("result"), dict):
                version = item["result"].get("protocolVersion")
                if isinstance(version, str):
                    self.protocol_version = version
            self._feed(json.dumps(item, separators=(",", ":")).encode())

    def _fail(self, msg_id: Any, message: str) -> None:
        if msg_id is None:
            return
        error = {"code": UNAVAILABLE, "message": message, "data": {"server": self.name}}
        self._feed(json.dumps({"jsonrpc": "2.0", "id": msg_id, "error": error}).encode())

    # -- messages from the server (GET stream) ------------------------------------------
    def _start_listening(self) -> None:
        if self._listener is None and not self.closed:
            self._listener = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        """The GET stream: the server's own requests and notifications. Reconnects with
        a growing delay; 405 means the server offers none."""
        delay = 0.5
        while not self.closed:
            try:
                response = await self._request("GET", self.url, None)
            except (SignInRequired, Unreachable) as exc:
                if self._legacy_ready is not None and not self._legacy_ready.done():
                    self._legacy_ready.set_exception(exc)  # connect() raises it
                    return
                if isinstance(exc, SignInRequired):
                    self._end(EndReason.SIGN_IN, exc.message)
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            try:
                if response.status_code in (404, 405) and not self.legacy:
                    return
                if response.status_code != 200:
                    if self._legacy_ready is not None and not self._legacy_ready.done():
                        self._legacy_ready.set_exception(
                            Unreachable(
                                f"Remote server {self.name!r} answered HTTP "
                                f"{response.status_code} to the SSE stream.",
                                hint="Check the URL; Switchboard retries.",
                            )
                        )
                        return
                else:
                    delay = 0.5
                    async for event, data, _ in sse_events(response):
                        if event == "endpoint" and self.legacy:
                            self._on_endpoint(data)
                        elif event == "message":
                            self._deliver(data.encode())
            except httpx.HTTPError:
                pass
            finally:
                await response.aclose()
            if self.legacy and not self.closed:
                # The legacy session is the stream: it is gone.
                self._end(EndReason.SESSION_LOST, "the SSE stream ended")
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    def _on_endpoint(self, data: str) -> None:
        target = urljoin(self.url, data.strip())
        a, b = urlsplit(target), urlsplit(self.url)
        if (a.scheme, a.netloc) != (b.scheme, b.netloc):
            self._system(f"ignored an endpoint on another origin: {a.netloc}")
            return
        self._post_url = target
        if self._legacy_ready is not None and not self._legacy_ready.done():
            self._legacy_ready.set_result(None)

    async def _delete(self, session_id: str) -> None:
        # RuntimeError: the engine closed the HTTP client meanwhile (shutting down).
        with contextlib.suppress(httpx.HTTPError, SignInRequired, Unreachable, RuntimeError):
            headers = {"mcp-session-id": session_id, **await self._creds.headers()}
            await self._http.delete(self.url, headers=headers, timeout=5)


_BACKGROUND: set[asyncio.Task[None]] = set()
"""Session DELETEs on their way (the service waits for them briefly when it closes)."""


async def settle_background(timeout: float = 2.0) -> None:
    """Let the DELETEs of ended sessions finish (bounded) before the client closes."""
    pending = [t for t in _BACKGROUND if not t.done()]
    if pending:
        await asyncio.wait(pending, timeout=timeout)
