"""Token revocation (RFC 7009): ``POST /oauth/revoke``.

A refresh token revokes its whole grant (its other refresh tokens die and its access
tokens stop validating, RFC 7009 §2.1 allows it); an access token is revoked by its
``jti`` until it would have expired.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc7009 import RevocationEndpoint
from starlette.requests import Request
from starlette.responses import Response

from switchboard.auth.adapter import read_request, run
from switchboard.auth.models import AUTH_METHODS, AccessToken, RefreshToken, query_any_token

if TYPE_CHECKING:
    from switchboard.auth.server import OAuthServer


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return query_any_token(self.server.owner, token_string)

    def revoke_token(self, token: Any, request: Any) -> None:
        owner: OAuthServer = self.server.owner
        if isinstance(token, RefreshToken):
            owner.revoke_grant_sync(token.grant.id, "revoked_by_client")
        elif isinstance(token, AccessToken) and token.token.token_id:
            owner.revoke_jti_sync(
                token.token.token_id, token.token.expires_at, token.token.client_id
            )


async def revoke(owner: OAuthServer, request: Request) -> Response:
    """``POST /oauth/revoke`` through authlib (client authentication, RFC 7009 §2.1)."""
    incoming = await read_request(request)
    if isinstance(incoming, Response):
        return incoming
    return await run(owner.server.create_endpoint_response, "revocation", incoming)
