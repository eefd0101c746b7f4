"""End to end with the real ``mcp`` SDK client's OAuthClientProvider through the real
gateway: discovery -> DCR -> authorize (consent approved through the broker) -> token ->
tools/call -> refresh; no request ever reaches our JWKS endpoint."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from switchboard.core.spec import AuthMode
from switchboard.engine import Engine
from tests.conftest import fixture_cmd
from tests.fixtures.gw_helpers import add_started
from tests.helpers.oauth_flow import ConsentBrowser, MemoryTokenStorage, sdk_provider
from tests.unit.auth.tokens import code_flow

pytestmark = pytest.mark.timeout(90)


class Browser(ConsentBrowser):
    """The person approves (or denies) in the app through the broker, as the GUI
    dialog or ``switchboard consent approve`` does."""

    def __init__(self, engine: Engine, approve: bool = True) -> None:
        super().__init__(engine)
        self.approve = approve
        self.consents: list[Any] = []

    async def answer(self, page: httpx.Response, request_id: str) -> None:
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        pending = self.engine.consent.pending()
        assert [p.id for p in pending] == [request_id]
        self.consents.append(pending[0])
        self.engine.consent.decide(request_id, self.approve)


def text_of(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def test_sdk_oauth_flow_through_gateway(engine: Engine) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    url = await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)
    notices: list[Any] = []
    engine.subscribe(lambda e: notices.append(e) if getattr(e, "kind", "") == "consent" else None)
    browser = Browser(engine)
    storage = MemoryTokenStorage()
    provider = sdk_provider(url, browser, storage, "sdk-e2e")
    async with (
        httpx2.AsyncClient(auth=provider, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        result = await client.call_tool("echo", {"text": "hello"})
        assert "hello" in text_of(result)
    # The person was asked once, with the client's name and the server.
    assert len(browser.consents) == 1
    assert browser.consents[0].server == "echo"
    assert browser.consents[0].client_name == "sdk-e2e"
    assert len(notices) == 1
    # The token is an RFC 9068 JWT for exactly this resource.
    assert storage.tokens is not None and storage.tokens.refresh_token
    vt = await engine.auth.validator.validate(storage.tokens.access_token, url)  # type: ignore[union-attr]
    assert vt.audience == (url,) and "mcp" in vt.scopes
    # Refresh: an expired access token makes the SDK use its refresh token (rotated).
    old_refresh = storage.tokens.refresh_token
    provider.context.token_expiry_time = 1.0  # long past (0 would mean "no expiry")
    async with (
        httpx2.AsyncClient(auth=provider, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        result = await client.call_tool("echo", {"text": "again"})
        assert "again" in text_of(result)
    assert storage.tokens.refresh_token and storage.tokens.refresh_token != old_refresh
    assert len(browser.consents) == 1  # no second consent: the refresh did it
    # Never an HTTP request to our own JWKS endpoint, never a JWKS fetch by the validator.
    assert engine.auth.jwks_requests == 0
    assert engine.auth.jwks_fetches == 0
    grants = (await engine.auth.list_grants())["grants"]
    assert [(g["server"], g["client_name"]) for g in grants] == [("echo", "sdk-e2e")]


async def test_denied_consent_gives_no_token(engine: Engine) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    url = await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)
    browser = Browser(engine, approve=False)
    provider = sdk_provider(url, browser, MemoryTokenStorage(), "denied")
    with pytest.raises(BaseException):  # noqa: B017 - the SDK wraps it in an ExceptionGroup
        async with (
            httpx2.AsyncClient(auth=provider, timeout=30) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            await client.call_tool("echo", {"text": "x"})
    assert browser.location is not None
    query = parse_qs(urlsplit(browser.location).query)
    assert query["error"] == ["access_denied"]
    assert query["iss"] == [engine.base_url]
    assert (await engine.auth.list_grants())["grants"] == []


async def test_unauthenticated_request_gets_rfc9728_challenge(engine: Engine) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    url = await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)
    async with httpx.AsyncClient(trust_env=False) as http:
        r = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert r.status_code == 401
        meta = f"{engine.base_url}/.well-known/oauth-protected-resource/servers/echo/mcp"
        assert r.headers["www-authenticate"] == f'Bearer resource_metadata="{meta}", scope="mcp"'
        prm = (await http.get(meta)).json()
        assert prm["resource"] == url
        assert prm["authorization_servers"] == [engine.base_url]
        asm = (await http.get(f"{engine.base_url}/.well-known/oauth-authorization-server")).json()
        assert asm["issuer"] == engine.base_url
        assert asm["code_challenge_methods_supported"] == ["S256"]
        oidc = (await http.get(f"{engine.base_url}/.well-known/openid-configuration")).json()
        assert oidc["issuer"] == engine.base_url
    await asyncio.sleep(0)


async def test_sdk_oauth_over_legacy_sse(engine: Engine) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)
    url = f"{engine.base_url}/servers/echo/sse"
    browser = Browser(engine)
    storage = MemoryTokenStorage()
    provider = sdk_provider(url, browser, storage, "sse-client")
    async with Client(sse_client(url, auth=provider), mode="legacy") as client:
        result = await client.call_tool("echo", {"text": "over sse"})
        assert "over sse" in text_of(result)
    assert storage.tokens is not None
    assert browser.consents[0].resource == url
    # A token for the server's /mcp URL opens its /sse endpoint too (same server; another
    # server's audience is refused: see the attack matrix).
    async with httpx.AsyncClient(trust_env=False) as http:
        _, tok = await code_flow(engine, http, engine.server_url("echo"))
        headers = {"authorization": f"Bearer {tok['access_token']}", "accept": "text/event-stream"}
        async with http.stream("GET", url, headers=headers) as r:
            assert r.status_code == 200
            async for line in r.aiter_lines():
                if line.startswith("event: endpoint"):
                    break
        r = await http.get(url, headers={"accept": "text/event-stream"})
        assert r.status_code == 401
        meta = r.headers["www-authenticate"].split('resource_metadata="')[1].split('"')[0]
        assert meta.endswith("/.well-known/oauth-protected-resource/servers/echo/sse")
        assert (await http.get(meta)).json()["resource"] == url


async def test_sdk_oauth_with_mcp_server_time(engine: Engine) -> None:
    """The same flow against a real PyPI server (mcp-server-time) behind the gateway."""
    time_server = str(Path(sys.executable).with_name("mcp-server-time"))
    url = await add_started(
        engine, "time", time_server, ("--local-timezone", "UTC"), auth=AuthMode.SWITCHBOARD
    )
    browser = Browser(engine)
    provider = sdk_provider(url, browser, MemoryTokenStorage(), "time-client")
    async with (
        httpx2.AsyncClient(auth=provider, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        result = await client.call_tool("get_current_time", {"timezone": "Europe/Paris"})
        assert "Europe/Paris" in text_of(result)
    assert [c.server for c in browser.consents] == ["time"]
    assert engine.auth.jwks_requests == 0
