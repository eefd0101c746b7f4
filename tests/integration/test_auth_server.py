"""The authorization server over real HTTP on the engine's listener: registration, PKCE,
redirect rules, RFC 8707, refresh rotation and reuse detection, revocation,
introspection, CSRF on the consent page, remembered consents, restart persistence,
the first-party client and the consent/grants CLI verbs."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from switchboard.auth import connect_client
from switchboard.cli import main as cli_main
from switchboard.core.errors import AuthError, ControlAPIError
from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, ServerSpec
from switchboard.engine import Engine
from tests.conftest import fixture_cmd, make_test_engine
from tests.helpers.keyrings import MemoryKeyringBackend, NoKeyring, RefusingKeyring
from tests.helpers.oauth_flow import approve_on_page, consent_form, continue_after_consent
from tests.unit.auth.tokens import b64, code_flow

pytestmark = pytest.mark.timeout(90)

REDIRECT = "http://127.0.0.1:40123/cb"
VERIFIER = "v" * 64
CHALLENGE = b64(hashlib.sha256(VERIFIER.encode()).digest())


def make_engine(paths: AppPaths, **seams: Any) -> Engine:
    return make_test_engine(paths, **seams)


@pytest.fixture
async def eng(engine: Engine) -> Engine:
    cmd, args = fixture_cmd("echo_server.py")
    await engine.add_server(ServerSpec(name="echo", command=cmd, args=args))
    await engine.add_server(ServerSpec(name="open", command=cmd, args=args, auth=AuthMode.OFF))
    return engine


def authorize_params(client_id: str, url: str, **over: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "state": "st",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        "resource": url,
    }
    params.update(over)
    return {k: v for k, v in params.items() if v != ""}


async def register(http: httpx.AsyncClient, engine: Engine, **over: Any) -> dict[str, Any]:
    body = {"client_name": "t", "redirect_uris": [REDIRECT], **over}
    r = await http.post(f"{engine.base_url}/oauth/register", json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def exchange_code(
    http: httpx.AsyncClient, engine: Engine, client: dict[str, Any], code: str, **over: str
) -> httpx.Response:
    """The token request for ``code`` (PKCE verifier VERIFIER), with fields ``over``."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": client["client_id"],
        "code_verifier": VERIFIER,
        **over,
    }
    return await http.post(f"{engine.base_url}/oauth/token", data=form)


def claims_of(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    h, p, _ = token.split(".")
    dec = [json.loads(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))) for x in (h, p)]
    return dec[0], dec[1]


async def test_registration(eng: Engine, http: httpx.AsyncClient) -> None:
    public = await register(http, eng)
    assert public["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in public
    confidential = await register(http, eng, token_endpoint_auth_method="client_secret_basic")
    assert confidential["client_secret"]
    for bad in (["http://evil.example/cb"], ["https://x.example/cb#frag"], [], ["javascript:x"]):
        r = await http.post(
            f"{eng.base_url}/oauth/register", json={"client_name": "b", "redirect_uris": bad}
        )
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"] in ("invalid_redirect_uri", "invalid_client_metadata")


async def test_token_response_is_rfc9068_and_no_store(eng: Engine, http: httpx.AsyncClient) -> None:
    url = eng.server_url("echo")
    client = await register(http, eng)
    page = await http.get(
        f"{eng.base_url}/oauth/authorize", params=authorize_params(client["client_id"], url)
    )
    loc = await approve_on_page(http, eng, page)
    code = parse_qs(urlsplit(loc).query)["code"][0]
    r = await exchange_code(http, eng, client, code)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    header, payload = claims_of(r.json()["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256"
    assert header["kid"] == eng.auth.keys.signing_key()[0]  # type: ignore[union-attr]
    assert payload["aud"] == url and payload["iss"] == eng.base_url
    assert payload["exp"] - payload["iat"] == eng.config.settings.access_token_ttl
    assert r.json()["expires_in"] == eng.config.settings.access_token_ttl
    # The code is single-use; a second use also revokes what the first produced.
    again = await exchange_code(http, eng, client, code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert (await eng.auth.list_grants())["grants"] == []


@pytest.mark.parametrize(
    ("over", "error"),
    [
        ({"code_challenge_method": "plain", "code_challenge": "p" * 43}, "invalid_request"),
        ({"code_challenge_method": ""}, "invalid_request"),
        ({"code_challenge": "", "code_challenge_method": ""}, "invalid_request"),
        ({"resource": "http://127.0.0.1:1/servers/echo/mcp"}, "invalid_target"),
        ({"resource": "RESOURCE/servers/nope/mcp"}, "invalid_target"),
        ({"resource": "RESOURCE/servers/open/mcp"}, "invalid_target"),
        ({"resource": "RESOURCE/servers"}, "invalid_target"),
        ({"resource": "http://127.0.0.1:1"}, "invalid_target"),
        ({"scope": "admin"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
async def test_authorize_errors_redirect_with_state_and_iss(
    eng: Engine, http: httpx.AsyncClient, over: dict[str, str], error: str
) -> None:
    client = await register(http, eng)
    over = {k: v.replace("RESOURCE", eng.base_url) for k, v in over.items()}
    r = await http.get(
        f"{eng.base_url}/oauth/authorize",
        params=authorize_params(client["client_id"], eng.server_url("echo"), **over),
    )
    assert r.status_code == 302, r.text
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["error"] == [error]
    assert query["state"] == ["st"] and query["iss"] == [eng.base_url]
    assert r.headers["location"].startswith(REDIRECT)
    assert eng.consent.pending() == []


@pytest.mark.parametrize(
    "redirect",
    [
        "http://127.0.0.1:40123/other",
        "http://evil.example:40123/cb",
        "http://localhost:40123/cb",
        "http://127.0.0.1:40123/cb?x=1",
    ],
)
async def test_unregistered_redirect_is_never_followed(
    eng: Engine, http: httpx.AsyncClient, redirect: str
) -> None:
    client = await register(http, eng)
    r = await http.get(
        f"{eng.base_url}/oauth/authorize",
        params=authorize_params(client["client_id"], eng.server_url("echo"), redirect_uri=redirect),
    )
    assert r.status_code == 400 and "location" not in r.headers
    assert r.headers["x-frame-options"] == "DENY"


async def test_loopback_redirect_may_change_port(eng: Engine, http: httpx.AsyncClient) -> None:
    client = await register(http, eng)
    _, tok = await code_flow(
        eng, http, eng.server_url("echo"), redirect_uri="http://127.0.0.1:50999/cb", client=client
    )
    assert tok["access_token"]


async def test_wrong_verifier_and_token_resource_mismatch(
    eng: Engine, http: httpx.AsyncClient
) -> None:
    url = eng.server_url("echo")
    client = await register(http, eng)
    for data, error in (
        ({"code_verifier": "w" * 64}, "invalid_grant"),
        ({"resource": f"{eng.base_url}/servers/open/mcp"}, "invalid_target"),
    ):
        page = await http.get(
            f"{eng.base_url}/oauth/authorize", params=authorize_params(client["client_id"], url)
        )
        loc = await approve_on_page(http, eng, page)
        code = parse_qs(urlsplit(loc).query)["code"][0]
        r = await exchange_code(http, eng, client, code, **data)
        assert r.status_code == 400 and r.json()["error"] == error, r.text


async def test_consent_page_csrf(eng: Engine, http: httpx.AsyncClient) -> None:
    client = await register(http, eng)
    page = await http.get(
        f"{eng.base_url}/oauth/authorize",
        params=authorize_params(client["client_id"], eng.server_url("echo")),
    )
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    rid, csrf = consent_form(page)
    eng.consent.decide(rid, True)
    url = f"{eng.base_url}/oauth/authorize/continue"
    # Another site's form: right id, no token / wrong token / no cookie.
    async with httpx.AsyncClient(trust_env=False) as stranger:
        r = await stranger.post(url, data={"request_id": rid, "csrf_token": csrf})
        assert r.status_code == 403  # no cookie
    r = await http.post(url, data={"request_id": rid, "csrf_token": "guess"})
    assert r.status_code == 403
    r = await http.post(url, data={"request_id": rid, "csrf_token": csrf})
    assert r.status_code == 303 and "code=" in r.headers["location"]
    r = await http.post(url, data={"request_id": rid, "csrf_token": csrf})
    assert r.status_code == 403  # used


async def test_refresh_rotation_and_reuse_revokes_the_grant(
    eng: Engine, http: httpx.AsyncClient
) -> None:
    url = eng.server_url("echo")
    client, tok = await code_flow(eng, http, url)
    token_url = f"{eng.base_url}/oauth/token"

    async def refresh(rt: str) -> httpx.Response:
        return await http.post(
            token_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": rt,
                "client_id": client["client_id"],
            },
        )

    r1 = await refresh(tok["refresh_token"])
    assert r1.status_code == 200, r1.text
    new = r1.json()
    assert new["refresh_token"] != tok["refresh_token"]
    assert claims_of(new["access_token"])[1]["aud"] == url
    principal = await eng.auth.authenticate(
        server=eng.config.server("echo"),
        resource=url,
        authorization=f"Bearer {new['access_token']}",
    )
    assert principal.client_id == client["client_id"]
    # The old refresh token comes back: someone copied it. The whole grant dies.
    reuse = await refresh(tok["refresh_token"])
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    after = await refresh(new["refresh_token"])
    assert after.status_code == 400 and after.json()["error"] == "invalid_grant"
    from switchboard.core.auth import AuthDenied

    with pytest.raises(AuthDenied) as denied:
        await eng.auth.authenticate(
            server=eng.config.server("echo"),
            resource=url,
            authorization=f"Bearer {new['access_token']}",
        )
    assert denied.value.status == 401
    grants = await asyncio.to_thread(eng.auth.store.list_grants, True)
    assert [g.revoke_reason for g in grants] == ["refresh_token_reuse"]


async def test_revocation_and_introspection(eng: Engine, http: httpx.AsyncClient) -> None:
    url = eng.server_url("echo")
    client, tok = await code_flow(eng, http, url)
    cid = client["client_id"]
    intro = f"{eng.base_url}/oauth/introspect"
    r = await http.post(intro, data={"token": tok["access_token"], "client_id": cid})
    assert r.status_code == 200 and r.json()["active"] is True and r.json()["aud"] == [url]
    r = await http.post(intro, data={"token": tok["refresh_token"], "client_id": cid})
    assert r.json()["active"] is True
    # Another client may not introspect or revoke it.
    other = await register(http, eng)
    r = await http.post(intro, data={"token": tok["access_token"], "client_id": other["client_id"]})
    assert r.json().get("active") is not True
    # RFC 7009: revoke the access token, then the refresh token (the grant).
    revoke = f"{eng.base_url}/oauth/revoke"
    r = await http.post(revoke, data={"token": tok["access_token"], "client_id": cid})
    assert r.status_code == 200
    r = await http.post(intro, data={"token": tok["access_token"], "client_id": cid})
    assert r.json() == {"active": False}
    r = await http.post(revoke, data={"token": tok["refresh_token"], "client_id": cid})
    assert r.status_code == 200
    r = await http.post(
        f"{eng.base_url}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tok["refresh_token"],
            "client_id": cid,
        },
    )
    assert r.status_code == 400
    r = await http.post(revoke, data={"token": "garbage", "client_id": cid})
    assert r.status_code == 200  # RFC 7009 §2.2: unknown tokens are not an error


async def test_remembered_consent_and_revoking_it(eng: Engine, http: httpx.AsyncClient) -> None:
    url = eng.server_url("echo")
    client, _ = await code_flow(eng, http, url, remember=True)
    r = await http.get(
        f"{eng.base_url}/oauth/authorize", params=authorize_params(client["client_id"], url)
    )
    # Asked again (RFC 8252 §8.6: never silent for a public client), marked as approved before.
    assert r.status_code == 200
    assert [p.previously_approved for p in eng.consent.pending()] == [True]
    eng.consent.expire(eng.consent.pending()[0].id)
    listing = await eng.auth.list_grants()
    assert [c["server"] for c in listing["consents"]] == ["echo"]
    await eng.auth.revoke_grant(listing["grants"][0]["id"])
    assert (await eng.auth.list_grants())["consents"] == []
    r = await http.get(
        f"{eng.base_url}/oauth/authorize", params=authorize_params(client["client_id"], url)
    )
    assert r.status_code == 200  # asks again, no longer marked
    assert [p.previously_approved for p in eng.consent.pending()] == [False]


async def test_restart_keeps_clients_refresh_tokens_and_keys(paths: AppPaths) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    keyring = MemoryKeyringBackend()  # one keyring across the restart, as on a real machine
    engine = make_engine(paths, keyring=keyring)
    await engine.start()
    try:
        await engine.add_server(ServerSpec(name="echo", command=cmd, args=args))
        async with httpx.AsyncClient(trust_env=False) as http:
            client, tok = await code_flow(engine, http, engine.server_url("echo"))
        kid = engine.auth.keys.signing_key()[0]  # type: ignore[union-attr]
        port = engine.listener.port  # type: ignore[union-attr]
    finally:
        await engine.aclose()
    engine = make_engine(paths, port=port, keyring=keyring)
    await engine.start()
    try:
        assert engine.auth.keys.signing_key()[0] == kid  # type: ignore[union-attr]
        async with httpx.AsyncClient(trust_env=False) as http:
            r = await http.post(
                f"{engine.base_url}/oauth/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": tok["refresh_token"],
                    "client_id": client["client_id"],
                },
            )
            assert r.status_code == 200, r.text
            # The access token from before the restart is still valid too.
            principal = await engine.auth.authenticate(
                server=engine.config.server("echo"),
                resource=engine.server_url("echo"),
                authorization=f"Bearer {tok['access_token']}",
            )
            assert principal.client_id == client["client_id"]
    finally:
        await engine.aclose()


async def test_first_party_client_token(eng: Engine) -> None:
    store = eng.auth.secret_store  # the keyring when there is one, else the file fallback
    token = await connect_client.aget_token(eng.paths, "echo", secret_store=store)
    principal = await eng.auth.authenticate(
        server=eng.config.server("echo"),
        resource=eng.server_url("echo"),
        authorization=f"Bearer {token}",
    )
    assert principal.client_id == connect_client.CLIENT_ID
    assert await connect_client.aget_token(eng.paths, "echo", secret_store=store) == token
    fresh = await connect_client.aget_token(eng.paths, "echo", secret_store=store, fresh=True)
    assert fresh != token
    secret_file = eng.paths.config_dir / "firstparty-secret"
    if eng.auth.key_warning is not None:  # no keyring: the owner-only file
        assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
    else:
        assert not secret_file.exists()


async def test_first_party_token_without_keyring_access_uses_the_admin_token(
    eng: Engine,
) -> None:
    # `switchboard connect` spawned by an MCP client with a stripped environment cannot
    # reach the keyring: the owner-only admin token asks the control API instead.
    token = await connect_client.aget_token(
        eng.paths, "echo", secret_store=RefusingKeyring(), fresh=True
    )
    principal = await eng.auth.authenticate(
        server=eng.config.server("echo"),
        resource=eng.server_url("echo"),
        authorization=f"Bearer {token}",
    )
    assert principal.client_id == connect_client.CLIENT_ID
    with pytest.raises(ControlAPIError, match="does not use"):
        await connect_client.aget_token(
            eng.paths, "open", secret_store=RefusingKeyring(), fresh=True
        )
    eng.paths.admin_token_file.unlink()
    with pytest.raises(AuthError, match="admin token is unreadable"):
        await connect_client.aget_token(
            eng.paths, "echo", secret_store=RefusingKeyring(), fresh=True
        )
    # Nobody else can use client credentials: DCR refuses that grant type.
    async with httpx.AsyncClient(trust_env=False) as http:
        r = await http.post(
            f"{eng.base_url}/oauth/register",
            json={
                "client_name": "x",
                "redirect_uris": [REDIRECT],
                "grant_types": ["client_credentials"],
                "token_endpoint_auth_method": "client_secret_basic",
            },
        )
        assert r.status_code == 400


async def test_consent_and_grants_cli(
    eng: Engine, http: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    home = str(Path(eng.paths.config_dir).parent)
    client = await register(http, eng, client_name="cli-client")
    page = await http.get(
        f"{eng.base_url}/oauth/authorize",
        params=authorize_params(client["client_id"], eng.server_url("echo")),
    )
    rid, csrf = consent_form(page)

    async def cli(*argv: str) -> str:
        code = await asyncio.to_thread(cli_main, ["--home", home, *argv])
        out = capsys.readouterr()
        assert code == 0, out.err
        return out.out

    listing = await cli("consent", "list")
    assert rid in listing and "cli-client" in listing and "echo" in listing
    assert "Approved" in await cli("consent", "approve", rid, "--remember")
    r = await continue_after_consent(http, eng.base_url, rid, csrf)
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    r = await exchange_code(http, eng, client, code)
    assert r.status_code == 200
    grants = await cli("grants", "list")
    header, row = grants.splitlines()[:2]
    assert header.split()[:4] == ["GRANT", "CLIENT", "CLIENT", "ID"]
    assert "cli-client" in row and client["client_id"] in row and "127.0.0.1:40123" in row
    assert "Remembered consents" in grants
    grant_id = row.split()[0]
    listed = json.loads(await cli("grants", "list", "--json"))
    assert [g["id"] for g in listed["grants"]] == [grant_id]
    assert listed["grants"][0]["last_used_at"] is not None
    assert "Revoked" in await cli("grants", "revoke", grant_id)
    assert "No grants." in await cli("grants", "list")
    code2 = await asyncio.to_thread(cli_main, ["--home", home, "consent", "approve", "nope"])
    assert code2 == 1 and "No pending consent request" in capsys.readouterr().err


async def test_key_rotation_with_live_tokens_through_the_gateway(
    eng: Engine, http: httpx.AsyncClient
) -> None:
    url = eng.server_url("echo")
    await eng.start_server("echo")
    _, before = await code_flow(eng, http, url)
    keys = eng.auth.keys
    assert keys is not None
    old_kid = keys.signing_key()[0]
    new_kid = await asyncio.to_thread(keys.rotate)
    jwks = (await http.get(f"{eng.base_url}/oauth/jwks.json")).json()
    assert {k["kid"] for k in jwks["keys"]} == {old_kid, new_kid}
    _, after = await code_flow(eng, http, url)
    assert claims_of(after["access_token"])[0]["kid"] == new_kid
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "r", "version": "1"},
        },
    }
    for tok in (before, after):
        r = await http.post(
            url,
            json=init,
            headers={
                "authorization": f"Bearer {tok['access_token']}",
                "accept": "application/json, text/event-stream",
            },
        )
        assert r.status_code == 200, r.text
    assert eng.auth.jwks_fetches == 0
    assert eng.auth.jwks_requests == 1  # only the explicit GET above


async def test_limits_body_size_and_pending_consents(eng: Engine, http: httpx.AsyncClient) -> None:
    r = await http.post(
        f"{eng.base_url}/oauth/register",
        content=b"{" + b" " * (70 * 1024) + b"}",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
    client = await register(http, eng)
    codes = []
    for i in range(7):
        r = await http.get(
            f"{eng.base_url}/oauth/authorize",
            params=authorize_params(client["client_id"], eng.server_url("echo"), state=f"s{i}"),
        )
        codes.append(r.status_code)
    # Nobody is refused; a client's newer requests replace its own older ones.
    assert codes == [200] * 7
    assert len(eng.consent.pending()) == eng.consent.max_per_client


async def test_missing_keyring_is_a_visible_warning(tmp_path: Path) -> None:
    # No Secret Service: the key lives in an owner-only file and a notice is published.
    from switchboard.auth.service import AuthService
    from switchboard.core.events import EventBus, Notice

    paths = AppPaths.default(tmp_path)
    paths.ensure()
    events = EventBus()
    seen: list[object] = []
    events.subscribe(seen.append)
    service = AuthService(
        paths,
        issuer=lambda: "http://127.0.0.1:1",
        servers=lambda: (),
        events=events,
        secret_store=NoKeyring(),
    )
    await service.start()
    try:
        assert service.key_warning is not None
        assert "owner-only file" in service.key_warning
        key_file = paths.data_dir / "auth-signing-keys.json"
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        assert any(isinstance(e, Notice) and e.kind == "key-warning" for e in seen)
    finally:
        await service.aclose()


async def test_two_authorizations_in_one_browser(eng: Engine, http: httpx.AsyncClient) -> None:
    client = await register(http, eng)
    pages = [
        await http.get(
            f"{eng.base_url}/oauth/authorize",
            params=authorize_params(client["client_id"], eng.server_url("echo"), state=s),
        )
        for s in ("a", "b")
    ]
    for page, state in zip(pages, ("a", "b"), strict=True):
        rid, csrf = consent_form(page)
        eng.consent.decide(rid, True)
        r = await continue_after_consent(http, eng.base_url, rid, csrf)
        assert r.status_code == 303, r.text
        assert parse_qs(urlsplit(r.headers["location"]).query)["state"] == [state]


async def test_tokens_never_reach_the_debug_log(
    eng: Engine, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    with caplog.at_level(logging.DEBUG):
        _, tok = await code_flow(eng, http, eng.server_url("echo"))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert tok["access_token"] not in text
    assert tok["refresh_token"] not in text


CURSOR_URIS = [
    "cursor://anysphere.cursor-mcp/oauth/callback",
    "https://www.cursor.com/agents/mcp/oauth/callback",
    "http://localhost:8787/callback",
]


async def test_each_redirect_uri_is_judged_and_off_machine_ones_are_dropped(
    eng: Engine, http: httpx.AsyncClient
) -> None:
    """RFC 8252 §7.1: Cursor's three URIs. The app scheme and the loopback one are kept;
    the https one would send the code off this computer: dropped, with the reason in
    the response, and an authorization with it gets a clear error page."""
    before = eng.auth.store.count_clients()
    r = await http.post(
        f"{eng.base_url}/oauth/register",
        json={"client_name": "Cursor", "redirect_uris": CURSOR_URIS},
    )
    assert r.status_code == 201, r.text
    client = r.json()
    assert client["redirect_uris"] == [CURSOR_URIS[0], CURSOR_URIS[2]]
    [refused] = client["refused_redirect_uris"]
    assert refused["redirect_uri"] == CURSOR_URIS[1]
    assert "off this computer" in refused["reason"]
    assert eng.auth.store.count_clients() == before + 1
    url = eng.server_url("echo")
    page = await http.get(
        f"{eng.base_url}/oauth/authorize",
        params=authorize_params(client["client_id"], url, redirect_uri=CURSOR_URIS[1]),
    )
    assert page.status_code == 400, page.text
    assert "was not registered" in page.text and "off this computer" in page.text
    assert "location" not in page.headers
    page = await http.get(
        f"{eng.base_url}/oauth/authorize",
        params=authorize_params(client["client_id"], url, redirect_uri=CURSOR_URIS[0]),
    )
    assert page.status_code == 200, page.text
    rid, _ = consent_form(page)
    request = eng.auth.broker.get(rid)
    assert request is not None and request.redirect_uri == CURSOR_URIS[0]
    location = await approve_on_page(http, eng, page)
    assert location.startswith(CURSOR_URIS[0] + "?")
    assert parse_qs(urlsplit(location).query)["state"] == ["st"]


@pytest.mark.parametrize(
    "uri",
    [
        "vscode://saoudrizwan.claude-dev/mcp-auth/callback/3f2a",
        "vscode-insiders://ms-vscode.vscode-mcp/callback",
        "windsurf://codeium.windsurf/mcp/callback",
        "kiro://kiro.mcp/callback",
        "com.example.app:/oauth2redirect/example-provider",
        "https://127.0.0.1:9000/cb",
    ],
)
async def test_native_app_redirects_are_registered(
    eng: Engine, http: httpx.AsyncClient, uri: str
) -> None:
    client = await register(http, eng, redirect_uris=[uri])
    assert client["redirect_uris"] == [uri]
    assert "refused_redirect_uris" not in client


@pytest.mark.parametrize(
    ("uris", "reason"),
    [
        (["javascript:alert(1)//"], "javascript: scheme"),
        (["data:text/html,<script>x</script>"], "data: scheme"),
        (["file:///etc/passwd"], "file: scheme"),
        (["blob:https://a.example/uuid"], "blob: scheme"),
        (["about:blank"], "about: scheme"),
        (["httpx://evil.example/cb"], "looks like http(s)"),
        (["https:evil.example/cb"], "needs a host"),
        (["myapp://callback"], "reverse-domain"),
        (["com.example.app://user:pw@host/cb"], "credentials"),
        (["com.example.app:/cb#frag"], "fragment"),
        (["vscode://x.y/cb\\..\\evil"], "backslashes"),
        (["http://127.0.0.1:1/cb\r\nSet-Cookie: x=1"], "control characters"),
        (["http://127.0.0.1:99999/cb"], "not a valid URI"),
        (["/relative/cb"], "not an absolute URI"),
        (["https://a.example/cb", "http://b.example/cb"], "off this computer"),
        # A malformed URI refuses the whole registration, even next to a good one.
        ([REDIRECT, "javascript:alert(1)"], "javascript: scheme"),
    ],
)
async def test_refused_redirect_uris_store_nothing_and_say_why(
    eng: Engine, http: httpx.AsyncClient, uris: list[str], reason: str
) -> None:
    before = eng.auth.store.count_clients()
    r = await http.post(
        f"{eng.base_url}/oauth/register", json={"client_name": "b", "redirect_uris": uris}
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_redirect_uri"
    assert reason in r.json()["error_description"], r.json()
    assert eng.auth.store.count_clients() == before


async def test_origin_only_or_missing_resource_asks_the_person_to_pick(
    eng: Engine, http: httpx.AsyncClient
) -> None:
    """RFC 8707 §2 lets the AS pick a default audience: the person picks it (older Gemini
    CLI sends the origin only, Codex without oauth_resource sends none). Only servers
    behind our own sign-in are offered."""
    client = await register(http, eng)
    url = eng.server_url("echo")
    for resource in (eng.base_url, eng.base_url + "/", ""):
        r = await http.get(
            f"{eng.base_url}/oauth/authorize",
            params=authorize_params(client["client_id"], url, resource=resource),
        )
        assert r.status_code == 200, r.text
        [request] = [p for p in eng.consent.pending() if p.client_id == client["client_id"]]
        assert request.choose and request.server == "" and request.choices == ("echo",)
        eng.consent.decide(request.id, False)


async def test_no_server_to_pick_is_refused_naming_the_fix(
    eng: Engine, http: httpx.AsyncClient
) -> None:
    """Nothing behind our sign-in to pick from: ``invalid_target`` naming the fix."""
    client = await register(http, eng)
    url = eng.server_url("echo")
    assert eng.auth.oauth is not None
    eng.auth.oauth.server_urls = list
    for resource, what in ((eng.base_url, "uses Switchboard's sign-in"), ("", "sign-in")):
        r = await http.get(
            f"{eng.base_url}/oauth/authorize",
            params=authorize_params(client["client_id"], url, resource=resource),
        )
        assert r.status_code == 302, r.text
        query = parse_qs(urlsplit(r.headers["location"]).query)
        assert query["error"] == ["invalid_target"]
        description = query["error_description"][0]
        assert what in description, description
        assert "oauth_resource" in description, description
        assert eng.server_url("open") not in description  # auth off: not ours to grant
        assert query["state"] == ["st"] and query["iss"] == [eng.base_url]
    assert eng.auth.broker.pending() == []


@pytest.mark.parametrize(
    ("host", "spelled"),
    [
        ("127.0.0.1:1", "127.0.0.1"),
        ("localhost:1", "localhost"),
        ("[::1]:1", "[::1]"),
        ("127.0.0.1", "127.0.0.1"),
    ],
)
async def test_urls_come_from_the_configured_listener_not_the_host_header(
    eng: Engine, http: httpx.AsyncClient, host: str, spelled: str
) -> None:
    """10.5: issuer, endpoints and the RFC 9728 resource use the listener's port; a Host
    naming another port changes nothing (only the loopback spelling is echoed)."""
    port = urlsplit(eng.base_url).port
    r = await http.get(
        f"{eng.base_url}/.well-known/oauth-authorization-server", headers={"Host": host}
    )
    assert r.status_code == 200, r.text
    meta = r.json()
    assert meta["issuer"] == eng.base_url
    for key, value in meta.items():
        if key.endswith(("_endpoint", "_uri")):
            assert value.startswith(eng.base_url + "/"), (key, value)
    r = await http.get(
        f"{eng.base_url}/.well-known/oauth-protected-resource/servers/echo/mcp",
        headers={"Host": host},
    )
    assert r.status_code == 200, r.text
    assert r.json()["resource"] == f"http://{spelled}:{port}/servers/echo/mcp"
    assert r.json()["authorization_servers"] == [eng.base_url]
    r = await http.post(
        eng.server_url("echo"),
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        headers={"Host": host, "accept": "application/json, text/event-stream"},
    )
    assert r.status_code == 401
    assert f":{port}/.well-known/oauth-protected-resource/" in r.headers["www-authenticate"]
