"""OpenAI Codex CLI.

Source: openai/codex ``codex-rs/rmcp-client/src/perform_oauth_login.rs``: the callback
listener binds 127.0.0.1 on an ephemeral port and the redirect URI is
``http://127.0.0.1:PORT/callback/<id>`` (``<id>``: the first 9 bytes of SHA-256 of the
server URL, base64url); ``start_authorization(scopes, redirect_uri, Some("Codex"))``
registers through rmcp, and ``resource`` is appended to the authorization URL only when
``oauth_resource`` is configured. rmcp (modelcontextprotocol/rust-sdk
``crates/rmcp/src/transport/auth.rs``): the registration body is client_name,
redirect_uris, grant_types [authorization_code, refresh_token],
token_endpoint_auth_method none, response_types [code]; no scope parameter when none is
configured; the token request carries no resource.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib

import httpx

from switchboard.engine import Engine
from tests.clients.replay import Shape, reach_token, refused_for_resource


def codex(url: str) -> Shape:
    callback_id = base64.urlsafe_b64encode(hashlib.sha256(url.encode()).digest()[:9]).decode()
    redirect = f"http://127.0.0.1:41977/callback/{callback_id.rstrip('=')}"
    return Shape(
        registration={
            "client_name": "Codex",
            "redirect_uris": [redirect],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none",
            "response_types": ["code"],
        },
        redirect_uri=redirect,
        resource="none",
        token_resource=False,
    )


async def test_codex_without_oauth_resource_is_told_what_to_configure(
    engine: Engine, http: httpx.AsyncClient, url: str
) -> None:
    description = await refused_for_resource(http, engine, codex(url), url)
    assert "no resource parameter" in description and "oauth_resource" in description


async def test_codex_with_oauth_resource_reaches_a_token(
    engine: Engine, http: httpx.AsyncClient, url: str
) -> None:
    # config.toml: [mcp_servers.echo] oauth_resource = "<the MCP URL>"
    await reach_token(http, engine, dataclasses.replace(codex(url), resource="url"), url)
