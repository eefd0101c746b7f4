"""Gemini CLI.

Source: google-gemini/gemini-cli ``packages/core/src/mcp/oauth-provider.ts``:
``registerClient`` posts client_name "Gemini CLI MCP Client", redirect_uris
[``http://localhost:7777/oauth/callback``], grant_types authorization_code +
refresh_token, response_types code, token_endpoint_auth_method none and ``scope:
config.scopes?.join(' ') || ''`` (an empty string when none are configured);
``buildAuthorizationUrl`` and ``exchangeCodeForToken`` add
``resource = OAuthUtils.buildResourceParameter(mcpServerUrl)``. In
``packages/core/src/mcp/oauth-utils.ts`` that was ``${protocol}//${host}`` (origin only)
in older releases and is ``${protocol}//${host}${pathname}`` now. The origin alone names
no server: the person picks the servers.
"""

from __future__ import annotations

import dataclasses

import httpx

from switchboard.engine import Engine
from tests.clients.replay import (
    Shape,
    reach_token,
    reach_token_picking,
    refused_for_resource,
    status_with,
)

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


async def test_older_gemini_cli_origin_only_resource_gets_the_server_the_person_picks(
    engine: Engine, http: httpx.AsyncClient, url: str, other_url: str
) -> None:
    # The token request repeats the origin too (exchangeCodeForToken).
    older = dataclasses.replace(GEMINI, resource="origin")
    token = await reach_token_picking(
        http, engine, older, url, pick=["notes"], choices={"echo", "notes"}
    )
    assert await status_with(url, token["access_token"]) in (401, 403)


async def test_a_resource_of_another_origin_is_refused_naming_the_url(
    engine: Engine, http: httpx.AsyncClient, url: str
) -> None:
    elsewhere = url.replace(engine.base_url, "http://127.0.0.1:1")
    assert elsewhere != url
    description = await refused_for_resource(http, engine, GEMINI, url, elsewhere)
    assert "not an MCP server of this gateway" in description
