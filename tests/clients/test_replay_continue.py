"""Continue.

Source: continuedev/continue ``core/context/mcp/MCPOauth.ts``: ``clientMetadata`` sends
redirect_uris [``http://localhost:3000/?state=<uuid>``] (the flow's state is put into
the registered redirect URI), token_endpoint_auth_method none, grant_types
authorization_code + refresh_token, response_types code, client_name "Continue Dev,
Inc", client_uri https://continue.dev. The TypeScript SDK's ``auth()`` then authorizes
and exchanges the code with ``redirect_uri = provider.redirectUrl`` =
``http://localhost:3000`` (no query), no ``state`` (the provider has no ``state()``),
the resource metadata's scope and the MCP URL as resource.
"""

from __future__ import annotations

import httpx

from switchboard.engine import Engine
from tests.clients.replay import Shape, reach_token

CONTINUE = Shape(
    registration={
        "redirect_uris": ["http://localhost:3000/?state=6f1f5a43-0a8f-4a52-9a8e-2d6a7c1e9b10"],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "client_name": "Continue Dev, Inc",
        "client_uri": "https://continue.dev",
    },
    redirect_uri="http://localhost:3000",
    scope="mcp",
    state=False,
)


async def test_continue_reaches_a_token(engine: Engine, http: httpx.AsyncClient, url: str) -> None:
    await reach_token(http, engine, CONTINUE, url)
