"""The composed desktop (application.Desktop) and the theme."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication, QPalette
from pytestqt.qtbot import QtBot

from switchboard.application import build_desktop
from switchboard.core.paths import AppPaths
from switchboard.core.spec import RestartPolicy, ServerSpec
from switchboard.core.state import ServerState
from switchboard.ui.theme import apply_theme
from tests.conftest import fixture_cmd
from tests.gui.conftest import running, until


def _window_lightness() -> int:
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness()


def test_theme_dark_light_and_system(qapp: object) -> None:
    try:
        apply_theme("dark")
        assert _window_lightness() < 128
        apply_theme("light")
        assert _window_lightness() >= 128
    finally:
        apply_theme("system")


async def test_without_a_tray_failures_surface_in_the_window(paths: AppPaths, qtbot: QtBot) -> None:
    async with running(paths) as (engine, _bridge):
        cmd, args = fixture_cmd("crash_loop.py")
        fast = RestartPolicy(initial_delay=0.01, max_delay=0.02, max_restarts=1)
        await engine.add_server(ServerSpec(name="broken", command=cmd, args=args, restart=fast))
        quits: list[bool] = []
        desktop = build_desktop(
            engine, paths=paths, on_quit=lambda: quits.append(True), use_tray=False
        )
        qtbot.addWidget(desktop.window)
        desktop.show()  # the window opens once its saved layout is read (off the loop)
        await until(desktop.window.isVisible, what="the window")
        assert desktop.tray is None
        assert "No system tray" in desktop.window.notice.text()
        desktop.window.hide()
        await engine.start_server("broken")
        await until(lambda: engine.status("broken").state is ServerState.FAILED)
        await until(desktop.window.isVisible, what="the window to come forward")
        assert "broken failed." in desktop.window.banner.text()
        desktop.bridge.close()
