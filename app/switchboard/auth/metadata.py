"""Discovery: RFC 8414 authorization server metadata, OIDC discovery and the JWKS.

Every URL here comes from the configured listener (``issuer``), never from the
request's Host header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from switchboard.auth.keys import ALG
from switchboard.auth.models import AUTH_METHODS, SCOPES_SUPPORTED

if TYPE_CHECKING:
    from switchboard.auth.server import OAuthServer


def server_metadata(iss: str) -> dict[str, Any]:
    """RFC 8414 §2 authorization server metadata of the issuer ``iss``."""
    return {
        "issuer": iss,
        "authorization_endpoint": f"{iss}/oauth/authorize",
        "token_endpoint": f"{iss}/oauth/token",
        "registration_endpoint": f"{iss}/oauth/register",
        "revocation_endpoint": f"{iss}/oauth/revoke",
        "introspection_endpoint": f"{iss}/oauth/introspect",
        "jwks_uri": f"{iss}/oauth/jwks.json",
        "scopes_supported": list(SCOPES_SUPPORTED),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "client_id_metadata_document_supported": True,
        "resource_indicators_supported": True,
    }


async def authorization_server_metadata(owner: OAuthServer, request: Request) -> Response:
    """``GET /.well-known/oauth-authorization-server`` (RFC 8414 §3)."""
    return JSONResponse(server_metadata(owner.issuer()))


async def openid_configuration(owner: OAuthServer, request: Request) -> Response:
    """``GET /.well-known/openid-configuration`` (OpenID Connect Discovery 1.0 §4), for
    clients that only look there: the RFC 8414 document plus the required OIDC fields."""
    data = server_metadata(owner.issuer())
    data.update(subject_types_supported=["public"], id_token_signing_alg_values_supported=[ALG])
    return JSONResponse(data)


async def jwks(owner: OAuthServer, request: Request) -> Response:
    """``GET /oauth/jwks.json`` (RFC 7517 §5): every key that still verifies. Our own
    resource server never fetches it (it reads the keys in process); counted to show it."""
    owner.jwks_requests += 1
    return JSONResponse(owner.keys.jwks(), headers={"Cache-Control": "max-age=300"})
