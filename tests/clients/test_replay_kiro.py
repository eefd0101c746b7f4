"""Kiro: why it gets the stdio bridge.

Kiro is closed source. Its docs (https://kiro.dev/docs/mcp/configuration, remote server
properties) say a remote server signs in with OAuth, registering dynamically unless
``oauth.clientId`` is set, on a local callback listener whose host and port
``oauth.redirectUri`` may fix ("Kiro constructs the full redirect URI"; a random port
otherwise). They say nothing about the RFC 8707 ``resource``, and Kiro has no setting
like Codex's ``oauth_resource`` to add one.

The only public source of Kiro's MCP sign-in is the Kiro CLI's open-source predecessor,
aws/amazon-q-developer-cli (1.19.7) ``crates/chat-cli/src/mcp_client/oauth_util.rs``,
which reads the same ``~/.kiro/settings/mcp.json`` shape: ``start_authorization``
registers through rmcp as client "Q DEV CLI" with the redirect
``http://127.0.0.1:PORT`` (``format!("http://{}", actual_addr)``, no path) and
``oauthScopes`` defaulting to ``openid email profile offline_access``
(``get_default_scopes``). Its rmcp (0.8.2 in Cargo.lock;
modelcontextprotocol/rust-sdk ``crates/rmcp/src/transport/auth.rs`` at rmcp-v0.8.2)
registers client_name, redirect_uris, grant_types [authorization_code, refresh_token],
token_endpoint_auth_method none, response_types [code], and builds the authorization
URL and token request without ``resource`` (rmcp added it in 0.16).

With its default OIDC scopes that request is refused (``invalid_scope``: they name none
of ours). Only with ``oauthScopes: ["mcp"]`` set by hand does it get through, to a
"choose servers" consent (it names no server). Out of the box Kiro cannot be shown to
sign in with the URL form, so ``app/switchboard/clients/known_clients.py`` writes it the stdio
form.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs, urlsplit

import httpx

from switchboard.clients.known_clients import BY_ID
from switchboard.engine import Engine
from tests.clients.replay import Shape, authorize, pkce, reach_token_picking, register

REDIRECT = "http://127.0.0.1:44817"
KIRO_CLI = Shape(
    registration={
        "client_name": "Q DEV CLI",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
        "response_types": ["code"],
    },
    redirect_uri=REDIRECT,
    scope="openid email profile offline_access",
    resource="none",
    token_resource=False,
)


async def test_kiro_cli_default_scopes_are_refused(
    engine: Engine, http: httpx.AsyncClient, url: str
) -> None:
    client = await register(http, engine, KIRO_CLI)
    assert client["redirect_uris"] == [REDIRECT]
    _, challenge = pkce()
    r = await authorize(http, engine, KIRO_CLI, client, url, challenge)
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    assert location.startswith(REDIRECT + "?"), location
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == ["invalid_scope"]
    assert "code" not in query
    assert engine.auth.broker.pending() == []


async def test_kiro_cli_with_our_scope_gets_the_servers_the_person_picks(
    engine: Engine, http: httpx.AsyncClient, url: str
) -> None:
    """``"oauthScopes": ["mcp"]`` in its config: it names no server, so the person picks."""
    token = await reach_token_picking(
        http,
        engine,
        dataclasses.replace(KIRO_CLI, scope="mcp"),
        url,
        pick=["echo"],
        choices={"echo"},
    )
    assert token["scope"] == "mcp"


def test_kiro_is_written_the_stdio_bridge() -> None:
    kind = BY_ID["kiro"]
    assert kind.form == "stdio"
    assert "test_replay_kiro" in kind.form_reason
