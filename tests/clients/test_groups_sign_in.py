"""Every URL-form client connected to a group (``switchboard client connect CLIENT
--group work``) signs in to the group as it signs in to a server: its entry points at
``/groups/work/mcp``, and its replayed OAuth requests (tests/clients/replay.py, the same
shapes as each client's own replay module) reach a token for the group's URL: with the
RFC 8707 resource it sends, or, for the clients that send none or only the origin, by the
person picking the group in the "choose servers" consent. The token opens the group and
none of its member servers; no JWKS is ever fetched."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from switchboard.clients.known_clients import BY_ID, KINDS, HostEnv
from switchboard.clients.manager import ClientManager
from switchboard.core.group import GroupSpec
from switchboard.engine import Engine
from tests.clients.replay import (
    Shape,
    authorize,
    exchange_code,
    pkce,
    reach_token,
    register,
    status_with,
)
from tests.clients.test_replay_claude_code import CLAUDE_CODE
from tests.clients.test_replay_cline import CLINE
from tests.clients.test_replay_codex import codex
from tests.clients.test_replay_continue import CONTINUE
from tests.clients.test_replay_cursor import CURSOR
from tests.clients.test_replay_gemini_cli import GEMINI
from tests.clients.test_replay_goose import GOOSE_RMCP
from tests.clients.test_replay_opencode import OPENCODE
from tests.clients.test_replay_vscode import VSCODE
from tests.clients.test_replay_vscode_insiders import insiders
from tests.helpers.oauth_flow import consent_form, continue_after_consent

pytestmark = pytest.mark.timeout(90)

SHAPES: dict[str, Shape | None] = {
    "cursor": CURSOR,
    "vscode": VSCODE,
    "claude-code": CLAUDE_CODE,
    "gemini": GEMINI,
    "continue": CONTINUE,
    "cline": CLINE,
    "opencode": OPENCODE,
    "goose": GOOSE_RMCP,
    "codex": None,  # its redirect URI depends on the URL: codex(url)
    "vscode-insiders": None,  # built from the group's RFC 9728 metadata: insiders()
}


def test_every_url_form_client_is_replayed_against_a_group() -> None:
    assert set(SHAPES) == {k.id for k in KINDS if k.form == "url"}


def written_entry_text(manager: ClientManager, client_id: str) -> str:
    path = manager.config_path(BY_ID[client_id])
    return path.read_text("utf-8")


@pytest.mark.parametrize("client_id", list(SHAPES))
async def test_client_connected_to_a_group_signs_in_to_the_group(
    engine: Engine,
    http: httpx.AsyncClient,
    url: str,
    other_url: str,
    tmp_path: Path,
    client_id: str,
) -> None:
    await engine.add_group(GroupSpec(name="work", servers=("echo", "notes")))
    group_url = engine.group_url("work")
    # What `client connect CLIENT --group work` writes: one entry, at the group's URL.
    manager = ClientManager(
        engine.paths, host=HostEnv("linux", tmp_path / "me", {}), connect_command=("/sb",)
    )
    report = manager.connect(client_id, {}, group="work", groups={"work": group_url})
    assert report.added == ("work",)
    text = written_entry_text(manager, client_id)
    assert group_url in text and "/servers/" not in text and "work" in text

    shape = SHAPES[client_id]
    if client_id == "codex":
        shape = codex(group_url)
    elif client_id == "vscode-insiders":
        shape = await insiders(http, engine, group_url)
    assert shape is not None
    if shape.resource == "url":
        await reach_token(http, engine, shape, group_url)
        [grant] = (await engine.auth.list_grants())["grants"]
        assert grant["server"] == "group:work" and grant["resource"] == group_url
        token = await token_for_group_again(http, engine, shape, group_url)
    else:
        token = await pick_the_group(http, engine, shape, group_url)
    assert await status_with(group_url, token) == 200
    # The legacy endpoint takes it too (a POST there is not how SSE starts: not a 401).
    assert await status_with(group_url.removesuffix("/mcp") + "/sse", token) != 401
    assert await status_with(url, token) == 401
    assert await status_with(other_url, token) == 401
    assert engine.auth.jwks_fetches == 0 and engine.auth.jwks_requests == 0


async def token_for_group_again(
    http: httpx.AsyncClient, engine: Engine, shape: Shape, group_url: str
) -> str:
    """A second sign-in of the same shape, keeping the token (reach_token does not
    return it): the consent names the group and its servers."""
    client = await register(http, engine, shape)
    verifier, challenge = pkce()
    page = await authorize(http, engine, shape, client, group_url, challenge)
    assert page.status_code == 200, page.text
    rid, csrf = consent_form(page)
    request = engine.consent.get(rid)
    assert request is not None and request.server == "group:work"
    assert request.target == "group work (servers: echo, notes)"
    engine.consent.decide(rid, True)
    resp = await continue_after_consent(http, engine.base_url, rid, csrf)
    assert resp.status_code == 303, resp.text
    token = await exchange_code(
        http, engine, shape, group_url, client, verifier, str(resp.headers["location"])
    )
    return str(token["access_token"])


async def pick_the_group(
    http: httpx.AsyncClient, engine: Engine, shape: Shape, group_url: str
) -> str:
    """A client that names no resource (or only the origin): the person picks the group
    among the servers; the token's audience is the group's URL."""
    client = await register(http, engine, shape)
    verifier, challenge = pkce()
    page = await authorize(http, engine, shape, client, group_url, challenge)
    assert page.status_code == 200, page.text
    assert "--group NAME" in page.text
    rid, csrf = consent_form(page)
    request = engine.consent.get(rid)
    assert request is not None and request.choose
    assert set(request.choices) == {"echo", "notes", "group:work"}
    assert request.describe("group:work") == "group work (servers: echo, notes)"
    assert engine.consent.decide(rid, True, servers=["group:work"])
    resp = await continue_after_consent(http, engine.base_url, rid, csrf)
    assert resp.status_code == 303, resp.text
    token = await exchange_code(
        http, engine, shape, group_url, client, verifier, str(resp.headers["location"])
    )
    [grant] = (await engine.auth.list_grants())["grants"]
    assert grant["server"] == "group:work" and grant["resource"] == group_url
    return str(token["access_token"])
