"""Replays a real MCP client's OAuth requests byte for byte where it matters: the RFC 7591
registration body, the authorization request (redirect URI, scope, RFC 8707 resource or
none), the person's approval through the engine's ConsentBroker (as the consent page
does), the token request with the PKCE verifier, and one MCP request with the token.

Each ``test_replay_<client>.py`` gives the shapes it replays and cites where they come
from. A client that sends no ``resource`` or an origin-only one gets a "choose servers"
consent: the person picks the servers (:func:`reach_token_picking`), and the token is for
those only. A resource that is not ours gets the documented refusal (``invalid_target``
naming the MCP URL to configure, :func:`refused_for_resource`)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from switchboard.auth.consent import ChoiceRequired
from switchboard.engine import Engine
from tests.helpers.oauth_flow import approve_on_page, consent_form, continue_after_consent

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "replay", "version": "1"},
    },
}


@dataclasses.dataclass(frozen=True)
class Shape:
    """What one client sends. ``resource``: "url" (the MCP URL), "origin" (scheme, host
    and port only) or "none"; ``token_resource``: whether the token request repeats it."""

    registration: dict[str, Any]
    redirect_uri: str
    scope: str | None = None
    resource: str = "url"
    token_resource: bool = True
    state: bool = True


def pkce() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def resource_value(shape: Shape, url: str) -> str | None:
    if shape.resource == "url":
        return url
    if shape.resource == "origin":
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"
    return None


async def register(http: httpx.AsyncClient, engine: Engine, shape: Shape) -> dict[str, Any]:
    r = await http.post(f"{engine.base_url}/oauth/register", json=shape.registration)
    assert r.status_code == 201, r.text
    client: dict[str, Any] = r.json()
    assert client["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in client
    return client


async def authorize(
    http: httpx.AsyncClient,
    engine: Engine,
    shape: Shape,
    client: dict[str, Any],
    url: str,
    challenge: str,
) -> httpx.Response:
    params = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": shape.redirect_uri,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if shape.state:
        params["state"] = "replay-state"
    if shape.scope is not None:
        params["scope"] = shape.scope
    resource = resource_value(shape, url)
    if resource is not None:
        params["resource"] = resource
    return await http.get(f"{engine.base_url}/oauth/authorize", params=params)


async def exchange_code(
    http: httpx.AsyncClient,
    engine: Engine,
    shape: Shape,
    url: str,
    client: dict[str, Any],
    verifier: str,
    location: str,
) -> dict[str, Any]:
    """The redirect back to the client (its URI, ``iss``, ``state``) -> the code exchanged
    with the PKCE verifier as the client sends it -> the token response."""
    assert location.startswith(shape.redirect_uri.split("?")[0]), location
    query = parse_qs(urlsplit(location).query)
    assert query["iss"] == [engine.base_url]
    if shape.state:
        assert query["state"] == ["replay-state"]
    form = {
        "grant_type": "authorization_code",
        "code": query["code"][0],
        "redirect_uri": shape.redirect_uri,
        "client_id": client["client_id"],
        "code_verifier": verifier,
    }
    resource = resource_value(shape, url)
    if shape.token_resource and resource is not None:
        form["resource"] = resource
    r = await http.post(f"{engine.base_url}/oauth/token", data=form)
    assert r.status_code == 200, r.text
    token: dict[str, Any] = r.json()
    assert token["token_type"] == "Bearer" and token["refresh_token"]
    return token


async def reach_token(
    http: httpx.AsyncClient,
    engine: Engine,
    shape: Shape,
    url: str,
    client: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Registration (unless ``client`` is given: a Client ID Metadata Document URL) ->
    authorization -> approval -> token -> one MCP request. Returns the registration."""
    if client is None:
        client = await register(http, engine, shape)
    verifier, challenge = pkce()
    page = await authorize(http, engine, shape, client, url, challenge)
    assert page.status_code == 200, page.text
    rid, _ = consent_form(page)
    request = engine.auth.broker.get(rid)
    assert request is not None
    # The dialog can show the exact target the code goes to.
    assert request.redirect_uri == shape.redirect_uri
    location = await approve_on_page(http, engine, page)
    token = await exchange_code(http, engine, shape, url, client, verifier, location)
    mcp = await http.post(
        url,
        json=INIT,
        headers={
            "authorization": f"Bearer {token['access_token']}",
            "accept": "application/json, text/event-stream",
        },
    )
    assert mcp.status_code == 200, mcp.text
    return client


async def call_echo(url: str, access_token: str, text: str) -> str:
    """tools/call "echo" through the gateway with the real ``mcp`` SDK client and a
    fixed bearer token; returns the tool's text."""
    headers = {"authorization": f"Bearer {access_token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30, trust_env=False) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        result = await client.call_tool("echo", {"text": text})
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def reach_token_picking(
    http: httpx.AsyncClient,
    engine: Engine,
    shape: Shape,
    url: str,
    pick: list[str],
    choices: set[str],
) -> dict[str, Any]:
    """A client that names no server (``shape.resource`` "none" or "origin"):
    registration -> authorization -> a "choose servers" consent offering ``choices`` ->
    approval without a pick is refused -> the person picks ``pick`` -> token -> a tool
    call on each picked server. Returns the token response."""
    assert shape.resource in ("none", "origin")
    client = await register(http, engine, shape)
    verifier, challenge = pkce()
    page = await authorize(http, engine, shape, client, url, challenge)
    assert page.status_code == 200, page.text
    assert "--server NAME" in page.text
    rid, csrf = consent_form(page)
    request = engine.consent.get(rid)
    assert request is not None and request.choose
    assert request.server == "" and set(request.choices) == choices
    assert request.redirect_uri == shape.redirect_uri
    with pytest.raises(ChoiceRequired, match="--server NAME"):
        engine.consent.decide(rid, True)
    assert engine.consent.get(rid) is not None  # still pending
    assert engine.consent.decide(rid, True, servers=pick)
    resp = await continue_after_consent(http, engine.base_url, rid, csrf)
    assert resp.status_code == 303, resp.text
    location = str(resp.headers["location"])
    token = await exchange_code(http, engine, shape, url, client, verifier, location)
    for name in pick:
        said = await call_echo(engine.server_url(name), token["access_token"], f"hi {name}")
        assert said == f"hi {name}"
    return token


async def status_with(url: str, access_token: str) -> int:
    """The gateway's HTTP status for an initialize with ``access_token``."""
    async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
        r = await http.post(
            url,
            json=INIT,
            headers={
                "authorization": f"Bearer {access_token}",
                "accept": "application/json, text/event-stream",
            },
        )
    return r.status_code


async def refused_for_resource(
    http: httpx.AsyncClient, engine: Engine, shape: Shape, url: str, resource: str
) -> str:
    """The documented refusal of a resource that is not one of our servers: back to the
    client's redirect URI with ``invalid_target`` and a description naming the URL to
    configure. Returns that description."""
    client = await register(http, engine, shape)
    _, challenge = pkce()
    r = await authorize(
        http, engine, dataclasses.replace(shape, resource="url"), client, resource, challenge
    )
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    assert location.startswith(shape.redirect_uri.split("?")[0]), location
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == ["invalid_target"]
    assert "code" not in query
    description = query["error_description"][0]
    assert url in description, description
    assert engine.auth.broker.pending() == []
    return description
