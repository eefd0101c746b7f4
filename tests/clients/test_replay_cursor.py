"""Cursor: registers three redirect URIs at once.

Cursor is closed source. The registration below is the one Cursor users and MCP server
authors report (issue 11.1 of this project; the same three URIs appear in public MCP
servers' allow-lists): its app scheme, a cursor.com web callback and a loopback one.
Cursor's MCP client is built on the TypeScript SDK, which sends the RFC 8707 resource.
"""

from __future__ import annotations

import dataclasses

import httpx

from switchboard.engine import Engine
from tests.clients.replay import Shape, reach_token

URIS = [
    "cursor://anysphere.cursor-mcp/oauth/callback",
    "https://www.cursor.com/agents/mcp/oauth/callback",
    "http://localhost:8787/callback",
]
CURSOR = Shape(
    registration={
        "client_name": "Cursor",
        "redirect_uris": URIS,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    },
    redirect_uri=URIS[0],
    scope="mcp",
)


async def test_cursor_registers_and_reaches_a_token(
    engine: Engine, http: httpx.AsyncClient, url: str
) -> None:
    client = await reach_token(http, engine, CURSOR, url)
    # The cursor.com callback would carry the code off this computer: dropped, said why.
    assert client["redirect_uris"] == [URIS[0], URIS[2]]
    assert [r["redirect_uri"] for r in client["refused_redirect_uris"]] == [URIS[1]]


async def test_cursor_loopback_redirect_works_too(
    engine: Engine, http: httpx.AsyncClient, url: str
) -> None:
    await reach_token(http, engine, dataclasses.replace(CURSOR, redirect_uri=URIS[2]), url)
