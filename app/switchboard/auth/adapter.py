"""The Starlette adapter: HTTP requests in, authlib's synchronous core in a thread, responses out.

authlib's server core is synchronous. The adapter reads the request body first
(:meth:`Incoming.read`, capped at :data:`MAX_BODY`: an urlencoded form, OAuth 2.1 §3.2, or
JSON for RFC 7591 registration), builds an :class:`OAuth2Request` carrying that payload,
and runs authlib in a worker thread (:func:`run`, so its SQLite calls stay off the event
loop). authlib's answer comes back as a framework-free :class:`Result` and becomes a
Starlette response in :func:`to_response`; an unexpected failure is a 500 without
exception text.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.requests import JsonRequest
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

log = logging.getLogger("switchboard.auth")

MAX_BODY = 64 * 1024


class BodyTooLarge(Exception):
    """An OAuth request body above MAX_BODY."""


@dataclasses.dataclass(slots=True)
class Incoming:
    """An HTTP request already read, so authlib can run in a thread."""

    method: str
    url: str
    headers: Mapping[str, str]
    args: dict[str, str]
    form: dict[str, str]
    datalist: dict[str, list[str]]
    json: Any = None

    @classmethod
    async def read(cls, request: Request) -> Incoming:
        """Query parameters for GET; for POST only the body counts (OAuth 2.1 §3.2),
        read with a size cap: urlencoded forms or JSON (registration)."""
        args: dict[str, str] = {}
        datalist: dict[str, list[str]] = {}
        for k, v in request.query_params.multi_items():
            args.setdefault(k, v)
            if request.method != "POST":
                datalist.setdefault(k, []).append(v)
        form: dict[str, str] = {}
        body_json: Any = None
        if request.method == "POST":
            raw = await read_capped(request)
            ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype == "application/json":
                try:
                    body_json = json.loads(raw)
                except (ValueError, RecursionError):
                    # RecursionError: a deeply nested body fits in MAX_BODY.
                    body_json = None
            elif ctype == "application/x-www-form-urlencoded":
                try:
                    pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
                except UnicodeDecodeError:
                    pairs = []
                for k, v in pairs:
                    form.setdefault(k, v)
                    datalist.setdefault(k, []).append(v)
        return cls(
            request.method, str(request.url), request.headers, args, form, datalist, body_json
        )


async def read_capped(request: Request) -> bytes:
    """The request body, or BodyTooLarge beyond MAX_BODY (declared or streamed)."""
    try:
        declared = int(request.headers.get("content-length", "0"))
    except ValueError:
        declared = MAX_BODY + 1
    if declared > MAX_BODY:
        raise BodyTooLarge
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise BodyTooLarge
    return raw


class _Payload:
    def __init__(self, incoming: Incoming) -> None:
        self._incoming = incoming
        self.data = incoming.form if incoming.method == "POST" else incoming.args
        self.datalist = incoming.datalist

    @property
    def client_id(self) -> str | None:
        return self.data.get("client_id")

    @property
    def response_type(self) -> str | None:
        rt = self.data.get("response_type")
        return " ".join(sorted(rt.split())) if rt and " " in rt else rt

    @property
    def grant_type(self) -> str | None:
        return self.data.get("grant_type")

    @property
    def redirect_uri(self) -> str | None:
        return self.data.get("redirect_uri")

    @property
    def scope(self) -> str | None:
        return self.data.get("scope")

    @property
    def state(self) -> str | None:
        return self.data.get("state")


class StarletteOAuth2Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, incoming: Incoming) -> None:
        super().__init__(incoming.method, incoming.url, headers=incoming.headers)
        self.incoming = incoming
        self.payload = _Payload(incoming)

    @property
    def args(self) -> dict[str, str]:
        return self.incoming.args

    @property
    def form(self) -> dict[str, str]:
        return self.incoming.form


class _JsonPayload:
    def __init__(self, data: Any) -> None:
        self.data = data if isinstance(data, dict) else {}


class StarletteJsonRequest(JsonRequest):  # type: ignore[misc]
    def __init__(self, incoming: Incoming) -> None:
        super().__init__(incoming.method, incoming.url, incoming.headers)
        self.payload = _JsonPayload(incoming.json)


@dataclasses.dataclass(slots=True)
class Result:
    """authlib's (status, body, headers), kept framework-free until we answer."""

    status: int
    body: Any
    headers: list[tuple[str, str]]

    @property
    def location(self) -> str | None:
        for k, v in self.headers:
            if k.lower() == "location":
                return v
        return None


async def read_request(request: Request) -> Incoming | Response:
    """The request read (:meth:`Incoming.read`), or a 413 response when too large."""
    try:
        return await Incoming.read(request)
    except BodyTooLarge:
        return JSONResponse(
            {"error": "invalid_request", "error_description": "The request body is too large."},
            status_code=413,
        )


def json_error(
    status: int, code: str, text: str, headers: Mapping[str, str] | None = None
) -> Response:
    """An RFC 6749 §5.2-shaped JSON error body, never cached."""
    return JSONResponse(
        {"error": code, "error_description": text},
        status_code=status,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def to_response(result: Result) -> Response:
    """authlib's result as a Starlette response (a redirect, JSON or raw body)."""
    headers = {k: v for k, v in result.headers if k.lower() not in ("content-type",)}
    if result.status in (301, 302, 303, 307) and result.location:
        loc = result.location
        headers.pop("Location", None)
        return RedirectResponse(loc, status_code=result.status, headers=headers)
    body = result.body
    if isinstance(body, dict | list):
        return JSONResponse(body, status_code=result.status, headers=headers)
    return Response(
        body or b"", status_code=result.status, headers=headers, media_type="application/json"
    )


async def run(fn: Callable[..., Result], *args: Any) -> Response:
    """``fn(*args)`` (an authlib call) in a worker thread, answered as a response."""
    try:
        result = await asyncio.to_thread(fn, *args)
    except Exception:
        log.exception("authorization server error")
        return JSONResponse(
            {"error": "server_error", "error_description": "Internal error; see the log."},
            status_code=500,
            headers={"Cache-Control": "no-store"},
        )
    return to_response(result)
