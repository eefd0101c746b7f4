"""The main window against a real engine and real server processes."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from switchboard.core.paths import AppPaths
from switchboard.core.spec import RestartPolicy, ServerSpec
from switchboard.core.state import ServerState
from switchboard.ui.mainwindow import MainWindow
from switchboard.ui.models import Column
from tests.conftest import fixture_cmd
from tests.gui.conftest import running, until
from tests.helpers.keyrings import MemoryKeyringBackend


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_add_start_log_copy_stop(paths: AppPaths, qtbot: QtBot) -> None:
    async with running(paths) as (engine, bridge):
        win = MainWindow(bridge, paths=paths, tray_available=True)
        qtbot.addWidget(win)
        win.show()
        assert win.detail_stack.currentWidget() is win.empty

        # Add through the dialog, with "Add and start".
        dialog = win.open_add_dialog()
        cmd, args = fixture_cmd("echo_server.py")
        dialog.form.name.setText("echo")
        dialog.form.command.setText(cmd)
        dialog.form.args.setText(" ".join(args))
        qtbot.mouseClick(dialog.add_start_button, Qt.MouseButton.LeftButton)
        await until(lambda: (s := bridge.status("echo")) and s.state is ServerState.RUNNING)
        pid = bridge.status("echo").pid  # type: ignore[union-attr]
        assert pid and _alive(pid)
        assert engine.config.server("echo").args == args
        assert win.model.names() == ["echo"]
        assert win.detail_stack.currentWidget() is win.detail
        assert win.detail.title.text() == "echo"
        assert win.detail.toggle.text() == "&Stop"

        # The live log shows the server's own stderr line.
        await until(
            lambda: f"echo server ready pid={pid}" in win.detail.log_view.visible_text(),
            what="the server's stderr in the log view",
        )
        win.detail.log_view.search.setText("no such text")
        assert win.detail.log_view.visible_text() == ""
        win.detail.log_view.search.setText("")

        # Copy the MCP URL with the detail button.
        qtbot.mouseClick(win.detail.copy_url, Qt.MouseButton.LeftButton)
        assert QGuiApplication.clipboard().text() == engine.server_url("echo")

        # Its tree's memory (issue 16.3): in the table and, as the total, the status bar.
        await engine.supervisor.sample_memory()  # the sampler task's work, without waiting
        win.model.tick()
        assert "MiB" in win.model.index(0, Column.MEMORY).data()
        assert "Memory " in win.status_text.text() and "MiB" in win.status_text.text()

        # Stop from the detail pane: the process is gone.
        qtbot.mouseClick(win.detail.toggle, Qt.MouseButton.LeftButton)
        await until(lambda: bridge.status("echo").state is ServerState.STOPPED)  # type: ignore[union-attr]
        await until(lambda: not _alive(pid), what=f"pid {pid} to exit")
        assert win.detail.toggle.text() == "&Start"
        assert "0 of 1 server running" in win.status_text.text()


async def test_settings_tab_saves_an_edit_and_restarts_a_running_server(
    paths: AppPaths, qtbot: QtBot
) -> None:
    async with running(paths) as (engine, bridge):
        cmd, args = fixture_cmd("echo_server.py")
        await engine.add_server(ServerSpec(name="echo", command=cmd, args=args))
        await engine.start_server("echo")
        first = engine.status("echo").pid
        win = MainWindow(bridge, paths=paths)
        qtbot.addWidget(win)
        detail = win.detail
        assert detail.name == "echo" and not detail.save.isEnabled()
        detail.form.env.add_row("ECHO_SECRET", "visible")
        assert detail.save.isEnabled()
        detail.form.timeout.setValue(0)
        assert not detail.save.isEnabled() and "timeout" in detail.form.error.text().lower()
        detail.form.timeout.setValue(45)
        qtbot.mouseClick(detail.save, Qt.MouseButton.LeftButton)
        await until(lambda: engine.config.server("echo").request_timeout == 45)
        assert engine.config.server("echo").env == {"ECHO_SECRET": "visible"}
        await until(
            lambda: (
                (s := engine.status("echo")).pid not in (None, first)
                and s.state is ServerState.RUNNING
            )
        )
        await until(lambda: "secret=visible" in detail.log_view.visible_text())
        await engine.stop_server("echo")


async def test_a_failed_server_explains_itself(paths: AppPaths, qtbot: QtBot) -> None:
    async with running(paths) as (engine, bridge):
        cmd, args = fixture_cmd("crash_loop.py")
        fast = RestartPolicy(initial_delay=0.01, max_delay=0.02, max_restarts=1)
        await engine.add_server(ServerSpec(name="broken", command=cmd, args=args, restart=fast))
        win = MainWindow(bridge, paths=paths)
        qtbot.addWidget(win)
        win.show()
        await engine.start_server("broken")
        await until(lambda: engine.status("broken").state is ServerState.FAILED)
        await until(lambda: win.detail.failure.isVisible())
        assert "exit code 7" in win.detail.failure.text()


async def test_errors_show_in_the_banner(paths: AppPaths, qtbot: QtBot) -> None:
    async with running(paths) as (engine, bridge):
        await engine.add_server(ServerSpec(name="ghost", command="no-such-command-xyz"))
        win = MainWindow(bridge, paths=paths)
        qtbot.addWidget(win)
        win.show()
        qtbot.mouseClick(win.detail.toggle, Qt.MouseButton.LeftButton)
        await until(lambda: win.banner_frame.isVisible() or win.detail.failure.isVisible())
        text = win.banner.text() + win.detail.failure.text()
        assert "no-such-command-xyz" in text


async def test_without_a_tray_the_window_says_why_and_closing_quits(
    paths: AppPaths, qtbot: QtBot
) -> None:
    quits: list[bool] = []
    async with running(paths) as (_engine, bridge):
        win = MainWindow(
            bridge, paths=paths, on_quit=lambda: quits.append(True), tray_available=False
        )
        qtbot.addWidget(win)
        win.show()
        assert win.notice.isVisible() and "No system tray" in win.notice.text()
        win.close()
        assert quits == [True]
        tray_win = MainWindow(bridge, paths=paths, on_quit=lambda: quits.append(False))
        qtbot.addWidget(tray_win)
        tray_win.show()
        tray_win.close()  # with a tray: hides, keeps running
        assert not tray_win.isVisible() and quits == [True]


async def test_settings_page_saves_the_port(paths: AppPaths, qtbot: QtBot) -> None:
    async with running(paths) as (engine, bridge):
        win = MainWindow(bridge, paths=paths)
        qtbot.addWidget(win)
        page = win.settings
        # packaging's switchboard.autostart is there: the checkbox is live (not saved here,
        # so the real login entry is never touched by this test)
        assert page.start_at_login.isEnabled()
        await bridge.drain()  # the checkbox shows the real login entry before saving
        page.port.setValue(9123)
        await page.save()
        assert engine.config.settings.port == 9123
        assert "restart" in page.status.text().lower()


async def test_keyboard_and_accessibility(paths: AppPaths, qtbot: QtBot) -> None:
    async with running(paths) as (engine, bridge):
        cmd, args = fixture_cmd("echo_server.py")
        await engine.add_server(ServerSpec(name="echo", command=cmd, args=args))
        win = MainWindow(bridge, paths=paths)
        qtbot.addWidget(win)
        win.show()
        win.table.setFocus()
        qtbot.keyClick(win.table, Qt.Key.Key_Space)  # space toggles the selected server
        await until(lambda: engine.status("echo").state is ServerState.RUNNING)
        qtbot.keyClick(win.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
        assert QGuiApplication.clipboard().text() == engine.server_url("echo")
        qtbot.keyClick(win.table, Qt.Key.Key_Space)
        await until(lambda: engine.status("echo").state is ServerState.STOPPED)
        from PySide6.QtWidgets import QAbstractButton, QLineEdit, QTabBar

        unnamed = [
            f"{type(w).__name__}:{w.objectName()}:{getattr(w, 'text', lambda: '')()}"
            for w in win.findChildren(QAbstractButton) + win.findChildren(QLineEdit)
            # Qt's own parts: spin box editors, tab-bar scroll arrows, line-edit icons
            if not w.objectName().startswith("qt_")
            and not isinstance(w.parent(), QTabBar | QLineEdit)
            and not (w.accessibleName() or (isinstance(w, QAbstractButton) and w.text()))
        ]
        assert unnamed == []


async def test_row_context_menu(paths: AppPaths, qtbot: QtBot) -> None:
    async with running(paths) as (engine, bridge):
        cmd, args = fixture_cmd("echo_server.py")
        await engine.add_server(ServerSpec(name="echo", command=cmd, args=args))
        win = MainWindow(bridge, paths=paths)
        qtbot.addWidget(win)
        menu = win.context_menu_for(0)
        assert menu is not None
        labels = [a.text() for a in menu.actions() if a.text()]
        assert labels == ["Start", "Restart", "Copy MCP URL", "Remove…"]
        menu.actions()[0].trigger()
        await until(lambda: engine.status("echo").state is ServerState.RUNNING)
        menu = win.context_menu_for(0)
        assert menu is not None and menu.actions()[0].text() == "Stop"
        menu.actions()[0].trigger()
        await until(lambda: engine.status("echo").state is ServerState.STOPPED)
        assert win.context_menu_for(5) is None


async def test_missing_secrets_are_named_and_can_be_stored(paths: AppPaths, qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QInputDialog

    from switchboard.secrets.store import SecretStore

    keyring = MemoryKeyringBackend()
    store = SecretStore.for_paths(paths, backend=keyring)
    async with running(paths, secret_store=store) as (engine, bridge):
        cmd, args = fixture_cmd("echo_server.py")
        spec = ServerSpec(name="gh", command=cmd, args=args, secrets={"ECHO_SECRET": "gh.token"})
        await engine.add_server(spec)
        win = MainWindow(bridge, paths=paths)
        qtbot.addWidget(win)
        form = win.detail.form
        await until(lambda: not form.secrets_note.isHidden(), what="the missing-secret note")
        assert "gh.token" in form.secrets_note.text()
        form.secrets.table.setCurrentCell(0, 1)
        qtbot.mouseClick(form.set_secret, Qt.MouseButton.LeftButton)
        dialog = win.detail.findChild(QInputDialog)
        assert dialog is not None
        dialog.setTextValue("s3cret-value")
        dialog.accept()
        await until(lambda: form.secrets_note.isHidden(), what="the note to go away")
        assert keyring.values == {("switchboard", "gh.token"): "s3cret-value"}
        assert "s3cret-value" not in engine.paths.config_file.read_text()
