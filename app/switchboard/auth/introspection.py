"""Token introspection (RFC 7662): ``POST /oauth/introspect``.

A client may introspect only its own tokens (``check_permission``);
an access token's answer comes from its verified claims, a refresh token's from its grant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from starlette.requests import Request
from starlette.responses import Response

from switchboard.auth.adapter import read_request, run
from switchboard.auth.models import AUTH_METHODS, Client, RefreshToken, query_any_token
from switchboard.auth.validator import VerifiedToken

if TYPE_CHECKING:
    from switchboard.auth.server import OAuthServer


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return query_any_token(self.server.owner, token_string)

    def check_permission(self, token: Any, client: Client, request: Any) -> bool:
        return bool(token.check_client(client))

    def introspect_token(self, token: Any) -> dict[str, Any]:
        owner: OAuthServer = self.server.owner
        if isinstance(token, RefreshToken):
            return {
                "active": True,
                "token_type": "refresh_token",
                "client_id": token.record.client_id,
                "scope": token.record.scope,
                "sub": token.grant.subject,
                "aud": list(token.grant.resources)
                if len(token.grant.resources) > 1
                else token.grant.resource,
                "iss": owner.issuer(),
                "exp": int(token.record.expires_at),
                "iat": int(token.record.issued_at),
            }
        vt: VerifiedToken = token.token
        return {
            "active": True,
            "token_type": "Bearer",
            "client_id": vt.client_id,
            "scope": " ".join(sorted(vt.scopes)),
            "sub": vt.subject,
            "aud": list(vt.audience),
            "iss": vt.issuer,
            "exp": int(vt.expires_at),
            "jti": vt.token_id,
        }


async def introspect(owner: OAuthServer, request: Request) -> Response:
    """``POST /oauth/introspect`` through authlib (client authentication, RFC 7662 §2.1)."""
    incoming = await read_request(request)
    if isinstance(incoming, Response):
        return incoming
    return await run(owner.server.create_endpoint_response, "introspection", incoming)
