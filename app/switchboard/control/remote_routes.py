"""Control API routes of remote servers (issue 18): sign-in state, sign in, sign out.

``POST /servers/{name}/signin`` runs the whole browser sign-in in the engine (the app
opens the person's browser) and answers once it is done (or failed/timed out).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from switchboard.engine import Engine

Handler = Callable[[Request], Awaitable[Response]]


def remote_routes(engine: Engine, guarded: Callable[[Handler], Handler]) -> list[Route]:
    async def status(request: Request) -> Response:
        return JSONResponse(engine.sign_in_status(request.path_params["name"]))

    async def sign_in(request: Request) -> Response:
        return JSONResponse(await engine.sign_in(request.path_params["name"]))

    async def sign_out(request: Request) -> Response:
        return JSONResponse(await engine.sign_out(request.path_params["name"]))

    return [
        Route("/servers/{name}/signin", guarded(status), methods=["GET"]),
        Route("/servers/{name}/signin", guarded(sign_in), methods=["POST"]),
        Route("/servers/{name}/signout", guarded(sign_out), methods=["POST"]),
    ]
