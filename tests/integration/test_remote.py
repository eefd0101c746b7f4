"""Remote servers (issue 18) end to end: Switchboard signs in to an OAuth-protected MCP
server built from the Python ``mcp`` SDK's server-side auth (tests/helpers/
remote_fixture.py: RFC 9728 + RFC 8414 discovery, RFC 7591 registration, PKCE), through
a scripted browser, and the real ``mcp`` SDK client calls its tools through the
gateway with Switchboard's own token. The upstream token never reaches the client;
the client's token never reaches the upstream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, RestartPolicy, ServerSpec, Transport
from switchboard.core.state import ServerState
from switchboard.engine import Engine
from switchboard.remote.vault import tokens_key
from tests.conftest import make_test_engine
from tests.helpers.keyrings import MemoryKeyringBackend
from tests.helpers.remote_fixture import (
    MANUAL_CLIENT_ID,
    MANUAL_CLIENT_SECRET,
    RemoteFixture,
    ScriptedBrowser,
    remote_fixture,
)

pytestmark = pytest.mark.timeout(90)

FAST = RestartPolicy(initial_delay=0.05, max_delay=0.2, jitter=0)


class Recorder(httpx2.AsyncBaseTransport):
    """What a client received, byte for byte (around the real transport)."""

    def __init__(self) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.received: list[bytes] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        head = "".join(f"{k}: {v}\n" for k, v in response.headers.items()).encode()
        self.received.append(head + body)
        return httpx2.Response(
            response.status_code,
            headers=response.headers,
            content=body,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
async def fixture() -> AsyncIterator[RemoteFixture]:
    async with remote_fixture() as fx:
        yield fx


@pytest.fixture
def keyring() -> MemoryKeyringBackend:
    return MemoryKeyringBackend()


@pytest.fixture
def browser() -> ScriptedBrowser:
    return ScriptedBrowser()


@pytest.fixture
async def engine(
    paths: AppPaths, keyring: MemoryKeyringBackend, browser: ScriptedBrowser
) -> AsyncIterator[Engine]:
    eng = make_test_engine(paths, keyring=keyring, browser=browser)
    await eng.start()
    try:
        yield eng
    finally:
        await eng.aclose()


def remote_spec(url: str, name: str = "fx", **kw: Any) -> ServerSpec:
    kw.setdefault("restart", FAST)
    kw.setdefault("transport", Transport.STREAMABLE_HTTP)
    return ServerSpec(
        name=name,
        url=url,
        remote=True,
        auth=AuthMode.SWITCHBOARD,
        **kw,
    )


async def client_token(engine: Engine, name: str = "fx") -> str:
    token = await engine.auth.first_party_token(name)
    return str(token["access_token"])


def text_of(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def call_echo(engine: Engine, text: str, recorder: Recorder | None = None) -> str:
    token = await client_token(engine)
    async with (
        httpx2.AsyncClient(
            headers={"authorization": f"Bearer {token}"},
            transport=recorder,
            trust_env=False,
            timeout=30,
        ) as http,
        Client(streamable_http_client(engine.server_url("fx"), http_client=http)) as client,
    ):
        tools = await client.list_tools()
        assert {"echo", "add"} <= {t.name for t in tools.tools}
        return text_of(await client.call_tool("echo", {"message": text}))


async def test_add_sign_in_and_call_through_the_gateway(
    engine: Engine,
    fixture: RemoteFixture,
    keyring: MemoryKeyringBackend,
    browser: ScriptedBrowser,
) -> None:
    await engine.add_server(remote_spec(fixture.url))
    status = await engine.start_server("fx")
    # No token yet: a state of its own, not "failed".
    assert status.state is ServerState.NEEDS_SIGN_IN

    signed = await engine.sign_in("fx")
    assert signed["signed_in"] and signed["state"] == "running"
    assert fixture.provider.registrations == 1  # RFC 7591 dynamic registration
    opened = browser.opened[0]
    assert "code_challenge_method=S256" in opened
    assert httpx.URL(opened).params["resource"] == fixture.url  # RFC 8707
    # Tokens live in the keyring, never in the config or anywhere in the home.
    stored = json.loads(keyring.get_password("switchboard", tokens_key("fx")) or "{}")
    assert stored["access_token"] in fixture.provider.issued
    for path in Path(engine.paths.config_file).parent.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert stored["access_token"].encode() not in data, path
            assert stored["refresh_token"].encode() not in data, path

    recorder = Recorder()
    assert await call_echo(engine, "hello", recorder) == "remote:hello"

    # No token passthrough, either way.
    ours = await client_token(engine)
    upstream = fixture.mcp_requests()
    assert upstream
    for entry in upstream:
        auth = entry.headers.get("authorization", "")
        assert ours not in auth
        if auth:
            assert auth.removeprefix("Bearer ") in fixture.provider.issued
    assert len(recorder.received) >= 3
    everything = b"".join(recorder.received)
    for secret in fixture.provider.issued:
        assert secret.encode() not in everything
    assert b"resource_metadata" not in everything  # the upstream's challenge
    assert b"up-cookie" not in everything  # the upstream's cookie


async def test_refresh_after_a_short_upstream_ttl(
    paths: AppPaths, keyring: MemoryKeyringBackend, browser: ScriptedBrowser
) -> None:
    async with remote_fixture(token_ttl=2) as fx:  # refreshed 0.5 s before it expires
        engine = make_test_engine(paths, keyring=keyring, browser=browser)
        await engine.start()
        try:
            await engine.add_server(remote_spec(fx.url))
            await engine.start_server("fx")
            await engine.sign_in("fx")
            first = json.loads(keyring.get_password("switchboard", tokens_key("fx")) or "{}")
            assert await call_echo(engine, "one") == "remote:one"
            assert fx.provider.refreshes == 0
            await asyncio.sleep(2.1)  # the upstream token has expired
            assert await call_echo(engine, "two") == "remote:two"
            assert fx.provider.refreshes >= 1
            after = json.loads(keyring.get_password("switchboard", tokens_key("fx")) or "{}")
            # Rotated: the old refresh token is gone upstream, the new one is stored.
            assert after["refresh_token"] != first["refresh_token"]
            assert after["refresh_token"] in fx.provider.refresh
            assert engine.status("fx").state is ServerState.RUNNING
        finally:
            await engine.aclose()


async def test_revoked_upstream_gives_needs_sign_in_and_a_clear_error(
    engine: Engine, fixture: RemoteFixture
) -> None:
    await engine.add_server(remote_spec(fixture.url))
    await engine.start_server("fx")
    await engine.sign_in("fx")
    token = await client_token(engine)
    async with (
        httpx2.AsyncClient(
            headers={"authorization": f"Bearer {token}"}, trust_env=False, timeout=30
        ) as http,
        Client(streamable_http_client(engine.server_url("fx"), http_client=http)) as client,
    ):
        assert text_of(await client.call_tool("echo", {"message": "a"})) == "remote:a"
        fixture.revoke_all()
        with pytest.raises(MCPError) as info:
            await asyncio.wait_for(client.call_tool("echo", {"message": "b"}), 20)
        assert "'fx'" in str(info.value) and "sign-in" in str(info.value)
    for _ in range(200):
        if engine.status("fx").state is ServerState.NEEDS_SIGN_IN:
            break
        await asyncio.sleep(0.02)
    assert engine.status("fx").state is ServerState.NEEDS_SIGN_IN
    # Signing in again brings it back.
    await engine.sign_in("fx")
    assert await call_echo(engine, "again") == "remote:again"


async def cli(engine: Engine, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    from switchboard.cli import main as cli_main

    home = str(Path(engine.paths.config_dir).parent)
    code = await asyncio.to_thread(cli_main, ["--home", home, *argv])
    out = capsys.readouterr()
    return code, out.out + out.err


async def test_cli_add_url_signin_list_signout(
    engine: Engine, fixture: RemoteFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = await cli(engine, capsys, "add", "fx", "--url", fixture.url)
    assert code == 0, out
    spec = engine.config.server("fx")
    assert spec.remote and spec.transport is Transport.STREAMABLE_HTTP and not spec.command
    assert "needs-sign-in" in out and "switchboard signin fx" in out
    code, out = await cli(engine, capsys, "list")
    assert "needs-sign-in" in out and f"remote: {fixture.url}" in out
    code, out = await cli(engine, capsys, "signin", "fx")
    assert code == 0, out
    assert "fx: signed in" in out and "renewed automatically" in out
    code, out = await cli(engine, capsys, "signin", "fx", "--status")
    assert "fx: signed in" in out and "needs sign-in" not in out
    code, out = await cli(engine, capsys, "status", "fx")
    assert f"remote:   {fixture.url}" in out and "sign-in:  fx: signed in" in out
    assert engine.status("fx").state is ServerState.RUNNING
    code, out = await cli(engine, capsys, "signout", "fx")
    assert code == 0, out
    assert "not signed in" in out and "needs sign-in" in out
    assert engine.status("fx").state is ServerState.NEEDS_SIGN_IN


async def test_cli_add_keeps_local_http_servers_local(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "http://127.0.0.1:9/mcp"
    code, out = await cli(
        engine, capsys, "add", "loc", "--transport", "streamable-http", "--url", url
    )
    assert code == 0, out
    assert not engine.config.server("loc").remote
    code, out = await cli(engine, capsys, "add", "bad", "--url", "http://example.com/mcp")
    assert code != 0 and "https" in out


async def test_upstream_5xx_answers_the_call_naming_the_server(
    engine: Engine, fixture: RemoteFixture
) -> None:
    await engine.add_server(remote_spec(fixture.url))
    await engine.start_server("fx")
    await engine.sign_in("fx")
    token = await client_token(engine)
    async with (
        httpx2.AsyncClient(
            headers={"authorization": f"Bearer {token}"}, trust_env=False, timeout=30
        ) as http,
        Client(streamable_http_client(engine.server_url("fx"), http_client=http)) as client,
    ):
        assert text_of(await client.call_tool("echo", {"message": "a"})) == "remote:a"
        fixture.down = True
        with pytest.raises(MCPError) as info:
            await asyncio.wait_for(client.call_tool("echo", {"message": "b"}), 20)
        assert "'fx'" in str(info.value) and "503" in str(info.value)
        fixture.down = False
        # The session goes on: a 5xx is one failed call, not a lost server.
        assert text_of(await client.call_tool("echo", {"message": "c"})) == "remote:c"
    assert engine.status("fx").state is ServerState.RUNNING


async def test_unreachable_upstream_backs_off_answers_at_once_and_recovers(
    engine: Engine, fixture: RemoteFixture, http: httpx.AsyncClient
) -> None:
    await engine.add_server(remote_spec(fixture.url))
    await engine.start_server("fx")
    await engine.sign_in("fx")
    fixture.down = True
    await engine.restart_server("fx")
    status = engine.status("fx")
    assert status.state is ServerState.BACKOFF
    assert "HTTP 503" in status.detail and "Retrying" in status.detail
    # A client is answered at once with a JSON-RPC error naming the server.
    token = await client_token(engine)
    r = await http.post(
        engine.server_url("fx"),
        headers={
            "authorization": f"Bearer {token}",
            "accept": "application/json, text/event-stream",
            "content-type": "application/json",
        },
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        },
    )
    assert r.status_code == 503
    body = r.json()
    assert body["error"]["data"]["server"] == "fx"
    assert "unreachable" in body["error"]["message"]
    assert b"up-at-" not in r.content and "www-authenticate" not in r.headers
    # Retried with backoff until the provider is back.
    fixture.down = False
    for _ in range(300):
        if engine.status("fx").state is ServerState.RUNNING:
            break
        await asyncio.sleep(0.02)
    assert engine.status("fx").state is ServerState.RUNNING
    assert await call_echo(engine, "back") == "remote:back"


async def test_nothing_listening_is_a_clear_backoff(engine: Engine) -> None:
    await engine.add_server(remote_spec("http://127.0.0.1:9/mcp"))
    status = await engine.start_server("fx")
    assert status.state is ServerState.BACKOFF
    assert "could not be reached" in status.detail


async def test_manual_client_when_the_provider_has_no_registration(
    engine: Engine, keyring: MemoryKeyringBackend
) -> None:
    from switchboard.core.errors import AuthError
    from switchboard.remote.vault import client_secret_key

    async with remote_fixture(dcr=False) as fx:
        await engine.add_server(remote_spec(fx.url))
        await engine.start_server("fx")
        with pytest.raises(AuthError, match="does not let apps register") as info:
            await engine.sign_in("fx")
        assert "--oauth-client-id" in info.value.hint
        assert engine.status("fx").state is ServerState.NEEDS_SIGN_IN
        # The person registered an app by hand and entered its id (secret in the keyring).
        keyring.set_password("switchboard", client_secret_key("fx"), MANUAL_CLIENT_SECRET)
        await engine.update_server(remote_spec(fx.url, oauth_client_id=MANUAL_CLIENT_ID))
        signed = await engine.sign_in("fx")
        assert signed["signed_in"] and fx.provider.registrations == 0
        assert await call_echo(engine, "by hand") == "remote:by hand"
        token_calls = [e for e in fx.log if e.path == "/token"]
        assert token_calls and all(
            e.headers.get("authorization", "").startswith("Basic ") for e in token_calls
        )


async def test_a_group_of_the_remote_and_a_local_server(
    engine: Engine, fixture: RemoteFixture
) -> None:
    import sys

    from switchboard.core.group import GroupSpec

    time_server = str(Path(sys.executable).with_name("mcp-server-time"))
    await engine.add_server(remote_spec(fixture.url))
    await engine.start_server("fx")
    await engine.sign_in("fx")
    await engine.add_server(
        ServerSpec(name="time", command=time_server, args=("--local-timezone", "UTC"))
    )
    await engine.start_server("time")
    await engine.add_group(GroupSpec(name="mixed", servers=("fx", "time"), auth=AuthMode.OFF))
    recorder = Recorder()
    async with (
        httpx2.AsyncClient(transport=recorder, trust_env=False, timeout=30) as http,
        Client(streamable_http_client(engine.group_url("mixed"), http_client=http)) as client,
    ):
        tools = {t.name for t in (await client.list_tools()).tools}
        assert {"fx__echo", "fx__add", "time__get_current_time"} <= tools
        result = await client.call_tool("fx__echo", {"message": "in a group"})
        assert text_of(result) == "remote:in a group"
        result = await client.call_tool("time__get_current_time", {"timezone": "UTC"})
        assert "UTC" in text_of(result)
    everything = b"".join(recorder.received)
    for secret in fixture.provider.issued:
        assert secret.encode() not in everything
    # The live listing the inspector and the Groups page show works for it too.
    listing = await engine.gateway.server_listing("fx")
    assert listing["error"] is None and {"echo", "add"} <= {t["name"] for t in listing["tools"]}


async def test_legacy_sse_upstream(engine: Engine) -> None:
    async with remote_fixture(legacy=True) as fx:
        await engine.add_server(remote_spec(fx.url, transport=Transport.SSE))
        assert (await engine.start_server("fx")).state is ServerState.NEEDS_SIGN_IN
        await engine.sign_in("fx")
        assert engine.status("fx").state is ServerState.RUNNING
        assert await call_echo(engine, "over sse") == "remote:over sse"
        posts = [e for e in fx.mcp_requests() if e.method == "POST"]
        assert posts and all(e.path.startswith("/messages") for e in posts)
        assert all(e.headers.get("authorization", "").startswith("Bearer up-at-") for e in posts)


async def test_insufficient_scope_asks_for_a_new_sign_in(
    engine: Engine, fixture: RemoteFixture, browser: ScriptedBrowser
) -> None:
    from switchboard.core.errors import AuthError

    await engine.add_server(remote_spec(fixture.url))
    await engine.start_server("fx")
    fixture.provider.grant_scopes = []  # the person granted less than the server needs
    with pytest.raises(AuthError, match="needs-sign-in"):
        await engine.sign_in("fx")
    status = engine.status("fx")
    assert status.state is ServerState.NEEDS_SIGN_IN
    assert "more permissions" in status.detail
    fixture.provider.grant_scopes = None
    await engine.sign_in("fx")
    assert httpx.URL(browser.opened[-1]).params["scope"] == "mcp:tools"
    assert await call_echo(engine, "scoped") == "remote:scoped"


async def test_sign_in_starts_a_stopped_remote_and_the_state_says_signed_in(
    engine: Engine, fixture: RemoteFixture
) -> None:
    await engine.add_server(remote_spec(fixture.url))
    await engine.sign_in("fx")  # never started: the sign-in starts it (and remembers that)
    assert engine.status("fx").state is ServerState.RUNNING
    assert engine.config.server("fx").autostart
    status = engine.sign_in_status("fx")
    assert status["signed_in"] and status["refreshable"] and status["expires_at"]


async def test_a_url_that_is_no_mcp_endpoint_fails_with_a_hint(
    engine: Engine, fixture: RemoteFixture
) -> None:
    await engine.add_server(remote_spec(f"{fixture.base}/not-mcp"))
    status = await engine.start_server("fx")
    assert status.state is ServerState.FAILED
    assert "not a Streamable HTTP MCP endpoint" in status.detail and "/mcp" in status.detail


async def test_a_session_the_upstream_forgot_is_replaced_and_clients_keep_theirs(
    engine: Engine, fixture: RemoteFixture
) -> None:
    await engine.add_server(remote_spec(fixture.url))
    await engine.sign_in("fx")
    states: list[ServerState] = []
    from switchboard.core.events import StateChanged

    engine.subscribe(
        lambda e: states.append(e.new) if isinstance(e, StateChanged) and e.name == "fx" else None
    )
    token = await client_token(engine)
    async with (
        httpx2.AsyncClient(
            headers={"authorization": f"Bearer {token}"}, trust_env=False, timeout=30
        ) as http,
        Client(streamable_http_client(engine.server_url("fx"), http_client=http)) as client,
    ):
        assert text_of(await client.call_tool("echo", {"message": "a"})) == "remote:a"
        fixture.drop_sessions()
        # The call that meets the 404 fails, naming the server; the next one works on a
        # new upstream session, in the same client session.
        with pytest.raises(MCPError, match="'fx'"):
            await asyncio.wait_for(client.call_tool("echo", {"message": "b"}), 20)
        assert text_of(await client.call_tool("echo", {"message": "c"})) == "remote:c"
    assert engine.status("fx").state is ServerState.RUNNING
    assert ServerState.BACKOFF not in states  # never shown as down
    assert len(fixture.sessions - fixture.dropped) >= 1
