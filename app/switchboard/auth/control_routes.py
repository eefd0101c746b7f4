"""The control API's auth routes (admin token, private socket): consent and grants.

What ``switchboard consent``/``switchboard grants`` and the GUI call: list and decide
pending consent requests (a "choose servers" request takes the picked servers), list and
revoke grants, forget a remembered consent, and a token for the first-party client
(``switchboard connect`` when it cannot read the keyring) for a server or a group. Errors are
``ValidationError``s the control API answers as 4xx with a hint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from switchboard.core.errors import ValidationError

if TYPE_CHECKING:
    from switchboard.auth.service import AuthService


def control_routes(service: AuthService) -> list[Route]:
    """Consent decisions, grants, remembered consents and the first-party token."""

    async def consent_list(request: Request) -> Response:
        return JSONResponse({"pending": service.pending_consents()})

    def decider(approve: bool) -> Callable[[Request], Any]:
        async def run(request: Request) -> Response:
            remember = False
            servers: list[str] = []
            body = await request.body()
            if body:
                from switchboard.control.body import read_json

                data = await read_json(request)
                remember = bool(isinstance(data, dict) and data.get("remember"))
                picked = data.get("servers") if isinstance(data, dict) else None
                if picked is not None:
                    if not isinstance(picked, list) or not all(isinstance(n, str) for n in picked):
                        raise ValidationError(
                            'Send "servers" as a list of server names (group:NAME for a group).',
                            hint="Name each server with --server NAME, a group with --group.",
                        )
                    servers = picked
            service.decide(request.path_params["id"], approve, remember, servers)
            return JSONResponse({"ok": True})

        return run

    async def grants_list(request: Request) -> Response:
        return JSONResponse(await service.list_grants())

    async def grant_revoke(request: Request) -> Response:
        await service.revoke_grant(request.path_params["id"])
        return Response(status_code=204)

    async def first_party_token(request: Request) -> Response:
        from switchboard.control.body import read_json

        data = await read_json(request)
        data = data if isinstance(data, dict) else {}
        kind = "groups" if "group" in data else "servers"
        name = data.get("group" if kind == "groups" else "server")
        if not isinstance(name, str) or ("group" in data and "server" in data):
            raise ValidationError(
                'Send {"server": NAME} or {"group": NAME}.', hint="Name a server or a group."
            )
        return JSONResponse(
            await service.first_party_token(name, kind), headers={"Cache-Control": "no-store"}
        )

    async def consent_forget(request: Request) -> Response:
        await service.forget_consent(
            request.path_params["client_id"], request.path_params["server"]
        )
        return Response(status_code=204)

    return [
        Route("/consent", consent_list, methods=["GET"]),
        Route("/consent/{id}/approve", decider(True), methods=["POST"]),
        Route("/consent/{id}/deny", decider(False), methods=["POST"]),
        Route("/auth/token", first_party_token, methods=["POST"]),
        Route("/grants", grants_list, methods=["GET"]),
        Route("/grants/{id}", grant_revoke, methods=["DELETE"]),
        Route("/consents/{client_id:path}/{server}", consent_forget, methods=["DELETE"]),
    ]
