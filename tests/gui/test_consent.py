"""The consent dialog decides a real ConsentBroker request."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from switchboard.auth.consent import ConsentBroker, ConsentRequest, Decision
from switchboard.core.paths import AppPaths
from switchboard.ui.consent import ConsentDialog, ConsentPresenter
from tests.gui.conftest import consent_broker, running, until


def _open(broker: ConsentBroker, host: str = "127.0.0.1") -> ConsentRequest:
    return broker.open(
        client_id="client-123",
        client_name="Cursor",
        redirect_uri=f"http://{host}:5555/cb",
        redirect_host=host,
        server="github",
        resource="http://127.0.0.1:8765/servers/github/mcp",
        scopes=("mcp", "offline_access"),
    )


async def test_the_dialog_shows_the_request_and_approves_with_remember(
    paths: AppPaths, qtbot: QtBot
) -> None:
    async with running(paths, with_broker=True) as (engine, bridge):
        broker = consent_broker(engine)
        presenter = ConsentPresenter(bridge, parent=bridge)
        shown: list[ConsentDialog] = []
        presenter.shown.connect(shown.append)
        req = _open(broker)
        waiting = asyncio.ensure_future(broker.wait(req.id))
        await asyncio.sleep(0)  # the authorize endpoint waits right after open()
        await until(lambda: shown)
        dialog = shown[0]
        assert dialog.isVisible()
        assert dialog.client_label.text() == "Cursor"
        assert dialog.host_label.text() == "127.0.0.1"
        assert dialog.server_label.text() == "github"
        assert "Stay connected" in dialog.scopes_label.text()
        assert dialog.deny_button.isDefault() and not dialog.approve_button.isDefault()
        dialog.remember.setChecked(True)
        qtbot.mouseClick(dialog.approve_button, Qt.MouseButton.LeftButton)
        assert await waiting == (Decision.APPROVED, True)
        assert broker.pending() == []


async def test_escape_denies(paths: AppPaths, qtbot: QtBot) -> None:
    async with running(paths, with_broker=True) as (engine, bridge):
        broker = consent_broker(engine)
        presenter = ConsentPresenter(bridge, parent=bridge)
        req = _open(broker, host="evil.example")
        waiting = asyncio.ensure_future(broker.wait(req.id))
        await asyncio.sleep(0)  # the authorize endpoint waits right after open()
        await until(lambda: presenter.dialogs)
        dialog = presenter.dialogs[req.id]
        assert dialog.remote_warning is not None
        assert "not this computer" in dialog.remote_warning.text()
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        assert await waiting == (Decision.DENIED, False)
        assert presenter.dialogs == {}


async def test_requests_pending_before_the_ui_existed_are_shown(paths: AppPaths) -> None:
    async with running(paths, with_broker=True) as (engine, bridge):
        req = _open(consent_broker(engine))
        presenter = ConsentPresenter(bridge, parent=bridge)
        await until(lambda: req.id in presenter.dialogs)
        presenter.dialogs[req.id].reject()


def test_loopback_hosts() -> None:
    from switchboard.ui.consent import is_loopback

    for host in ("127.0.0.1", "127.0.0.1:5555", "localhost:80", "[::1]:8080", "::1"):
        assert is_loopback(host), host
    for host in ("evil.example", "10.0.0.5:80", "localhost.evil.example", "[bad"):
        assert not is_loopback(host), host
