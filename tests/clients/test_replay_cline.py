"""Cline (VS Code extension ``saoudrizwan.claude-dev``).

Source: cline/cline ``src/services/mcp/McpOAuthManager.ts``: ``clientMetadata`` sends
redirect_uris [``<host callback URL><callback path>``], i.e.
``vscode://saoudrizwan.claude-dev/mcp-auth/callback/<server hash>`` in VS Code,
token_endpoint_auth_method none, grant_types authorization_code + refresh_token,
response_types code, client_name "Cline", client_uri https://cline.bot, software_id
"cline"; it overrides the SDK's ``state`` with 32 random bytes in hex. The TypeScript
SDK sends the MCP URL as resource.
"""

from __future__ import annotations

import httpx

from switchboard.engine import Engine
from tests.clients.replay import Shape, reach_token

REDIRECT = "vscode://saoudrizwan.claude-dev/mcp-auth/callback/9c1d4e2f7a"
CLINE = Shape(
    registration={
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "client_name": "Cline",
        "client_uri": "https://cline.bot",
        "software_id": "cline",
    },
    redirect_uri=REDIRECT,
    scope="mcp",
)


async def test_cline_registers_its_vscode_redirect_and_reaches_a_token(
    engine: Engine, http: httpx.AsyncClient, url: str
) -> None:
    client = await reach_token(http, engine, CLINE, url)
    assert client["redirect_uris"] == [REDIRECT]
