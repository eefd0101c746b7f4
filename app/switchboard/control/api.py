"""The control API (``/api/v1``) the CLI uses to drive a running engine.

Every request needs ``Authorization: Bearer <admin token>`` (the owner-only file in the
config dir). Browsers cannot send that header cross-site without a CORS preflight,
which this API never grants, and the Origin/Host guard runs in front as well. Where the
platform has Unix sockets the API is served only on the engine's private socket, never
on TCP (:mod:`switchboard.control.tcpguard`), so even a leaked admin token is useless to
whoever can reach the loopback port.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from switchboard.control.body import read_json
from switchboard.control.groups import group_routes
from switchboard.control.inspect_api import inspect_routes
from switchboard.control.remote_routes import remote_routes
from switchboard.core.errors import (
    ConfigError,
    GroupChanged,
    GroupExists,
    GroupNotFound,
    ServerExists,
    ServerNotFound,
    SwitchboardError,
    ValidationError,
)
from switchboard.core.events import Event, LogLine
from switchboard.core.spec import ServerSpec

if TYPE_CHECKING:
    from switchboard.engine import Engine

Handler = Callable[[Request], Awaitable[Response]]


def error_response(exc: SwitchboardError) -> JSONResponse:
    status = 400
    if isinstance(exc, ServerNotFound | GroupNotFound):
        status = 404
    elif isinstance(exc, ServerExists | GroupExists | GroupChanged):
        status = 409
    elif isinstance(exc, ValidationError | ConfigError):
        status = 422
    return JSONResponse(
        {"error": type(exc).__name__, "message": exc.message, "hint": exc.hint}, status_code=status
    )


def admin_guard(engine: Engine) -> Callable[[Handler], Handler]:
    """Wrap a control-API handler: admin bearer token required; SwitchboardError -> JSON."""

    def guarded(handler: Handler) -> Handler:
        async def wrapper(request: Request) -> Response:
            auth = request.headers.get("authorization", "")
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                token.strip().encode(), engine.admin_token.encode()
            ):
                return JSONResponse(
                    {
                        "error": "unauthorized",
                        "message": "The control API needs the admin token.",
                        "hint": "Use the switchboard CLI as the same user that runs the app.",
                    },
                    status_code=401,
                )
            try:
                return await handler(request)
            except SwitchboardError as exc:
                return error_response(exc)

        return wrapper

    return guarded


def control_routes(engine: Engine) -> list[BaseRoute]:
    guarded = admin_guard(engine)

    def server_view(name: str) -> dict[str, Any]:
        spec = engine.config.server(name)
        return {
            "spec": spec.to_dict(),
            "status": engine.status(name).to_dict(),
            "url": engine.server_url(name),
        }

    async def info(request: Request) -> Response:
        return JSONResponse(engine.info())

    async def list_servers(request: Request) -> Response:
        return JSONResponse({"servers": [server_view(s.name) for s in engine.config.servers]})

    async def add_server(request: Request) -> Response:
        spec = ServerSpec.from_dict(await read_json(request))
        await engine.add_server(spec)
        return JSONResponse(server_view(spec.name), status_code=201)

    async def get_server(request: Request) -> Response:
        return JSONResponse(server_view(request.path_params["name"]))

    async def put_server(request: Request) -> Response:
        data = await read_json(request)
        if isinstance(data, dict):
            data["name"] = request.path_params["name"]
        await engine.update_server(ServerSpec.from_dict(data))
        return JSONResponse(server_view(request.path_params["name"]))

    async def delete_server(request: Request) -> Response:
        name = request.path_params["name"]
        edited = engine.config.groups_naming(name)
        await engine.remove_server(name)
        return JSONResponse({"groups": list(edited)})  # the groups it left

    def action(verb: str) -> Handler:
        async def run(request: Request) -> Response:
            name = request.path_params["name"]
            method = getattr(engine, f"{verb}_server")
            status = await method(name)
            return JSONResponse({"status": status.to_dict(), "warning": engine.config_warning})

        return run

    async def logs(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            n = max(0, min(int(request.query_params.get("n", "200")), 10000))
        except ValueError:
            raise ValidationError("n must be a number.", hint="Use ?n=100.") from None
        lines = engine.logs(name, n)
        if request.query_params.get("follow") != "1":
            return JSONResponse({"lines": [ln.to_dict() for ln in lines]})
        return StreamingResponse(_follow(engine, name, lines), media_type="application/x-ndjson")

    return [
        Route("/info", guarded(info), methods=["GET"]),
        Route("/servers", guarded(list_servers), methods=["GET"]),
        Route("/servers", guarded(add_server), methods=["POST"]),
        Route("/servers/{name}", guarded(get_server), methods=["GET"]),
        Route("/servers/{name}", guarded(put_server), methods=["PUT"]),
        Route("/servers/{name}", guarded(delete_server), methods=["DELETE"]),
        Route("/servers/{name}/start", guarded(action("start")), methods=["POST"]),
        Route("/servers/{name}/stop", guarded(action("stop")), methods=["POST"]),
        Route("/servers/{name}/restart", guarded(action("restart")), methods=["POST"]),
        Route("/servers/{name}/logs", guarded(logs), methods=["GET"]),
        *remote_routes(engine, guarded),
        *group_routes(engine, guarded),
        *inspect_routes(engine, guarded),
    ]


async def _follow(engine: Engine, name: str, backlog: list[LogLine]) -> AsyncIterator[bytes]:
    queue: asyncio.Queue[LogLine] = asyncio.Queue(maxsize=10000)

    def observer(event: Event) -> None:
        if isinstance(event, LogLine) and event.name == name and not queue.full():
            queue.put_nowait(event)

    unsubscribe = engine.subscribe(observer)
    try:
        for line in backlog:
            yield (json.dumps(line.to_dict()) + "\n").encode()
        while True:
            try:
                line = await asyncio.wait_for(queue.get(), 15)
            except TimeoutError:
                yield b"\n"  # keep-alive; also notices a client that went away
                continue
            yield (json.dumps(line.to_dict()) + "\n").encode()
    finally:
        unsubscribe()
