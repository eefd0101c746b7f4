"""Where there is no Unix socket (Windows): the engine proves who it is on each TCP
connection before anything secret is sent on it.

The client opens the connection, sends ``GET /api/proof?nonce=<fresh random>`` and
expects ``HMAC-SHA256(admin token, "switchboard-engine-proof" 0 nonce 0 base URL)``.
Only the engine (and the person, who can read the owner-only admin token file) knows the
key; a process squatting the port after the engine died cannot answer, so the client
closes the connection and sends nothing else. The proof is bound to that very connection
(the request that follows reuses it, HTTP/1.1 keep-alive), so no other process can take
the port in between; and to the engine's base URL, so a relay to an engine elsewhere
does not verify either. The nonce is the client's, so a recorded answer is worthless.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import httpcore
import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

PATH = "/api/proof"
_LABEL = b"switchboard-engine-proof"
_MAX_RESPONSE = 16 * 1024


def proof(key: str, nonce: str, base_url: str) -> str:
    msg = b"\0".join((_LABEL, nonce.encode(), base_url.encode()))
    return hmac.new(key.encode(), msg, hashlib.sha256).hexdigest()


def endpoint(
    key: Callable[[], str], base_url: Callable[[], str]
) -> Callable[[Request], Awaitable[Response]]:
    """The engine's route handler (``key``/``base_url`` are read per request)."""

    async def answer(request: Request) -> Response:
        nonce = request.query_params.get("nonce", "")
        if not 16 <= len(nonce) <= 128:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        return JSONResponse(
            {"proof": proof(key(), nonce, base_url())}, headers={"Cache-Control": "no-store"}
        )

    return answer


class _Exchange:
    """The raw HTTP/1.1 request and the check of its answer (sans I/O)."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url = base_url
        self.key = key
        self.nonce = secrets.token_urlsafe(32)
        self.buf = b""

    def request(self) -> bytes:
        host = urlsplit(self.base_url).netloc
        return (
            f"GET {PATH}?nonce={self.nonce} HTTP/1.1\r\nHost: {host}\r\n"
            "Accept: application/json\r\n\r\n"
        ).encode("ascii")

    def feed(self, data: bytes) -> bool:
        """True once the whole answer is in; raises ConnectError when it cannot verify."""
        if not self.key:
            self._fail("the admin token to check it with is unreadable")
        if not data:
            self._fail("it closed the connection")
        self.buf += data
        if len(self.buf) > _MAX_RESPONSE:
            self._fail("its answer is too long")
        head, sep, body = self.buf.partition(b"\r\n\r\n")
        if not sep:
            return False
        lines = head.decode("latin-1").split("\r\n")
        if lines[0].split(" ")[1:2] != ["200"]:
            self._fail(f"it answered {lines[0][:40]!r}")
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length" and value.strip().isdigit():
                length = int(value.strip())
        if length is None:
            self._fail("its answer has no length")
        if len(body) < length:
            return False
        try:
            got = str(json.loads(body[:length])["proof"])
        except (ValueError, KeyError, TypeError):
            self._fail("its answer is not a proof")
        if not hmac.compare_digest(got, proof(self.key, self.nonce, self.base_url)):
            self._fail("its proof is wrong")
        return True

    def _fail(self, why: str) -> NoReturn:
        raise httpcore.ConnectError(
            f"The process at {self.base_url} could not prove it is Switchboard ({why}); "
            "nothing was sent to it."
        )


class _SyncBackend(httpcore.SyncBackend):
    def __init__(self, base_url: str, key: str) -> None:
        self._base_url, self._key = base_url, key

    def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        stream = super().connect_tcp(*args, **kwargs)
        timeout = kwargs.get("timeout")
        try:
            exchange = _Exchange(self._base_url, self._key)
            stream.write(exchange.request(), timeout)
            while not exchange.feed(stream.read(65536, timeout)):
                pass
        except BaseException:
            stream.close()
            raise
        return stream


class _AsyncBackend(httpcore.AnyIOBackend):
    def __init__(self, base_url: str, key: str) -> None:
        self._base_url, self._key = base_url, key

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        stream = await super().connect_tcp(*args, **kwargs)
        timeout = kwargs.get("timeout")
        try:
            exchange = _Exchange(self._base_url, self._key)
            await stream.write(exchange.request(), timeout)
            while not exchange.feed(await stream.read(65536, timeout)):
                pass
        except BaseException:
            await stream.aclose()
            raise
        return stream


class ProvenTransport(httpx.HTTPTransport):
    """Blocking httpx transport: every new TCP connection must prove it is the engine."""

    def __init__(self, base_url: str, key: str) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(network_backend=_SyncBackend(base_url, key))


class AsyncProvenTransport(httpx.AsyncHTTPTransport):
    """The asyncio twin of :class:`ProvenTransport`."""

    def __init__(self, base_url: str, key: str) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(network_backend=_AsyncBackend(base_url, key))


def read_key(admin_token_file: Path) -> str | None:
    try:
        return admin_token_file.read_text("utf-8").strip() or None
    except OSError:
        return None
