"""Control-API routes of the Inspector (``switchboard tools`` / ``switchboard call``).

``GET  /api/v1/servers/{name}/listing``  -> tools, prompts, resources, templates
``POST /api/v1/servers/{name}/call``     ``{"tool", "arguments"}`` -> ``{"result"}``
``POST /api/v1/servers/{name}/prompt``   ``{"prompt", "arguments"}`` -> ``{"result"}``
``POST /api/v1/servers/{name}/read``     ``{"uri"}`` -> ``{"result"}``
``GET  /api/v1/groups/{name}/tools``     -> the tools the group exposes (with schemas)
``POST /api/v1/groups/{name}/call``      ``{"tool": exposed name, "arguments"}``

The engine's :class:`~switchboard.inspector.service.Inspector` does the work through
the gateway; errors are the control API's JSON errors (a down server: 409 with the
state and what to do; a server's JSON-RPC error: 502 with its message).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from switchboard.control.body import read_json
from switchboard.core.errors import ServerNotRunning, ValidationError
from switchboard.inspector.service import InspectorError

if TYPE_CHECKING:
    from switchboard.engine import Engine

Handler = Callable[[Request], Awaitable[Response]]
DISCONNECT_POLL = 0.5
"""Seconds between checks that the caller of a running call is still there."""


def _error(status: int, exc: ServerNotRunning | InspectorError) -> JSONResponse:
    return JSONResponse(
        {"error": type(exc).__name__, "message": exc.message, "hint": exc.hint},
        status_code=status,
    )


def _body_object(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key, {}) if isinstance(data, dict) else None
    if not isinstance(value, dict):
        raise ValidationError(
            f"'{key}' must be a JSON object.", hint=f'Send {{"{key}": {{...}}}} in the body.'
        )
    return value


def _body_name(data: Any, key: str) -> str:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, str) or not value:
        raise ValidationError(f"'{key}' is missing.", hint=f'Send {{"{key}": "..."}}.')
    return value


async def _unless_gone(request: Request, work: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """Await ``work``; cancel it (the server is told, MCP 2025-11-25
    ``basic/utilities/cancellation``) if the CLI leaves first (Ctrl-C)."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=DISCONNECT_POLL)
            if done:
                return task.result()
            if await request.is_disconnected():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                raise InspectorError("The caller left; the call was cancelled.")
    finally:
        if not task.done():
            task.cancel()


def inspect_routes(engine: Engine, guarded: Callable[[Handler], Handler]) -> list[BaseRoute]:
    def handled(handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except ServerNotRunning as exc:
                return _error(409, exc)
            except InspectorError as exc:
                return _error(502, exc)

        return guarded(run)

    async def listing(request: Request) -> Response:
        name = request.path_params["name"]
        engine.config.server(name)  # ServerNotFound -> 404
        return JSONResponse(await engine.inspector.listing(name))

    async def call(request: Request) -> Response:
        name = request.path_params["name"]
        engine.config.server(name)
        data = await read_json(request)
        tool = _body_name(data, "tool")
        work = engine.inspector.call_tool(name, tool, _body_object(data, "arguments"))
        return JSONResponse({"result": await _unless_gone(request, work)})

    async def prompt(request: Request) -> Response:
        name = request.path_params["name"]
        engine.config.server(name)
        data = await read_json(request)
        arguments = _body_object(data, "arguments")
        if not all(isinstance(v, str) for v in arguments.values()):
            raise ValidationError(
                "Prompt arguments are strings.", hint="Send each value as a JSON string."
            )
        result = await engine.inspector.get_prompt(name, _body_name(data, "prompt"), arguments)
        return JSONResponse({"result": result})

    async def read(request: Request) -> Response:
        name = request.path_params["name"]
        engine.config.server(name)
        data = await read_json(request)
        result = await engine.inspector.read_resource(name, _body_name(data, "uri"))
        return JSONResponse({"result": result})

    async def group_tools(request: Request) -> Response:
        name = request.path_params["name"]
        engine.group(name)  # GroupNotFound -> 404
        return JSONResponse(await engine.inspector.group_tools(name))

    async def group_call(request: Request) -> Response:
        name = request.path_params["name"]
        engine.group(name)
        data = await read_json(request)
        tool = _body_name(data, "tool")
        work = engine.inspector.call_group_tool(name, tool, _body_object(data, "arguments"))
        return JSONResponse({"result": await _unless_gone(request, work)})

    return [
        Route("/groups/{name}/tools", handled(group_tools), methods=["GET"]),
        Route("/groups/{name}/call", handled(group_call), methods=["POST"]),
        Route("/servers/{name}/listing", handled(listing), methods=["GET"]),
        Route("/servers/{name}/call", handled(call), methods=["POST"]),
        Route("/servers/{name}/prompt", handled(prompt), methods=["POST"]),
        Route("/servers/{name}/read", handled(read), methods=["POST"]),
    ]


__all__ = ["inspect_routes"]
