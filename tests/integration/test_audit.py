"""The audit log after real flows: the real ``mcp`` SDK client signs in through the
gateway (consent approved and remembered, then denied), a bad token and a bad code are
refused, the person revokes the grant, servers are added, started, stopped, removed,
settings change, and a secret is set and removed with the CLI on the real keyring.
Every kind of event is in the file, and no token, code or secret value ever is."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from switchboard.audit import AuditLog, audit_path
from switchboard.auth.consent import ConsentBroker
from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode
from switchboard.engine import Engine
from tests.conftest import FakeSecrets, fixture_cmd, make_test_engine
from tests.fixtures.gw_helpers import add_started
from tests.helpers.oauth_flow import ConsentBrowser, MemoryTokenStorage, sdk_provider
from tests.integration.test_secrets_keyring import _secret_service_backend

pytestmark = pytest.mark.timeout(120)


class Browser(ConsentBrowser):
    def __init__(self, engine: Engine, approve: bool, remember: bool = False) -> None:
        super().__init__(engine)
        self.approve = approve
        self.remember = remember

    async def answer(self, page: httpx.Response, request_id: str) -> None:
        self.engine.consent.decide(request_id, self.approve, self.remember)


@pytest.fixture
async def audited(paths: AppPaths, fake_secrets: FakeSecrets) -> AsyncIterator[Engine]:
    engine = make_test_engine(paths, fake_secrets, audit=AuditLog.for_paths(paths))
    await engine.start()
    try:
        yield engine
    finally:
        await engine.aclose()


def read_events(paths: AppPaths, engine: Engine) -> list[dict[str, Any]]:
    engine.auth.audit.flush()  # type: ignore[attr-defined]
    return [json.loads(line) for line in audit_path(paths).read_text("utf-8").splitlines()]


def one(events: list[dict[str, Any]], event: str, **match: Any) -> dict[str, Any]:
    found = [
        e for e in events if e["event"] == event and all(e.get(k) == v for k, v in match.items())
    ]
    assert len(found) == 1, (event, match, [e for e in events if e["event"] == event])
    return found[0]


async def test_audit_log_after_real_flows(audited: Engine, paths: AppPaths) -> None:
    engine = audited
    cmd, args = fixture_cmd("echo_server.py")
    url = await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)

    # SDK sign-in: discovery, registration, consent approved and remembered, code, token.
    browser = Browser(engine, approve=True, remember=True)
    storage = MemoryTokenStorage()
    async with (
        httpx2.AsyncClient(auth=sdk_provider(url, browser, storage, "audit-sdk"), timeout=30) as h,
        Client(streamable_http_client(url, http_client=h)) as client,
    ):
        await client.call_tool("echo", {"text": "hi"})
    assert storage.tokens is not None and storage.client is not None
    assert browser.location is not None
    code = parse_qs(urlsplit(browser.location).query)["code"][0]
    client_id = storage.client.client_id

    # A second client is denied.
    denied = Browser(engine, approve=False)
    with pytest.raises(BaseException):  # noqa: B017 - the SDK wraps it in an ExceptionGroup
        async with (
            httpx2.AsyncClient(
                auth=sdk_provider(url, denied, MemoryTokenStorage(), "audit-denied"), timeout=30
            ) as h,
            Client(streamable_http_client(url, http_client=h)) as client,
        ):
            await client.call_tool("echo", {"text": "x"})

    async with httpx.AsyncClient(trust_env=False) as http:
        # A forged token at the gateway; the used code again at the token endpoint.
        r = await http.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"authorization": "Bearer not.a.token"},
        )
        assert r.status_code == 401
        r = await http.post(
            f"{engine.base_url}/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": client_id,
                "redirect_uri": browser.location.split("?")[0],
                "code_verifier": "x" * 43,
            },
        )
        assert r.status_code == 400

    # The person revokes what is left; servers and settings change.
    grants = (await engine.auth.list_grants())["grants"]
    for g in grants:
        await engine.auth.revoke_grant(g["id"])
    await engine.auth.forget_consent(client_id, "echo")
    await engine.stop_server("echo")
    await engine.update_settings(
        engine.config.settings.__class__(
            **{**engine.config.settings.to_dict(), "access_token_ttl": 600}
        )
    )
    await engine.remove_server("echo")

    events = read_events(paths, engine)
    assert stat.S_IMODE(audit_path(paths).stat().st_mode) == 0o600
    for e in events:
        assert list(e)[:2] == ["ts", "event"]
    one(events, "server_added", actor="person", target="echo", outcome="success")
    one(events, "server_started", target="echo")
    one(events, "server_stopped", target="echo")
    one(events, "server_removed", actor="person", target="echo")
    one(events, "settings_changed", actor="person", fields=["access_token_ttl"])
    consent = one(events, "consent", outcome="approved", client=client_id)
    assert consent["actor"] == "person"
    assert consent["target"] == "echo"
    assert consent["remembered"] is True
    assert consent["client_name"] == "audit-sdk"
    assert consent["redirect_host"] == "127.0.0.1:53682"
    forgot = one(events, "consent_forgotten", target="echo")
    assert forgot["actor"] == "person" and forgot["client"] == client_id
    denial = one(events, "consent", outcome="denied")
    assert denial["client_name"] == "audit-denied" and denial["remembered"] is False
    sign_in = one(events, "sign_in", actor=client_id, grant_type="authorization_code")
    assert sign_in["target"] == "echo"
    assert sign_in["redirect_host"] == "127.0.0.1:53682"
    assert sign_in["client_name"] == "audit-sdk"
    rejected = [e for e in events if e["event"] == "token_rejected"]
    assert len(rejected) == 1 and rejected[0]["target"] == "echo"
    assert rejected[0]["outcome"] == "failure" and rejected[0]["error"] == "invalid_token"
    # The SDK's first request, before it had a token, was refused too, but a request
    # without a token is discovery, not an event: it is not in the log.
    # The code used twice: refused, and the grant it produced revoked (RFC 6749 §4.1.2).
    failed = one(events, "token_failed", actor=client_id)
    assert failed["reason"] == "invalid_grant" and failed["grant_type"] == "authorization_code"
    revoked = one(events, "grant_revoked", reason="authorization_code_reuse")
    assert revoked["actor"] == "switchboard" and revoked["client"] == client_id
    assert revoked["target"] == "echo"

    text = audit_path(paths).read_text("utf-8")
    assert storage.tokens.access_token not in text
    assert storage.tokens.refresh_token is not None
    assert storage.tokens.refresh_token not in text
    assert code not in text
    assert "not.a.token" not in text


async def test_person_revoking_a_grant_is_audited(audited: Engine, paths: AppPaths) -> None:
    engine = audited
    cmd, args = fixture_cmd("echo_server.py")
    url = await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)
    storage = MemoryTokenStorage()
    async with (
        httpx2.AsyncClient(
            auth=sdk_provider(url, Browser(engine, approve=True), storage, "rev"), timeout=30
        ) as h,
        Client(streamable_http_client(url, http_client=h)) as client,
    ):
        await client.call_tool("echo", {"text": "hi"})
    [grant] = (await engine.auth.list_grants())["grants"]
    await engine.auth.revoke_grant(grant["id"])
    events = read_events(paths, engine)
    revoked = one(events, "grant_revoked", grant=grant["id"])
    assert revoked["actor"] == "person" and revoked["reason"] == "revoked_by_user"
    assert revoked["target"] == "echo"
    assert storage.client is not None and revoked["client"] == storage.client.client_id


@pytest.mark.keyring
def test_cli_secret_set_and_remove_are_audited_without_the_value(paths: AppPaths) -> None:
    _secret_service_backend()
    name = f"audit-{uuid.uuid4().hex[:8]}"
    value = "sb-audit-" + uuid.uuid4().hex
    home = str(paths.config_dir.parent)
    cmd = [sys.executable, "-m", "switchboard", "--home", home, "secret"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [*cmd, "set", name],
        input=value + "\n",
        text=True,
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rm = subprocess.run(
        [*cmd, "rm", name], text=True, capture_output=True, env=env, timeout=60, check=False
    )
    assert rm.returncode == 0, rm.stderr
    text = audit_path(paths).read_text("utf-8")
    assert value not in text
    events = [json.loads(line) for line in text.splitlines()]
    assert [(e["event"], e["actor"], e["target"], e["outcome"]) for e in events] == [
        ("secret_set", "cli", name, "success"),
        ("secret_removed", "cli", name, "success"),
    ]


def test_cli_changes_without_an_engine_are_audited(paths: AppPaths) -> None:
    from switchboard.cli import main

    home = str(paths.config_dir.parent)
    assert main(["--home", home, "add", "t", "--auth", "off", "--", "cat"]) == 0
    assert main(["--home", home, "group", "create", "g", "t"]) == 0
    assert main(["--home", home, "remove", "t"]) == 0
    events = [json.loads(line) for line in audit_path(paths).read_text("utf-8").splitlines()]
    got = [(e["event"], e["actor"], e["target"]) for e in events]
    assert got[:2] == [("server_added", "cli", "t"), ("group_added", "cli", "g")]
    # Removing the server takes it out of the group in the same save.
    assert sorted(got[2:]) == [("group_changed", "cli", "g"), ("server_removed", "cli", "t")]


class Away(ConsentBrowser):
    """Nobody answers: the request expires."""

    async def answer(self, page: httpx.Response, request_id: str) -> None:
        return None


async def test_expired_consent_is_audited(paths: AppPaths, fake_secrets: FakeSecrets) -> None:
    engine = make_test_engine(
        paths, fake_secrets, audit=AuditLog.for_paths(paths), consent=ConsentBroker(timeout=0.5)
    )
    await engine.start()
    try:
        cmd, args = fixture_cmd("echo_server.py")
        url = await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)
        with pytest.raises(BaseException):  # noqa: B017 - the SDK wraps it in an ExceptionGroup
            async with (
                httpx2.AsyncClient(
                    auth=sdk_provider(url, Away(engine), MemoryTokenStorage(), "away"), timeout=30
                ) as h,
                Client(streamable_http_client(url, http_client=h)) as client,
            ):
                await client.call_tool("echo", {"text": "x"})
        events = read_events(paths, engine)
    finally:
        await engine.aclose()
    expired = one(events, "consent", outcome="expired")
    assert expired["client_name"] == "away" and expired["target"] == "echo"
    assert not [e for e in events if e["event"] == "sign_in"]
