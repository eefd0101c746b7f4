"""Claude Code.

Claude Code is closed source; this follows its documented behaviour (docs.anthropic.com
/en/docs/claude-code/mcp, "Authenticate with remote MCP servers"; ``--callback-port`` /
``oauth.callbackPort`` fix the loopback port): discovery, dynamic registration as a
public client with a loopback ``http://localhost:PORT/callback`` redirect, PKCE S256 and
the MCP URL as RFC 8707 resource (it is built on the TypeScript SDK, whose ``auth()``
sends ``resource`` and the resource metadata's scopes).
"""

from __future__ import annotations

import httpx

from switchboard.engine import Engine
from tests.clients.replay import Shape, reach_token

CLAUDE_CODE = Shape(
    registration={
        "client_name": "Claude Code (echo)",
        "redirect_uris": ["http://localhost:53419/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    },
    redirect_uri="http://localhost:53419/callback",
    scope="mcp",
)


async def test_claude_code_reaches_a_token(
    engine: Engine, http: httpx.AsyncClient, url: str
) -> None:
    client = await reach_token(http, engine, CLAUDE_CODE, url)
    assert client["redirect_uris"] == ["http://localhost:53419/callback"]
