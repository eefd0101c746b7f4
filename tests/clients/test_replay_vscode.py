"""VS Code (GitHub Copilot's MCP support).

Source: microsoft/vscode ``src/vs/base/common/oauth.ts`` ``fetchDynamicRegistration``:
client_name is the product name, client_uri https://code.visualstudio.com, grant_types
are ours filtered to authorization_code / refresh_token / device_code, redirect URIs
https://insiders.vscode.dev/redirect, https://vscode.dev/redirect, http://127.0.0.1/ and
``http://127.0.0.1:33418/`` (DEFAULT_AUTH_FLOW_PORT), scope from the resource metadata,
token_endpoint_auth_method none, application_type native. The desktop app completes the
flow on its loopback listener and sends the MCP URL as resource (MCP 2025-06-18).
"""

from __future__ import annotations

import httpx

from switchboard.engine import Engine
from tests.clients.replay import Shape, reach_token

VSCODE = Shape(
    registration={
        "client_name": "Visual Studio Code",
        "client_uri": "https://code.visualstudio.com",
        # Our metadata's grant_types_supported, filtered by VS Code's own list.
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "redirect_uris": [
            "https://insiders.vscode.dev/redirect",
            "https://vscode.dev/redirect",
            "http://127.0.0.1/",
            "http://127.0.0.1:33418/",
        ],
        "scope": "mcp",
        "token_endpoint_auth_method": "none",
        "application_type": "native",
    },
    redirect_uri="http://127.0.0.1:33418/",
    scope="mcp",
)


async def test_vscode_registers_and_reaches_a_token(
    engine: Engine, http: httpx.AsyncClient, url: str
) -> None:
    client = await reach_token(http, engine, VSCODE, url)
    assert client["redirect_uris"] == ["http://127.0.0.1/", "http://127.0.0.1:33418/"]
    assert {r["redirect_uri"] for r in client["refused_redirect_uris"]} == {
        "https://insiders.vscode.dev/redirect",
        "https://vscode.dev/redirect",
    }
