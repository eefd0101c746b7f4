"""10.2: a remembered approval is not a blank cheque for whoever knows the client id.

The real client is approved once with "remember". An impostor (any local process) that
knows the public client id starts its own authorization with a loopback redirect on
another port (RFC 8252 §7.3 lets the port vary) and its own PKCE verifier. It must get
no authorization code without a person's click (RFC 8252 §8.6): the request waits in
the broker, marked "previously approved"; deny or timeout give it no code. The real
client keeps working through its refresh token (rotation and reuse detection kept).
Real listener, real HTTP."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from switchboard.auth import connect_client
from switchboard.core.spec import ServerSpec
from switchboard.engine import Engine
from tests.conftest import fixture_cmd
from tests.helpers.oauth_flow import consent_form, continue_after_consent
from tests.unit.auth.tokens import b64, code_flow

pytestmark = pytest.mark.timeout(90)

REAL_REDIRECT = "http://127.0.0.1:40123/cb"
IMPOSTOR_REDIRECT = "http://127.0.0.1:40999/cb"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
        yield client


@pytest.fixture
async def eng(engine: Engine) -> Engine:
    cmd, args = fixture_cmd("echo_server.py")
    await engine.add_server(ServerSpec(name="echo", command=cmd, args=args))
    return engine


async def _impostor_authorize(
    http: httpx.AsyncClient, eng: Engine, client_id: str, state: str
) -> httpx.Response:
    verifier = "impostor-" + "x" * 50
    return await http.get(
        f"{eng.base_url}/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": IMPOSTOR_REDIRECT,
            "state": state,
            "code_challenge": b64(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
            "resource": eng.server_url("echo"),
        },
    )


def _no_code(response: httpx.Response) -> None:
    location = response.headers.get("location", "")
    assert "code=" not in location, location
    assert "code=" not in response.text


async def test_impostor_with_a_remembered_client_id_gets_no_code_without_a_click(
    eng: Engine, http: httpx.AsyncClient
) -> None:
    url = eng.server_url("echo")
    client, tokens = await code_flow(eng, http, url, redirect_uri=REAL_REDIRECT, remember=True)
    cid = client["client_id"]
    assert [c["server"] for c in (await eng.auth.list_grants())["consents"]] == ["echo"]

    # The impostor: same public client id, its own loopback port and PKCE verifier.
    page = await _impostor_authorize(http, eng, cid, "imp-1")
    _no_code(page)
    assert page.status_code == 200, page.headers
    [pending] = eng.consent.pending()
    assert pending.client_id == cid
    assert pending.redirect_uri == IMPOSTOR_REDIRECT
    assert pending.previously_approved  # shown as such; it does not approve by itself

    # It follows its own consent page: it waits for a person and gets nothing meanwhile.
    rid, csrf = consent_form(page)
    waiting = asyncio.ensure_future(continue_after_consent(http, eng.base_url, rid, csrf))
    await asyncio.sleep(0.5)
    assert not waiting.done()
    assert [r.id for r in eng.consent.pending()] == [rid]
    eng.consent.decide(rid, approve=False)
    denied = await waiting
    _no_code(denied)
    assert parse_qs(urlsplit(denied.headers["location"]).query)["error"] == ["access_denied"]

    # Nobody answers: the request times out, still no code.
    eng.consent.timeout = 0.3
    page = await _impostor_authorize(http, eng, cid, "imp-2")
    _no_code(page)
    assert page.status_code == 200
    rid, csrf = consent_form(page)
    expired = await continue_after_consent(http, eng.base_url, rid, csrf)
    _no_code(expired)
    assert parse_qs(urlsplit(expired.headers["location"]).query)["error"] == ["access_denied"]
    assert eng.consent.pending() == []

    # The real client needs no new authorization: its refresh token still works and
    # rotates; the old one coming back revokes the grant (RFC 9700 §4.14.2).
    form = {"grant_type": "refresh_token", "client_id": cid, "resource": url}
    r = await http.post(
        f"{eng.base_url}/oauth/token", data={**form, "refresh_token": tokens["refresh_token"]}
    )
    assert r.status_code == 200, r.text
    rotated = r.json()["refresh_token"]
    assert rotated != tokens["refresh_token"]
    r = await http.post(
        f"{eng.base_url}/oauth/token", data={**form, "refresh_token": tokens["refresh_token"]}
    )
    assert r.status_code == 400
    r = await http.post(f"{eng.base_url}/oauth/token", data={**form, "refresh_token": rotated})
    assert r.status_code == 400  # the whole grant was revoked on reuse

    # The first-party client (client credentials, `switchboard connect`) needs no prompt.
    token = await connect_client.aget_token(eng.paths, "echo", secret_store=eng.auth.secret_store)
    principal = await eng.auth.authenticate(
        server=eng.config.server("echo"), resource=url, authorization=f"Bearer {token}"
    )
    assert principal.client_id == connect_client.CLIENT_ID
    assert eng.consent.pending() == []
