"""Pass-through for local servers that speak Streamable HTTP or legacy SSE themselves.

Requests are forwarded with httpx and streamed both ways: every upstream chunk is
sent on as it arrives (SSE is never buffered); ``Mcp-Session-Id`` and
``MCP-Protocol-Version`` travel unchanged, so the upstream server's sessions are
the client's sessions. The client's ``Authorization`` header is never forwarded
(the token is for the gateway, not for the server). For a legacy SSE server the
``endpoint`` event is rewritten to point at the gateway's ``/messages`` URL.

Sessions are not authentication (MCP security best practices): an upstream session id
(``Mcp-Session-Id``, or the legacy ``/messages`` query) is bound to the caller whose
request got it, and refused (404) to every other caller with a token, as are ids the
gateway never saw issued. Without sign-in there is no caller to bind to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urljoin, urlsplit

import httpx
from starlette.types import Receive, Scope, Send

from switchboard.core.activity import ActivitySink
from switchboard.core.spec import ServerSpec, Transport
from switchboard.gateway import jsonrpc
from switchboard.gateway.http_io import respond, wait_disconnect
from switchboard.gateway.passthrough_activity import PassThroughCall
from switchboard.gateway.sessions import Bindings, Owner

log = logging.getLogger("switchboard.gateway")

_FORWARD_REQUEST = frozenset(
    {
        b"content-type",
        b"accept",
        b"mcp-session-id",
        b"mcp-protocol-version",
        b"last-event-id",
        b"mcp-method",
        b"mcp-name",
    }
)
_FORWARD_RESPONSE = frozenset(
    {
        "content-type",
        "mcp-session-id",
        "cache-control",
        "retry-after",
        "allow",
        "mcp-protocol-version",
    }
)


class PassThrough:
    """Forwards gateway requests to servers' own local HTTP endpoints."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        activity: ActivitySink | None = None,
    ) -> None:
        self.activity = activity
        self._client = httpx.AsyncClient(
            transport=transport,
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(30.0, read=None),
        )
        self._sse_paths: dict[str, str] = {}
        """server name -> the upstream messages URL path its SSE endpoint event named."""
        self.bindings = Bindings()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def handle(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        spec: ServerSpec,
        endpoint: str,
        prefix: str,
        max_body: int,
        owner: Owner | None = None,
    ) -> None:
        assert spec.url is not None
        method = scope["method"]
        query = scope.get("query_string", b"").decode("latin-1")
        if spec.transport is Transport.STREAMABLE_HTTP:
            if endpoint != "mcp":
                await _plain(
                    send, 404, f"Server {spec.name!r} speaks Streamable HTTP: use .../mcp."
                )
                return
            url = spec.url
            if query:
                url += ("&" if "?" in url else "?") + query
        else:
            if endpoint == "sse":
                url = spec.url
            elif endpoint == "messages":
                path = self._sse_paths.get(spec.name)
                if path is None:
                    await _plain(send, 404, "Open the SSE stream (.../sse) first.")
                    return
                url = urljoin(spec.url, path) + (f"?{query}" if query else "")
            else:
                await _plain(send, 404, f"Server {spec.name!r} speaks legacy SSE: use .../sse.")
                return
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k in _FORWARD_REQUEST
        ]
        session_key: tuple[str, str, str] | None = None
        if endpoint == "messages":
            session_key = ("sse", spec.name, query)
        else:
            for k, v in headers:
                if k == "mcp-session-id":
                    session_key = ("mcp", spec.name, v)
        if session_key is not None and not self.bindings.allowed(session_key, owner):
            await respond(
                send,
                404,
                jsonrpc.error(None, jsonrpc.INVALID_REQUEST, "Session not found."),
                [],
            )
            return
        body = b""
        if method in ("POST", "PUT", "PATCH"):
            parts = []
            size = 0
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > max_body:
                    await _plain(send, 413, f"Request body over {max_body} bytes.")
                    return
                parts.append(chunk)
                more = message.get("more_body", False)
            body = b"".join(parts)
        timeout = httpx.Timeout(30.0, read=None if method == "GET" else spec.request_timeout)
        request = self._client.build_request(
            method, url, headers=headers, content=body, timeout=timeout
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            log.warning("pass-through to %s failed: %s", spec.name, exc)
            await respond(
                send,
                502,
                jsonrpc.error(
                    None,
                    jsonrpc.SERVER_UNAVAILABLE,
                    f"Server {spec.name!r} at {spec.url} could not be reached "
                    f"({type(exc).__name__}). Check that it is running.",
                    {"server": spec.name, "state": "unreachable"},
                ),
                [],
            )
            return
        call = None
        if method == "POST" and spec.transport is Transport.STREAMABLE_HTTP:
            session = response.headers.get("mcp-session-id") or (
                session_key[2] if session_key is not None else None
            )
            call = PassThroughCall.start(self.activity, spec.name, body, owner, session)
        issued = response.headers.get("mcp-session-id")
        if issued is not None and response.status_code < 300:
            self.bindings.bind(("mcp", spec.name, issued), owner)
        if method == "DELETE" and session_key is not None and response.status_code < 300:
            self.bindings.forget(session_key)
        try:
            out_headers = [
                (k.encode("latin-1"), v.encode("latin-1"))
                for k, v in response.headers.items()
                if k.lower() in _FORWARD_RESPONSE
            ]
            is_sse = response.headers.get("content-type", "").startswith("text/event-stream")
            if is_sse:
                out_headers.append((b"x-accel-buffering", b"no"))
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": out_headers,
                }
            )
            rewrite = spec.transport is Transport.SSE and endpoint == "sse" and is_sse

            async def pump() -> None:
                nonlocal rewrite
                pending = b""
                async for chunk in response.aiter_raw():
                    if rewrite:
                        pending += chunk
                        done, chunk, pending = self._rewrite_endpoint(spec, pending, prefix, owner)
                        if not done:
                            continue
                        rewrite = False
                    if chunk:
                        if call is not None:
                            call.feed(chunk)
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                if pending:
                    await send({"type": "http.response.body", "body": pending, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                if call is not None:
                    call.finish(response.status_code, is_sse)

            if not is_sse:
                await pump()
                return
            # A long-lived stream: stop reading upstream as soon as the client leaves.
            pumping = asyncio.ensure_future(pump())
            left = asyncio.ensure_future(wait_disconnect(receive))
            try:
                await asyncio.wait((pumping, left), return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (pumping, left):
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task
                if pumping.done() and not pumping.cancelled() and pumping.exception():
                    raise pumping.exception()  # type: ignore[misc]
        except (httpx.HTTPError, OSError) as exc:
            log.info("pass-through stream of %s ended: %s", spec.name, exc)
        finally:
            await response.aclose()

    def _rewrite_endpoint(
        self, spec: ServerSpec, buf: bytes, prefix: str, owner: Owner | None = None
    ) -> tuple[bool, bytes, bytes]:
        """Find the ``endpoint`` event in the first bytes of an SSE stream and point it at
        the gateway. Returns (found, bytes to send, bytes still held back)."""
        text = buf.replace(b"\r\n", b"\n")
        start = 0
        while True:
            end = text.find(b"\n\n", start)
            if end == -1:
                return False, b"", buf
            lines = text[start:end].split(b"\n")
            if any(line.replace(b" ", b"") == b"event:endpoint" for line in lines):
                data = b"".join(
                    line[5:].lstrip() for line in lines if line.startswith(b"data:")
                ).decode("utf-8", "replace")
                target = urlsplit(urljoin(spec.url or "", data))
                self._sse_paths[spec.name] = target.path
                mine = f"{prefix}/servers/{spec.name}/messages"
                self.bindings.bind(("sse", spec.name, target.query), owner)
                if target.query:
                    mine += f"?{target.query}"
                new_event = f"event: endpoint\ndata: {mine}\n\n".encode()
                return True, text[:start] + new_event + text[end + 2 :], b""
            start = end + 2


async def _plain(send: Send, status: int, message: str) -> None:
    await respond(send, status, jsonrpc.dumps({"error": "pass_through", "message": message}), [])
