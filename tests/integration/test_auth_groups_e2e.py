"""A group behind Switchboard's sign-in, end to end (issue 14): the real ``mcp`` SDK
client's OAuthClientProvider against a real engine's ``/groups/<name>/mcp``: RFC 9728
discovery from the 401 -> DCR -> authorize with the group's URL as RFC 8707 resource ->
a consent that names the group and lists its servers -> token -> tools of every member
through the group. The token opens the group's two endpoints only: its member servers'
own URLs refuse it, and a member server's token does not open the group. The validator
resolves our keys in process: 0 JWKS fetches, 0 requests to our JWKS endpoint."""

from __future__ import annotations

import base64
import hashlib
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from switchboard.auth import connect_client
from switchboard.core.errors import ControlAPIError
from switchboard.core.group import GroupSpec
from switchboard.core.spec import AuthMode
from switchboard.engine import Engine
from tests.conftest import fixture_cmd
from tests.fixtures.gw_helpers import add_started
from tests.helpers.keyrings import RefusingKeyring
from tests.helpers.oauth_flow import (
    ConsentBrowser,
    MemoryTokenStorage,
    consent_form,
    continue_after_consent,
    sdk_provider,
)

pytestmark = pytest.mark.timeout(120)

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"},
    },
}
ACCEPT = {"accept": "application/json, text/event-stream"}
SWITCHBOARD = str(Path(sys.executable).with_name("switchboard"))


class Browser(ConsentBrowser):
    """The person approves in the app; what the page and the request said is kept."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.consents: list[Any] = []
        self.pages: list[str] = []

    async def answer(self, page: httpx.Response, request_id: str) -> None:
        [pending] = self.engine.consent.pending()
        assert pending.id == request_id
        self.consents.append(pending)
        self.pages.append(page.text)
        self.engine.consent.decide(request_id, True)


def text_of(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def sign_in(engine: Engine, url: str, name: str) -> tuple[Browser, MemoryTokenStorage]:
    """The SDK signs in to ``url`` and calls one tool; the browser and the tokens."""
    browser = Browser(engine)
    storage = MemoryTokenStorage()
    provider = sdk_provider(url, browser, storage, name)
    async with (
        httpx2.AsyncClient(auth=provider, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        tools = {t.name for t in (await client.list_tools()).tools}
        tool = "echo__echo" if "/groups/" in url else "echo"
        assert tool in tools, tools
        assert text_of(await client.call_tool(tool, {"text": f"hi {name}"})) == f"hi {name}"
        if "/groups/" in url:
            assert "notes__echo" in tools
            assert text_of(await client.call_tool("notes__echo", {"text": "n"})) == "n"
    assert storage.tokens is not None
    return browser, storage


async def refused(url: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        r = await http.post(url, json=INIT, headers={**ACCEPT, "authorization": f"Bearer {token}"})
    assert r.status_code == 401, r.text
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    assert r.json()["error_description"] == "The access token was issued for another resource."
    return r


async def test_sdk_signs_in_to_a_group_and_its_token_opens_the_group_only(
    engine: Engine,
) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    echo_url = await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)
    notes_url = await add_started(engine, "notes", cmd, args, auth=AuthMode.SWITCHBOARD)
    await engine.add_group(GroupSpec(name="work", servers=("echo", "notes")))
    url = engine.group_url("work")
    assert url == f"{engine.base_url}/groups/work/mcp"

    # Unauthenticated: the challenge points at the group's RFC 9728 metadata.
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        r = await http.post(url, json=INIT, headers=ACCEPT)
        assert r.status_code == 401
        meta = f"{engine.base_url}/.well-known/oauth-protected-resource/groups/work/mcp"
        assert r.headers["www-authenticate"] == f'Bearer resource_metadata="{meta}", scope="mcp"'
        doc = (await http.get(meta)).json()
        assert doc["resource"] == url and doc["authorization_servers"] == [engine.base_url]

    browser, storage = await sign_in(engine, url, "sdk-group")
    # One consent, naming the group and its servers (request, notice text, page).
    [consent] = browser.consents
    assert consent.server == "group:work" and consent.client_name == "sdk-group"
    assert consent.groups == {"group:work": ("echo", "notes")}
    assert consent.target == "group work (servers: echo, notes)"
    assert (
        "the group <strong>work</strong> (its servers: <strong>echo</strong>, "
        in (browser.pages[0])
    )
    assert storage.tokens is not None
    group_token = storage.tokens.access_token
    vt = await engine.auth.validator.validate(group_token, url)  # type: ignore[union-attr]
    assert vt.audience == (url,)

    # The group's legacy SSE endpoint takes the same token.
    sse_url = url.removesuffix("/mcp") + "/sse"
    headers = {"Authorization": f"Bearer {group_token}"}
    async with Client(sse_client(sse_url, headers=headers)) as client:
        result = await client.call_tool("notes__echo", {"text": "over sse"})
        assert text_of(result) == "over sse"

    # Its member servers' own endpoints refuse it, pointing at their own metadata.
    for member in (echo_url, notes_url, echo_url.removesuffix("/mcp") + "/sse"):
        r = await refused(member, group_token)
        assert "/oauth-protected-resource/servers/" in r.headers["www-authenticate"]

    # And a member server's token does not open the group.
    _, server_storage = await sign_in(engine, echo_url, "sdk-server")
    assert server_storage.tokens is not None
    r = await refused(url, server_storage.tokens.access_token)
    assert "/oauth-protected-resource/groups/work/mcp" in r.headers["www-authenticate"]

    grants = (await engine.auth.list_grants())["grants"]
    assert sorted((g["server"], g["client_name"]) for g in grants) == [
        ("echo", "sdk-server"),
        ("group:work", "sdk-group"),
    ]
    # Our keys were read in process: never a JWKS fetch, never a request to our JWKS.
    assert engine.auth.jwks_fetches == 0
    assert engine.auth.jwks_requests == 0


async def test_a_client_naming_no_resource_may_be_given_a_group(engine: Engine) -> None:
    """RFC 8707 §2: no resource -> "choose servers", where groups are offered too (with
    their servers); the person picks the group and the token is for its URL."""
    cmd, args = fixture_cmd("echo_server.py")
    await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)
    await engine.add_group(GroupSpec(name="work", servers=("echo",)))
    url = engine.group_url("work")
    redirect = "http://127.0.0.1:45123/cb"
    verifier = "c" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        r = await http.post(
            f"{engine.base_url}/oauth/register",
            json={"client_name": "codex-like", "redirect_uris": [redirect]},
        )
        client_id = r.json()["client_id"]
        page = await http.get(
            f"{engine.base_url}/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect,
                "state": "s",
                "code_challenge": challenge.rstrip(b"=").decode(),
                "code_challenge_method": "S256",
            },
        )
        assert page.status_code == 200, page.text
        [pending] = engine.consent.pending()
        assert pending.choices == ("echo", "group:work")
        assert pending.describe("group:work") == "group work (servers: echo)"
        rid, csrf = consent_form(page)
        engine.auth.decide(rid, True, servers=["group:work"])
        r = await continue_after_consent(http, engine.base_url, rid, csrf)
        assert r.status_code == 303, r.text
        code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
        r = await http.post(
            f"{engine.base_url}/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect,
                "client_id": client_id,
                "code_verifier": verifier,
            },
        )
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as authed,
        Client(streamable_http_client(url, http_client=authed)) as client,
    ):
        assert text_of(await client.call_tool("echo__echo", {"text": "picked"})) == "picked"
    await refused(engine.server_url("echo"), token)
    assert engine.auth.jwks_fetches == 0


async def test_stdio_bridge_to_a_group_brings_a_group_token(engine: Engine, tmp_path: Path) -> None:
    """What a stdio-only client (Claude Desktop) connected to a group runs:
    ``switchboard connect --group work``, a real process; on the 401 it fetches a
    first-party token for the group's URL and the group answers through it."""
    cmd, args = fixture_cmd("echo_server.py")
    await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)
    await engine.add_group(GroupSpec(name="work", servers=("echo",)))
    params = StdioServerParameters(
        command=SWITCHBOARD,
        args=["--home", str(tmp_path / "home"), "connect", "--group", "work"],
    )
    async with Client(params, mode="legacy") as client:
        result = await client.call_tool("echo__echo", {"text": "bridged"})
        assert text_of(result) == "bridged"
    grants = (await engine.auth.list_grants())["grants"]
    assert grants == []  # client credentials: no grant, no refresh token
    assert engine.auth.jwks_fetches == 0


async def test_first_party_group_token_without_keyring_uses_the_control_api(
    engine: Engine,
) -> None:
    """``connect --group`` spawned with a stripped environment (no keyring): the admin
    token asks the control API for a token for the group; it does not open a member."""
    cmd, args = fixture_cmd("echo_server.py")
    await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)
    await engine.add_group(GroupSpec(name="work", servers=("echo",)))
    await engine.add_group(GroupSpec(name="open", servers=("echo",), auth=AuthMode.OFF))
    token = await connect_client.aget_token(
        engine.paths, "work", kind="groups", secret_store=RefusingKeyring(), fresh=True
    )
    principal = await engine.auth.authenticate(
        server=engine.group("work"),
        resource=engine.group_url("work"),
        authorization=f"Bearer {token}",
    )
    assert principal.client_id == connect_client.CLIENT_ID
    await refused(engine.server_url("echo"), token)
    with pytest.raises(ControlAPIError, match="Group 'open' does not use"):
        await connect_client.aget_token(
            engine.paths, "open", kind="groups", secret_store=RefusingKeyring(), fresh=True
        )
    # With the keyring: client credentials for the group's URL at the token endpoint.
    store = engine.auth.secret_store
    direct = await connect_client.aget_token(
        engine.paths, "work", kind="groups", secret_store=store, fresh=True
    )
    vt = await engine.auth.validator.validate(direct, engine.group_url("work"))  # type: ignore[union-attr]
    assert vt.client_id == connect_client.CLIENT_ID
