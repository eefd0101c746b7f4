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
        result = await engine.inspector.call_tool(name, tool, _body_object(data, "arguments"))
        return JSONResponse({"result": result})

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
        result = await engine.inspector.call_group_tool(name, tool, _body_object(data, "arguments"))
        return JSONResponse({"result": result})

    return [
        Route("/groups/{name}/tools", handled(group_tools), methods=["GET"]),
        Route("/groups/{name}/call", handled(group_call), methods=["POST"]),
        Route("/servers/{name}/listing", handled(listing), methods=["GET"]),
        Route("/servers/{name}/call", handled(call), methods=["POST"]),
        Route("/servers/{name}/prompt", handled(prompt), methods=["POST"]),
        Route("/servers/{name}/read", handled(read), methods=["POST"]),
    ]


__all__ = ["inspect_routes"]
