"""OpenCode.

Source: sst/opencode ``packages/opencode/src/mcp/oauth-provider.ts`` (read in the
indexed copy Hona/opencode, same path): redirect ``http://127.0.0.1:19876/mcp/oauth/
callback``, client_name "OpenCode", client_uri https://opencode.ai, grant_types
authorization_code + refresh_token, response_types code, token_endpoint_auth_method
none (client_secret_post only with a configured secret). The TypeScript SDK's
``auth()`` sends the MCP URL as resource and the resource metadata's scope.
"""

from __future__ import annotations

import httpx

from switchboard.engine import Engine
from tests.clients.replay import Shape, reach_token

REDIRECT = "http://127.0.0.1:19876/mcp/oauth/callback"
OPENCODE = Shape(
    registration={
        "redirect_uris": [REDIRECT],
        "client_name": "OpenCode",
        "client_uri": "https://opencode.ai",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    },
    redirect_uri=REDIRECT,
    scope="mcp",
)


async def test_opencode_reaches_a_token(engine: Engine, http: httpx.AsyncClient, url: str) -> None:
    await reach_token(http, engine, OPENCODE, url)
