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
configured; the token request carries no resource. Without ``oauth_resource`` the
person picks the servers Codex may use.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib

import httpx

from switchboard.engine import Engine
from tests.clients.replay import (
    Shape,
    call_echo,
    reach_token,
    reach_token_picking,
    refused_for_resource,
    status_with,
)


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


async def test_codex_without_oauth_resource_gets_the_servers_the_person_picks(
    engine: Engine, http: httpx.AsyncClient, url: str, other_url: str
) -> None:
    shape = codex(url)
    token = await reach_token_picking(
        http, engine, shape, url, pick=["echo", "notes"], choices={"echo", "notes"}
    )
    # One grant for the approval, covering both picks (revoking it ends both).
    [grant] = engine.auth.store.list_grants()
    assert grant.servers == ("echo", "notes") and grant.resources == (url, other_url)
    # RFC 8707 §2.2: a refresh naming one granted server gets a token for that one only.
    r = await http.post(
        f"{engine.base_url}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": grant.client_id,
            "resource": other_url,
        },
    )
    assert r.status_code == 200, r.text
    narrow = r.json()
    assert await call_echo(other_url, narrow["access_token"], "notes only") == "notes only"
    assert await status_with(url, narrow["access_token"]) in (401, 403)
    # The rotated refresh token still carries both; a resource not granted is refused.
    for resource, status in (("http://127.0.0.1:1/servers/echo/mcp", 400), (None, 200)):
        data = {
            "grant_type": "refresh_token",
            "refresh_token": narrow["refresh_token"],
            "client_id": grant.client_id,
        }
        if resource:
            data["resource"] = resource
        r = await http.post(f"{engine.base_url}/oauth/token", data=data)
        assert r.status_code == status, r.text
        if status == 400:
            assert r.json()["error"] == "invalid_target"
    wide = r.json()
    assert await call_echo(url, wide["access_token"], "both again") == "both again"
    assert await call_echo(other_url, wide["access_token"], "both again") == "both again"


async def test_codex_with_an_unknown_server_is_told_what_to_configure(
    engine: Engine, http: httpx.AsyncClient, url: str
) -> None:
    unknown = url.replace("/servers/echo/", "/servers/nope/")
    description = await refused_for_resource(http, engine, codex(url), url, unknown)
    assert "not an MCP server of this gateway" in description
    assert "oauth_resource" in description


async def test_codex_with_oauth_resource_reaches_a_token(
    engine: Engine, http: httpx.AsyncClient, url: str
) -> None:
    # config.toml: [mcp_servers.echo] oauth_resource = "<the MCP URL>"
    await reach_token(http, engine, dataclasses.replace(codex(url), resource="url"), url)
