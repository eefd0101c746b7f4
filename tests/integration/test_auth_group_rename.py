"""A group's grants follow it (auth/regroup.py), end to end: the real ``mcp`` SDK client
signs in to ``/groups/a/mcp`` of a real engine; the group is renamed ``b``; the same
client (its config now names ``/groups/b/mcp``, as client sync writes it) refreshes its
expired access token with the grant and calls the group's tools at the new URL, with
no new consent. Its old access token does not open the new URL (its ``aud`` is the old
one). Deleting a group revokes its grant: it leaves ``list_grants`` and its refresh
token is refused."""

from __future__ import annotations

import time
from typing import Any

import httpx
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client

from switchboard.core.group import GroupSpec
from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode
from switchboard.engine import Engine
from tests.conftest import fixture_cmd, make_test_engine
from tests.fixtures.gw_helpers import add_started
from tests.helpers.oauth_flow import ConsentBrowser, MemoryTokenStorage, sdk_provider

pytestmark = pytest.mark.timeout(120)


class Browser(ConsentBrowser):
    """The person approves in the app; every consent asked is kept."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.consents: list[Any] = []

    async def answer(self, page: httpx.Response, request_id: str) -> None:
        [pending] = self.engine.consent.pending()
        self.consents.append(pending)
        self.engine.consent.decide(request_id, True)


class Audit:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def emit(self, event: str, **fields: Any) -> None:
        self.events.append({"event": event, **fields})


@pytest.fixture
async def audited(paths: AppPaths, fake_secrets: Any) -> Any:
    audit = Audit()
    eng = make_test_engine(paths, fake_secrets, audit=audit)
    await eng.start()
    try:
        yield eng, audit
    finally:
        await eng.aclose()


async def echo_through(provider: OAuthClientProvider, url: str, text: str) -> str:
    async with (
        httpx2.AsyncClient(auth=provider, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        result = await client.call_tool("echo__echo", {"text": text})
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def setup_group(engine: Engine) -> str:
    cmd, args = fixture_cmd("echo_server.py")
    await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)
    await engine.add_group(GroupSpec(name="a", servers=("echo",)))
    return engine.group_url("a")


async def test_a_renamed_groups_client_refreshes_and_carries_on_without_consent(
    audited: Any,
) -> None:
    engine, audit = audited
    old_url = await setup_group(engine)
    browser = Browser(engine)
    storage = MemoryTokenStorage()
    provider = sdk_provider(old_url, browser, storage, "sdk-rename")
    assert await echo_through(provider, old_url, "before") == "before"
    assert len(browser.consents) == 1
    assert storage.tokens is not None
    old_token = storage.tokens.access_token
    [grant] = (await engine.auth.list_grants())["grants"]
    assert grant["server"] == "group:a"

    await engine.rename_group("a", "b")
    new_url = engine.group_url("b")
    assert new_url == old_url.replace("/groups/a/", "/groups/b/")

    # The grant (same id) now names group b and its URL.
    [moved] = (await engine.auth.list_grants())["grants"]
    assert moved["id"] == grant["id"]
    assert (moved["server"], moved["resource"]) == ("group:b", new_url)
    rekeyed = [e for e in audit.events if e["event"] == "grant_rekeyed"]
    assert [(e["grant"], e["previous"], e["target"]) for e in rekeyed] == [
        (grant["id"], "group:a", "group:b")
    ]

    # The old token opens neither URL: the old one is gone, the new one is not its aud.
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        headers = {
            "authorization": f"Bearer {old_token}",
            "accept": "application/json, text/event-stream",
        }
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
        assert (await http.post(old_url, json=init, headers=headers)).status_code == 404
        r = await http.post(new_url, json=init, headers=headers)
        assert r.status_code == 401, r.text

    # The same client, its config now naming the new URL; its access token has expired
    # (the SDK refreshes only then; on a 401 it would start a new authorization).
    provider.context.server_url = new_url
    provider.context.token_expiry_time = time.time() - 1
    assert await echo_through(provider, new_url, "after") == "after"
    assert len(browser.consents) == 1  # no new consent
    assert storage.tokens.access_token != old_token
    vt = await engine.auth.validator.validate(storage.tokens.access_token, new_url)
    assert vt.audience == (new_url,)
    [still] = (await engine.auth.list_grants())["grants"]
    assert still["id"] == grant["id"]


async def test_refresh_without_resource_after_a_rename_gets_the_new_url(engine: Engine) -> None:
    """RFC 8707 §2.2: a refresh that names no resource gets every granted URL: the new."""
    old_url = await setup_group(engine)
    browser = Browser(engine)
    storage = MemoryTokenStorage()
    provider = sdk_provider(old_url, browser, storage, "sdk-noresource")
    assert await echo_through(provider, old_url, "x") == "x"
    assert storage.tokens is not None and storage.client is not None
    await engine.rename_group("a", "b")
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        r = await http.post(
            f"{engine.base_url}/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": storage.tokens.refresh_token,
                "client_id": storage.client.client_id,
            },
        )
    assert r.status_code == 200, r.text
    new_url = engine.group_url("b")
    assert engine.auth.validator is not None
    vt = await engine.auth.validator.validate(r.json()["access_token"], new_url)
    assert vt.audience == (new_url,)


async def test_remembered_consent_follows_the_rename(engine: Engine) -> None:
    old_url = await setup_group(engine)
    storage = MemoryTokenStorage()

    class Remembering(Browser):
        async def answer(self, page: httpx.Response, request_id: str) -> None:
            [pending] = self.engine.consent.pending()
            self.consents.append(pending)
            self.engine.consent.decide(request_id, True, True)

    browser = Remembering(engine)
    provider = sdk_provider(old_url, browser, storage, "sdk-remember")
    assert await echo_through(provider, old_url, "x") == "x"
    assert storage.client is not None
    client_id = storage.client.client_id
    await engine.rename_group("a", "b")
    consents = (await engine.auth.list_grants())["consents"]
    assert [(c["client_id"], c["server"]) for c in consents] == [(client_id, "group:b")]
    [grant] = (await engine.auth.list_grants())["grants"]
    assert grant["remembered"] is True


async def test_deleting_a_group_revokes_its_grant(audited: Any) -> None:
    engine, audit = audited
    url = await setup_group(engine)
    browser = Browser(engine)
    storage = MemoryTokenStorage()
    provider = sdk_provider(url, browser, storage, "sdk-delete")
    assert await echo_through(provider, url, "x") == "x"
    [grant] = (await engine.auth.list_grants())["grants"]
    assert storage.tokens is not None and storage.client is not None

    await engine.remove_group("a")
    assert (await engine.auth.list_grants())["grants"] == []
    revoked = [e for e in audit.events if e["event"] == "grant_revoked"]
    assert [(e["grant"], e["reason"], e["target"]) for e in revoked] == [
        (grant["id"], "group_deleted", "group:a")
    ]
    # Its refresh token is dead, and a new group of the same name is not its heir.
    await engine.add_group(GroupSpec(name="a", servers=("echo",)))
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        r = await http.post(
            f"{engine.base_url}/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": storage.tokens.refresh_token,
                "client_id": storage.client.client_id,
            },
        )
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "invalid_grant"
        # The grant's access token (same URL again) is refused: its grant is revoked.
        r = await http.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
            headers={
                "authorization": f"Bearer {storage.tokens.access_token}",
                "accept": "application/json, text/event-stream",
            },
        )
    assert r.status_code == 401, r.text
