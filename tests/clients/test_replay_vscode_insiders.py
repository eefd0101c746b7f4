"""VS Code Insiders (GitHub Copilot's MCP support, Insiders build).

Insiders runs the same MCP client code as VS Code (microsoft/vscode); what differs is
its product.json: ``nameLong`` "Visual Studio Code - Insiders" and ``urlProtocol``
"vscode-insiders".

Sources, microsoft/vscode:

- ``src/vs/workbench/api/common/extHostAuthentication.ts`` (DynamicAuthProvider):
  registration is ``fetchDynamicRegistration(serverMetadata,
  this._initData.environment.appName, resourceMetadata?.scopes_supported)``, so
  client_name is the product's long name. Its own flow, ``_createWithUrlHandler``,
  authorizes with redirect_uri ``https://vscode.dev/redirect`` and a ``state`` that is
  the app URI ``${appUriScheme}://dynamicauthprovider/<authority>/authorize?nonce=...``
  (``vscode-insiders://`` here), which vscode.dev forwards to the app.
- ``src/vs/workbench/api/node/extHostAuthentication.ts`` (NodeDynamicAuthProvider): a
  desktop (non-remote) window puts the "Loopback Server" flow first
  (``this._createFlows.unshift``; earlier releases appended it after the URL-handler
  flow, offered when that one did not finish): a listener on ``127.0.0.1:33418``
  (DEFAULT_AUTH_FLOW_PORT, any free port if taken) and redirect_uri
  ``http://127.0.0.1:PORT/``; the request carries ``scope`` (the resource metadata's
  scopes joined, when not empty), PKCE S256, a random ``state`` and ``resource`` from
  the protected resource metadata; ``exchangeCodeForToken`` repeats redirect_uri and
  resource. After the code arrives the listener's page sends the browser on to the
  ``vscode-insiders://`` app URI, which concerns only the browser and the app.
- ``src/vs/base/common/oauth.ts`` ``fetchDynamicRegistration``: client_uri
  https://code.visualstudio.com, grant_types = the server's grant_types_supported
  filtered to authorization_code / refresh_token / device_code, response_types code,
  redirect_uris https://insiders.vscode.dev/redirect, https://vscode.dev/redirect,
  http://127.0.0.1/, http://127.0.0.1:33418/, scope, token_endpoint_auth_method none,
  application_type native.

Switchboard drops the two https redirects at registration (RFC 8252 §7.2 claimed URLs
would take the code off this machine), so a URL-handler attempt stops at our error page
with nothing sent to vscode.dev, and Insiders signs in on its loopback flow.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from switchboard.engine import Engine
from tests.clients.replay import Shape, authorize, pkce, reach_token, register

# oauth.ts: the grant types VS Code itself supports.
VSCODE_GRANTS = (
    "authorization_code",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:device_code",
)
LOOPBACK = "http://127.0.0.1:33418/"
URL_HANDLER_REDIRECT = "https://vscode.dev/redirect"


async def insiders(http: httpx.AsyncClient, engine: Engine, url: str) -> Shape:
    """The Insiders shape, built from what our metadata tells it (as VS Code does)."""
    parts = urlsplit(url)
    prm = await http.get(
        f"{parts.scheme}://{parts.netloc}/.well-known/oauth-protected-resource{parts.path}"
    )
    assert prm.status_code == 200, prm.text
    resource_meta: dict[str, Any] = prm.json()
    assert resource_meta["resource"] == url
    meta = await http.get(f"{engine.base_url}/.well-known/oauth-authorization-server")
    assert meta.status_code == 200, meta.text
    server_meta: dict[str, Any] = meta.json()
    scope = " ".join(resource_meta["scopes_supported"])
    return Shape(
        registration={
            "client_name": "Visual Studio Code - Insiders",
            "client_uri": "https://code.visualstudio.com",
            "grant_types": [g for g in server_meta["grant_types_supported"] if g in VSCODE_GRANTS],
            "response_types": ["code"],
            "redirect_uris": [
                "https://insiders.vscode.dev/redirect",
                URL_HANDLER_REDIRECT,
                "http://127.0.0.1/",
                LOOPBACK,
            ],
            "scope": scope,
            "token_endpoint_auth_method": "none",
            "application_type": "native",
        },
        redirect_uri=LOOPBACK,
        scope=scope,
    )


async def test_vscode_insiders_registers_and_reaches_a_token(
    engine: Engine, http: httpx.AsyncClient, url: str
) -> None:
    shape = await insiders(http, engine, url)
    client = await reach_token(http, engine, shape, url)
    assert client["client_name"] == "Visual Studio Code - Insiders"
    assert client["redirect_uris"] == ["http://127.0.0.1/", LOOPBACK]
    assert {r["redirect_uri"] for r in client["refused_redirect_uris"]} == {
        "https://insiders.vscode.dev/redirect",
        URL_HANDLER_REDIRECT,
    }


async def test_vscode_insiders_url_handler_flow_stops_here(
    engine: Engine, http: httpx.AsyncClient, url: str
) -> None:
    """The URL-handler flow's request (vscode.dev redirect, ``vscode-insiders://``
    state) is answered on our own page: no redirect, so neither vscode.dev nor the app
    URI in ``state`` receives anything, and no consent request is left waiting."""
    shape = await insiders(http, engine, url)
    client = await register(http, engine, shape)
    _, challenge = pkce()
    params: dict[str, str] = {
        "client_id": client["client_id"],
        "response_type": "code",
        "state": "vscode-insiders://dynamicauthprovider/127.0.0.1/authorize?nonce=0a1b2c",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "scope": shape.scope or "",
        "resource": url,
        "redirect_uri": URL_HANDLER_REDIRECT,
    }
    r = await http.get(f"{engine.base_url}/oauth/authorize", params=params)
    assert r.status_code == 400, r.text
    assert "location" not in r.headers
    # The page says why (the code would leave this computer) and links nowhere.
    assert "was not registered" in r.text and "off this computer" in r.text
    assert 'href="https://vscode.dev' not in r.text and "vscode-insiders://" not in r.text
    assert engine.auth.broker.pending() == []
    # The loopback flow still works with the same client.
    loopback = await authorize(http, engine, shape, client, url, challenge)
    assert loopback.status_code == 200, loopback.text
