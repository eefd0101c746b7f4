"""Headless: a request that named no server is approved with ``switchboard consent
approve ID --server NAME [--server NAME]`` against a real engine; without a pick it is
refused with what to do. The grant covers the picked servers as one approval: listed
as one row, revoked as a whole; remembering it never answers a new request by itself."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from switchboard.auth.consent import ChoiceRequired
from switchboard.cli import main as cli_main
from switchboard.core.group import GroupSpec
from switchboard.engine import Engine
from tests.clients.replay import Shape, authorize, pkce, register, status_with
from tests.helpers.oauth_flow import consent_form, continue_after_consent

REDIRECT = "http://127.0.0.1:51234/oauth_callback"
RMCP = Shape(
    registration={
        "client_name": "goose",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
        "response_types": ["code"],
    },
    redirect_uri=REDIRECT,
    resource="none",
    token_resource=False,
)


async def test_cli_picks_servers_and_the_grant_is_one_approval(
    engine: Engine,
    http: httpx.AsyncClient,
    url: str,
    other_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = str(Path(engine.paths.config_dir).parent)

    async def cli(*argv: str, ok: bool = True) -> str:
        code = await asyncio.to_thread(cli_main, ["--home", home, *argv])
        out = capsys.readouterr()
        assert (code == 0) is ok, (code, out.err)
        return out.out if ok else out.err

    client = await register(http, engine, RMCP)
    verifier, challenge = pkce()
    page = await authorize(http, engine, RMCP, client, url, challenge)
    assert page.status_code == 200, page.text
    rid, csrf = consent_form(page)
    listing = await cli("consent", "list")
    assert f"{rid}  goose -> (choose servers)" in listing
    assert "approve with --server NAME" in listing and "echo, notes" in listing
    refused = await cli("consent", "approve", rid, ok=False)
    assert "did not say which server" in refused and "--server NAME" in refused
    assert "echo, notes" in refused
    refused = await cli("consent", "approve", rid, "--server", "nope", ok=False)
    assert "Not a server this request can be approved for: nope" in refused
    assert engine.consent.get(rid) is not None  # still waiting for the person
    said = await cli(
        "consent", "approve", rid, "--server", "echo", "--server", "notes", "--remember"
    )
    assert f"Approved {rid} for echo, notes." in said
    r = await continue_after_consent(http, engine.base_url, rid, csrf)
    assert r.status_code == 303, r.text
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    r = await http.post(
        f"{engine.base_url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": client["client_id"],
            "code_verifier": verifier,
        },
    )
    assert r.status_code == 200, r.text
    token = r.json()
    assert await status_with(url, token["access_token"]) == 200
    assert await status_with(other_url, token["access_token"]) == 200
    # RFC 7662: the refresh token carries the picked set.
    r = await http.post(
        f"{engine.base_url}/oauth/introspect",
        data={"token": token["refresh_token"], "client_id": client["client_id"]},
    )
    assert r.json()["aud"] == [url, other_url]

    listed = json.loads(await cli("grants", "list", "--json"))
    [grant] = listed["grants"]
    assert grant["servers"] == ["echo", "notes"] and grant["remembered"] is True
    table = await cli("grants", "list")
    row = table.splitlines()[1]
    assert "echo, notes" in row and "/servers/echo/mcp, /servers/notes/mcp" in row
    assert {(c["server"]) for c in listed["consents"]} == {"echo", "notes"}

    # Remembered: a new authorization still asks (and still asks which servers).
    _, challenge = pkce()
    again = await authorize(http, engine, RMCP, client, url, challenge)
    assert again.status_code == 200, again.text
    rid2, _ = consent_form(again)
    pending = engine.consent.get(rid2)
    assert pending is not None and pending.choose and not pending.previously_approved
    engine.consent.decide(rid2, False)

    assert "Revoked" in await cli("grants", "revoke", grant["id"])
    assert "No grants." in await cli("grants", "list")  # both remembered consents gone
    for target in (url, other_url):
        assert await status_with(target, token["access_token"]) == 401
    r = await http.post(
        f"{engine.base_url}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": client["client_id"],
        },
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


async def test_a_request_for_one_server_takes_no_other_server(
    engine: Engine, http: httpx.AsyncClient, url: str, other_url: str
) -> None:
    shape = Shape(registration=RMCP.registration, redirect_uri=REDIRECT)
    client = await register(http, engine, shape)
    _, challenge = pkce()
    page = await authorize(http, engine, shape, client, url, challenge)
    rid, _ = consent_form(page)
    request = engine.consent.get(rid)
    assert request is not None and not request.choose and request.server == "echo"
    with pytest.raises(ChoiceRequired, match="for the server 'echo' only"):
        engine.consent.decide(rid, True, servers=["notes"])
    assert engine.consent.decide(rid, True, servers=["echo"])


async def test_cli_picks_a_group_and_grants_list_names_it(
    engine: Engine,
    http: httpx.AsyncClient,
    url: str,
    other_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``consent list`` shows the groups among the choices with their servers;
    ``consent approve ID --group NAME`` grants the group's URL, not its servers'."""
    home = str(Path(engine.paths.config_dir).parent)
    await engine.add_group(GroupSpec(name="work", servers=("echo", "notes")))
    group_url = engine.group_url("work")

    async def cli(*argv: str, ok: bool = True) -> str:
        code = await asyncio.to_thread(cli_main, ["--home", home, *argv])
        out = capsys.readouterr()
        assert (code == 0) is ok, (code, out.err)
        return out.out if ok else out.err

    client = await register(http, engine, RMCP)
    verifier, challenge = pkce()
    page = await authorize(http, engine, RMCP, client, url, challenge)
    rid, csrf = consent_form(page)
    listing = await cli("consent", "list")
    assert "approve with --server NAME or --group NAME" in listing
    assert "echo, notes, group work (servers: echo, notes)" in listing
    refused = await cli("consent", "approve", rid, "--group", "home", ok=False)
    assert "Not a server this request can be approved for: group home" in refused
    said = await cli("consent", "approve", rid, "--group", "work")
    assert f"Approved {rid} for group work." in said
    r = await continue_after_consent(http, engine.base_url, rid, csrf)
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    r = await http.post(
        f"{engine.base_url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": client["client_id"],
            "code_verifier": verifier,
        },
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert await status_with(group_url, token) == 200
    assert await status_with(url, token) == 401
    rows = await cli("grants", "list")
    assert "group work" in rows and "/groups/work/mcp" in rows
