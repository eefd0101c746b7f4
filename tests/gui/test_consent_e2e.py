"""The consent dialog in the real OAuth flow: the mcp SDK client registers, opens the
authorize URL (our "browser" fetches it), the dialog pops up, the person clicks Approve
(or Deny), and the client gets a token (or none) and calls a tool through the gateway."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, ServerSpec
from switchboard.engine import Engine
from switchboard.ui.consent import ConsentDialog, ConsentPresenter
from tests.conftest import fixture_cmd
from tests.gui.conftest import running, until

pytestmark = pytest.mark.timeout(90)
REDIRECT = "http://127.0.0.1:53682/callback"


class Storage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class PersonAtTheDialog:
    """The browser opens the authorize page; the person answers in the Qt dialog."""

    def __init__(
        self, engine: Engine, presenter: ConsentPresenter, qtbot: QtBot, approve: bool
    ) -> None:
        self.engine, self.presenter, self.qtbot, self.approve = engine, presenter, qtbot, approve
        self.dialogs: list[ConsentDialog] = []
        presenter.shown.connect(self.dialogs.append)
        self.location = ""
        self.seen: list[tuple[str, str, str]] = []
        """(client, redirect host, server) as the dialog showed them"""

    async def redirect_handler(self, url: str) -> None:
        async with httpx.AsyncClient(trust_env=False) as http:
            page = await http.get(url)
            assert page.status_code == 200, page.text
            rid = re.search(r'name="request_id" value="([^"]+)"', page.text)
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert rid and csrf
            await until(lambda: self.dialogs, what="the consent dialog")
            dialog = self.dialogs[-1]
            assert dialog.request.id == rid.group(1)
            self.seen.append(
                (dialog.client_label.text(), dialog.host_label.text(), dialog.server_label.text())
            )
            assert dialog.remote_warning is None  # the redirect goes to this computer
            button = dialog.approve_button if self.approve else dialog.deny_button
            self.qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
            resp = await http.post(
                f"{self.engine.base_url}/oauth/authorize/continue",
                data={"request_id": rid.group(1), "csrf_token": csrf.group(1)},
            )
            assert resp.status_code == 303, resp.text
            self.location = resp.headers["location"]

    async def callback_handler(self) -> AuthorizationCodeResult:
        query = parse_qs(urlsplit(self.location).query)
        if "error" in query:
            raise PermissionError(query["error"][0])
        return AuthorizationCodeResult(
            code=query["code"][0], state=query.get("state", [None])[0], iss=query["iss"][0]
        )


def _provider(url: str, person: PersonAtTheDialog, storage: Storage) -> OAuthClientProvider:
    return OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="GUI e2e client",
            redirect_uris=[REDIRECT],  # type: ignore[list-item]
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
        ),
        storage=storage,
        redirect_handler=person.redirect_handler,
        callback_handler=person.callback_handler,
    )


async def test_approve_in_the_dialog_gives_the_client_a_working_token(
    paths: AppPaths, qtbot: QtBot
) -> None:
    async with running(paths) as (engine, bridge):
        cmd, args = fixture_cmd("echo_server.py")
        spec = ServerSpec(name="echo", command=cmd, args=args, auth=AuthMode.SWITCHBOARD)
        await engine.add_server(spec)
        await engine.start_server("echo")
        url = engine.server_url("echo")
        presenter = ConsentPresenter(bridge, parent=bridge)
        person = PersonAtTheDialog(engine, presenter, qtbot, approve=True)
        storage = Storage()
        async with (
            httpx2.AsyncClient(auth=_provider(url, person, storage), timeout=30) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            result = await client.call_tool("echo", {"text": "approved in Qt"})
            block = result.content[0]
            assert isinstance(block, types.TextContent) and block.text == "approved in Qt"
        assert person.seen == [("GUI e2e client", "127.0.0.1:53682", "echo")]
        assert storage.tokens is not None
        grants = await bridge.list_grants()
        assert [(g.client_name, g.server) for g in grants] == [("GUI e2e client", "echo")]
        await engine.stop_server("echo")


async def test_deny_in_the_dialog_gives_no_token(paths: AppPaths, qtbot: QtBot) -> None:
    async with running(paths) as (engine, bridge):
        cmd, args = fixture_cmd("echo_server.py")
        spec = ServerSpec(name="echo", command=cmd, args=args, auth=AuthMode.SWITCHBOARD)
        await engine.add_server(spec)
        await engine.start_server("echo")
        url = engine.server_url("echo")
        presenter = ConsentPresenter(bridge, parent=bridge)
        person = PersonAtTheDialog(engine, presenter, qtbot, approve=False)
        storage = Storage()
        with pytest.raises(BaseException) as info:
            async with (
                httpx2.AsyncClient(auth=_provider(url, person, storage), timeout=30) as http,
                Client(streamable_http_client(url, http_client=http)) as client,
            ):
                await client.call_tool("echo", {"text": "must not arrive"})
        assert "access_denied" in repr(info.value) or "PermissionError" in repr(info.value)
        assert storage.tokens is None
        assert await bridge.list_grants() == []
        await engine.stop_server("echo")
