"""The consent dialog in the real OAuth flow: the mcp SDK client registers, opens the
authorize URL (our "browser" fetches it), the dialog pops up, the person clicks Approve
(or Deny), and the client gets a token (or none) and calls a tool through the gateway."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, ServerSpec
from switchboard.engine import Engine
from switchboard.ui.consent import ConsentDialog, ConsentPresenter
from switchboard.ui.engine_bridge import EngineBridge
from tests.conftest import fixture_cmd
from tests.gui.conftest import running, until
from tests.helpers.oauth_flow import ConsentBrowser, MemoryTokenStorage, sdk_provider

pytestmark = pytest.mark.timeout(90)


class PersonAtTheDialog(ConsentBrowser):
    """The browser opens the authorize page; the person answers in the Qt dialog."""

    def __init__(
        self, engine: Engine, presenter: ConsentPresenter, qtbot: QtBot, approve: bool
    ) -> None:
        super().__init__(engine)
        self.presenter, self.qtbot, self.approve = presenter, qtbot, approve
        self.dialogs: list[ConsentDialog] = []
        presenter.shown.connect(self.dialogs.append)
        self.seen: list[tuple[str, str, str]] = []
        """(client, redirect URI, server) as the dialog showed them"""

    async def answer(self, page: httpx.Response, request_id: str) -> None:
        await until(lambda: self.dialogs, what="the consent dialog")
        dialog = self.dialogs[-1]
        assert dialog.request.id == request_id
        self.seen.append(
            (dialog.client_label.text(), dialog.redirect_label.text(), dialog.server_label.text())
        )
        assert dialog.remote_warning is None  # the redirect goes to this computer
        button = dialog.approve_button if self.approve else dialog.deny_button
        self.qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


@contextlib.asynccontextmanager
async def echo_behind_the_dialog(
    paths: AppPaths, qtbot: QtBot, approve: bool
) -> AsyncIterator[tuple[EngineBridge, str, PersonAtTheDialog, MemoryTokenStorage]]:
    """A running engine with the echo server on our authorization, and the person at
    the consent dialog: (bridge, MCP URL, person, the client's token storage)."""
    async with running(paths) as (engine, bridge):
        cmd, args = fixture_cmd("echo_server.py")
        spec = ServerSpec(name="echo", command=cmd, args=args, auth=AuthMode.SWITCHBOARD)
        await engine.add_server(spec)
        await engine.start_server("echo")
        presenter = ConsentPresenter(bridge, parent=bridge)
        person = PersonAtTheDialog(engine, presenter, qtbot, approve=approve)
        yield bridge, engine.server_url("echo"), person, MemoryTokenStorage()
        await engine.stop_server("echo")


async def test_approve_in_the_dialog_gives_the_client_a_working_token(
    paths: AppPaths, qtbot: QtBot
) -> None:
    async with echo_behind_the_dialog(paths, qtbot, approve=True) as (
        bridge,
        url,
        person,
        storage,
    ):
        async with (
            httpx2.AsyncClient(
                auth=sdk_provider(url, person, storage, "GUI e2e client"), timeout=30
            ) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            result = await client.call_tool("echo", {"text": "approved in Qt"})
            block = result.content[0]
            assert isinstance(block, types.TextContent) and block.text == "approved in Qt"
        assert person.seen == [("GUI e2e client", "http://127.0.0.1:53682/callback", "echo")]
        assert storage.tokens is not None
        grants = await bridge.list_grants()
        assert [(g.client_name, g.server) for g in grants] == [("GUI e2e client", "echo")]


async def test_deny_in_the_dialog_gives_no_token(paths: AppPaths, qtbot: QtBot) -> None:
    async with echo_behind_the_dialog(paths, qtbot, approve=False) as (
        bridge,
        url,
        person,
        storage,
    ):
        with pytest.raises(BaseException) as info:
            async with (
                httpx2.AsyncClient(
                    auth=sdk_provider(url, person, storage, "GUI e2e client"), timeout=30
                ) as http,
                Client(streamable_http_client(url, http_client=http)) as client,
            ):
                await client.call_tool("echo", {"text": "must not arrive"})
        assert "access_denied" in repr(info.value) or "PermissionError" in repr(info.value)
        assert storage.tokens is None
        assert await bridge.list_grants() == []
