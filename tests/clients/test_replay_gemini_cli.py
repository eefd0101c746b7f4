"""Gemini CLI.

Source: google-gemini/gemini-cli ``packages/core/src/mcp/oauth-provider.ts``:
``registerClient`` posts client_name "Gemini CLI MCP Client", redirect_uris
[``http://localhost:7777/oauth/callback``], grant_types authorization_code +
refresh_token, response_types code, token_endpoint_auth_method none and ``scope:
config.scopes?.join(' ') || ''`` (an empty string when none are configured);
``buildAuthorizationUrl`` and ``exchangeCodeForToken`` add
``resource = OAuthUtils.buildResourceParameter(mcpServerUrl)``. In
``packages/core/src/mcp/oauth-utils.ts`` that was ``${protocol}//${host}`` (origin only)
in older releases and is ``${protocol}//${host}${pathname}`` now.
"""

from __future__ import annotations

import dataclasses

import httpx

from switchboard.engine import Engine
from tests.clients.replay import Shape, reach_token, refused_for_resource

GEMINI = Shape(
    registration={
        "client_name": "Gemini CLI MCP Client",
        "redirect_uris": ["http://localhost:7777/oauth/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "scope": "",
    },
    redirect_uri="http://localhost:7777/oauth/callback",
)


async def test_gemini_cli_reaches_a_token(
    engine: Engine, http: httpx.AsyncClient, url: str
) -> None:
    await reach_token(http, engine, GEMINI, url)


async def test_older_gemini_cli_origin_only_resource_is_refused_naming_the_url(
    engine: Engine, http: httpx.AsyncClient, url: str
) -> None:
    description = await refused_for_resource(
        http, engine, dataclasses.replace(GEMINI, resource="origin"), url
    )
    assert "names this gateway, not one of its servers" in description
