"""The window's sign-in row of a remote server (issue 18): needs sign-in is its own
state with a Sign in button; clicking it runs the browser flow (a scripted browser
against the OAuth-protected fixture built from the mcp SDK) and the row then says who
is signed in; Sign out brings back "needs sign-in"."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from switchboard.clients.known_clients import HostEnv
from switchboard.clients.manager import ClientManager
from switchboard.core.paths import AppPaths
from switchboard.core.spec import ServerSpec, Transport
from switchboard.core.state import ServerState
from switchboard.ui.engine_bridge import EngineBridge
from switchboard.ui.mainwindow import MainWindow
from tests.conftest import make_test_engine
from tests.gui.conftest import until
from tests.helpers.remote_fixture import ScriptedBrowser, remote_fixture


async def test_sign_in_row_signs_in_and_out(paths: AppPaths, qtbot: QtBot) -> None:
    manager = ClientManager(
        paths, host=HostEnv("linux", paths.data_dir / "fakehome", {}), connect_command=("/sb",)
    )
    async with remote_fixture() as fx:
        engine = make_test_engine(paths, client_manager=manager, browser=ScriptedBrowser())
        await engine.start()
        bridge = EngineBridge(engine, log_flush_ms=10)
        try:
            await engine.add_server(
                ServerSpec(name="fx", transport=Transport.STREAMABLE_HTTP, url=fx.url, remote=True)
            )
            await engine.add_server(ServerSpec(name="local", command="cat"))
            await engine.start_server("fx")
            win = MainWindow(bridge, paths=paths)
            qtbot.addWidget(win)
            win.show()
            win.detail.show_server("local")
            assert not win.detail.signin.isVisible()  # local servers have no sign-in row
            win.detail.show_server("fx")
            row = win.detail.signin
            assert row.isVisible()
            assert win.detail.state_text.text() == "Needs sign-in"
            assert "needs sign-in" in row.text.text() and not row.sign_out.isEnabled()
            assert not win.detail.failure.isVisible()  # not a failure

            row.sign_in.click()
            await until(lambda: engine.status("fx").state is ServerState.RUNNING)
            await until(lambda: row.sign_out.isEnabled(), what="signed-in row")
            assert row.text.text().startswith("Signed in")
            assert "renewed automatically" in row.text.text()
            await until(lambda: win.detail.state_text.text().startswith("Running"))

            row.sign_out.click()
            await until(lambda: engine.status("fx").state is ServerState.NEEDS_SIGN_IN)
            await until(lambda: "needs sign-in" in row.text.text(), what="signed-out row")
        finally:
            await bridge.drain()
            bridge.close()
            await engine.aclose()


async def test_losing_the_sign_in_is_notified_once(qtbot: QtBot, tmp_path: Path) -> None:
    from switchboard.core.events import StateChanged
    from switchboard.ui.notify import Channel, Notifier
    from tests.gui.notify_bus import HAVE_DBUS_DAEMON, private_bus

    if not HAVE_DBUS_DAEMON:
        pytest.skip("needs dbus-daemon (scripts/bootstrap.sh installs it)")
    lines: list[str] = []
    channels: list[Channel] = []
    async with private_bus(tmp_path) as bus:
        notifier = Notifier(open_target=lambda _n: None, status_line=lines.append, service=bus)
        notifier.sent.connect(lambda _n, ch: channels.append(ch))
        try:
            lost = StateChanged("fx", ServerState.RUNNING, ServerState.NEEDS_SIGN_IN, "revoked.")
            notifier._on_state(lost)
            # Never signed in yet (a fresh start): no notification, the window says it.
            notifier._on_state(
                StateChanged("fy", ServerState.STARTING, ServerState.NEEDS_SIGN_IN, "")
            )
            await until(lambda: channels, what="a notification")
            assert lines == [
                "fx needs you to sign in again. revoked. Open Switchboard and click Sign in."
            ]
        finally:
            await notifier.aclose()
