"""Control-API routes for groups (issue 14): ``/api/v1/groups[...]``.

``GET/POST /groups``, ``GET/PUT/DELETE /groups/{name}``, ``POST /groups/{name}/rename``
(``{"name": NEW}``), ``POST /groups/{name}/start|stop`` and ``GET /groups/{name}/listing``
(the live, merged tools of the members from ``Gateway.group_listing``). A PUT may carry
``?expect=TAG``, the :meth:`GroupSpec.tag` its change was based on: 409 when the group
changed meanwhile, so a read-change-write never loses another edit. Bodies are
:meth:`GroupSpec.to_dict` documents, validated strictly by :meth:`GroupSpec.from_dict`.
Registered by :func:`control.api.control_routes` behind the same admin guard as every
other control route.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from switchboard.control.body import read_json
from switchboard.core.errors import SwitchboardError, ValidationError
from switchboard.core.group import GroupSpec

if TYPE_CHECKING:
    from switchboard.engine import Engine

log = logging.getLogger("switchboard.control")

Handler = Callable[[Request], Awaitable[Response]]


def group_view(engine: Engine, name: str) -> dict[str, Any]:
    """A group as the CLI and front ends show it: its spec, URLs and each member's state
    (``missing`` for a member that is not a configured server)."""
    spec = engine.group(name)
    members = []
    for server in spec.servers:
        present = engine.config.has(server)
        state = engine.status(server).state.value if present else "missing"
        members.append({"server": server, "state": state, "missing": state == "missing"})
    url = engine.group_url(name)
    return {
        "spec": spec.to_dict(),
        "url": url,
        "sse_url": url.removesuffix("/mcp") + "/sse",
        "members": members,
    }


def group_routes(engine: Engine, guarded: Callable[[Handler], Handler]) -> list[BaseRoute]:
    async def list_groups(request: Request) -> Response:
        return JSONResponse({"groups": [group_view(engine, g.name) for g in engine.groups()]})

    async def add_group(request: Request) -> Response:
        spec = GroupSpec.from_dict(_table(await read_json(request)))
        await engine.add_group(spec)
        return JSONResponse(group_view(engine, spec.name), status_code=201)

    async def get_group(request: Request) -> Response:
        return JSONResponse(group_view(engine, request.path_params["name"]))

    async def put_group(request: Request) -> Response:
        name = request.path_params["name"]
        data = dict(_table(await read_json(request)))
        if data.setdefault("name", name) != name:
            raise ValidationError(
                "The group's name in the body differs from the one in the URL.",
                hint=f"Rename it with POST /api/v1/groups/{name}/rename.",
            )
        # ?expect=TAG (GroupSpec.tag of what the change was based on): 409 if stale.
        expected = request.query_params.get("expect")
        await engine.update_group(GroupSpec.from_dict(data), expected_tag=expected)
        return JSONResponse(group_view(engine, name))

    async def rename_group(request: Request) -> Response:
        new = _table(await read_json(request)).get("name")
        if not isinstance(new, str):
            raise ValidationError("Give the new name.", hint='Send {"name": "NEW"}.')
        await engine.rename_group(request.path_params["name"], new)
        return JSONResponse(group_view(engine, new))

    async def delete_group(request: Request) -> Response:
        await engine.remove_group(request.path_params["name"])
        return Response(status_code=204)

    def action(verb: str) -> Handler:
        async def run(request: Request) -> Response:
            name = request.path_params["name"]
            spec = engine.group(name)
            method = engine.start_group if verb == "start" else engine.stop_group
            statuses = await method(name)
            return JSONResponse(
                {
                    "servers": [s.to_dict() for s in statuses],
                    "missing": [m for m in spec.servers if not engine.config.has(m)],
                    "warning": engine.config_warning,
                }
            )

        return run

    async def listing(request: Request) -> Response:
        name = request.path_params["name"]
        engine.group(name)  # GroupNotFound -> 404 first
        try:
            result = await engine.gateway.group_listing(name)
        except SwitchboardError:
            raise
        except Exception:
            log.exception("listing group %s failed", name)
            return JSONResponse(
                {
                    "error": "ListingFailed",
                    "message": f"Could not list the tools of group {name!r}.",
                    "hint": "See Switchboard's log for the reason.",
                },
                status_code=502,
            )
        return JSONResponse(result)

    return [
        Route("/groups", guarded(list_groups), methods=["GET"]),
        Route("/groups", guarded(add_group), methods=["POST"]),
        Route("/groups/{name}", guarded(get_group), methods=["GET"]),
        Route("/groups/{name}", guarded(put_group), methods=["PUT"]),
        Route("/groups/{name}", guarded(delete_group), methods=["DELETE"]),
        Route("/groups/{name}/rename", guarded(rename_group), methods=["POST"]),
        Route("/groups/{name}/start", guarded(action("start")), methods=["POST"]),
        Route("/groups/{name}/stop", guarded(action("stop")), methods=["POST"]),
        Route("/groups/{name}/listing", guarded(listing), methods=["GET"]),
    ]


def _table(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationError("The request body must be a JSON object.", hint="Send {...}.")
    return data


__all__ = ["group_routes", "group_view"]
