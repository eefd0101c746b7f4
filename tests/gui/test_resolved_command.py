"""The detail pane shows what runs beside the command as written (issue 16.1)."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from switchboard.core.paths import AppPaths
from switchboard.core.spec import ServerSpec
from switchboard.core.state import ServerState
from switchboard.packages import PackageError
from switchboard.ui.mainwindow import MainWindow
from tests.conftest import fixture_cmd
from tests.gui.conftest import running, until
from tests.helpers.resolvers import FakeResolver


async def test_detail_shows_the_resolved_command(paths: AppPaths, qtbot: QtBot) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    resolver = FakeResolver([cmd, *args])
    async with running(paths, command_resolver=resolver) as (engine, bridge):
        win = MainWindow(bridge, paths=paths, tray_available=True)
        qtbot.addWidget(win)
        win.show()
        await engine.add_server(ServerSpec("pkg", "npx", ("-y", "some-pkg@1.0.0")))
        await engine.start_server("pkg")
        win.table.selectRow(0)
        await until(lambda: win.detail.name == "pkg")
        await until(lambda: win.detail.runs_as.isVisible())
        assert win.detail.runs_as.text().startswith("Runs as: ")
        assert "echo_server.py" in win.detail.runs_as.text()
        # The settings form keeps the command as the person wrote it.
        assert win.detail.form.command.text() == "npx"
        assert win.detail.form.args.text() == "-y some-pkg@1.0.0"


async def test_detail_shows_the_fallback_notice(paths: AppPaths, qtbot: QtBot) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    resolver = FakeResolver(error=PackageError("npm install failed: E404.", hint="Check it."))
    async with running(paths, command_resolver=resolver) as (engine, bridge):
        win = MainWindow(bridge, paths=paths, tray_available=True)
        qtbot.addWidget(win)
        win.show()
        await engine.add_server(ServerSpec("lit", cmd, args))
        status = await engine.start_server("lit")
        assert status.state is ServerState.RUNNING
        win.table.selectRow(0)
        await until(lambda: win.detail.name == "lit" and win.detail.runs_as.isVisible())
        assert "E404" in win.detail.runs_as.text()
        assert "running the command as written" in win.detail.runs_as.text()


async def test_detail_offers_a_newer_catalog_version(paths: AppPaths, qtbot: QtBot) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    resolver = FakeResolver([cmd, *args])
    old = "@modelcontextprotocol/server-everything@2025.1.1"
    async with running(paths, command_resolver=resolver) as (engine, bridge):
        win = MainWindow(bridge, paths=paths, tray_available=True)
        qtbot.addWidget(win)
        win.show()
        await engine.add_server(ServerSpec("everything", "npx", ("-y", old, "stdio")))
        win.table.selectRow(0)
        await until(lambda: win.detail.update_button.isVisible(), what="the update button")
        assert win.detail.update_button.text() == "Update to 2026.8.31"
        win.detail.update_button.click()
        new = "@modelcontextprotocol/server-everything@2026.8.31"
        await until(lambda: engine.config.server("everything").args == ("-y", new, "stdio"))
        await until(lambda: not win.detail.update_button.isVisible())
        assert engine.config.server("everything").command == "npx"
