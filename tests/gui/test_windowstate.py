"""The main window remembers its size, position and splitter between runs (window.json
in the instance's config dir) and comes back clamped to the available screen."""

from __future__ import annotations

import json

from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from switchboard.application import build_desktop
from switchboard.core.paths import AppPaths
from switchboard.ui.mainwindow import MainWindow
from switchboard.ui.windowstate import MIN_HEIGHT, MIN_WIDTH, WindowLayout, clamp_rect
from tests.gui.conftest import running, until


def test_clamp_keeps_a_rect_that_fits_and_pulls_others_onto_the_screen() -> None:
    screen = QRect(0, 0, 1280, 800)
    assert clamp_rect(QRect(100, 50, 900, 600), screen) == QRect(100, 50, 900, 600)
    # Left on a monitor that is gone (far right): moved back, size kept.
    assert clamp_rect(QRect(3000, 200, 900, 600), screen) == QRect(380, 200, 900, 600)
    # Above and left of the screen.
    assert clamp_rect(QRect(-500, -90, 900, 600), screen) == QRect(0, 0, 900, 600)
    # Bigger than the screen: shrunk to it.
    assert clamp_rect(QRect(10, 10, 4000, 3000), screen) == screen
    # Tiny: grown to the minimum.
    assert clamp_rect(QRect(10, 10, 20, 20), screen) == QRect(10, 10, MIN_WIDTH, MIN_HEIGHT)
    # A second screen with its own origin (e.g. a panel on top).
    right = QRect(1280, 28, 1920, 1052)
    assert clamp_rect(QRect(1200, 0, 800, 600), right) == QRect(1280, 28, 800, 600)


def test_malformed_files_give_the_default() -> None:
    ok = {"x": 1, "y": 2, "width": 600, "height": 400, "maximized": True, "splitter": [1, 2]}
    assert WindowLayout.from_json(ok) == WindowLayout(1, 2, 600, 400, True, (1, 2))
    bad: object
    for bad in (
        [],
        "x",
        {"x": 1, "y": 2, "width": 600},
        {**ok, "width": "600"},
        {**ok, "height": 0},
        {**ok, "x": True},
        {**ok, "splitter": [-1, 2]},
        {**ok, "splitter": "12"},
    ):
        assert WindowLayout.from_json(bad) is None, bad


async def _loaded(win: MainWindow) -> None:
    assert win.layout_file is not None
    task = win.layout_file.loading()
    await until(task.done, what="the saved layout to be read")


async def test_size_position_and_splitter_come_back(paths: AppPaths, qtbot: QtBot) -> None:
    screen = QGuiApplication.primaryScreen().availableGeometry()
    rect = QRect(
        screen.x() + 40,
        screen.y() + 30,
        min(720, screen.width() - 80),  # above the window's minimum size (~690 x 480)
        min(520, screen.height() - 60),
    )
    async with running(paths) as (_engine, bridge):
        win = MainWindow(bridge, paths=paths, tray_available=True)
        qtbot.addWidget(win)
        await _loaded(win)  # no file yet: the defaults
        assert win.layout_file is not None and win.layout_file.state is None
        win.setGeometry(rect)
        win.show()
        win.splitter.setSizes([110, 300])
        sizes = win.splitter.sizes()
        assert sizes[0] < sizes[1]  # not the default 2:3 split of the new height
        win.close()  # with a tray: hides, and saves the layout
        await bridge.drain()
        saved = json.loads((paths.config_dir / "window.json").read_text("utf-8"))
        assert saved == {
            "x": rect.x(),
            "y": rect.y(),
            "width": rect.width(),
            "height": rect.height(),
            "maximized": False,
            "splitter": sizes,
        }

        again = MainWindow(bridge, paths=paths, tray_available=True)  # the next run
        qtbot.addWidget(again)
        await _loaded(again)
        again.show()
        assert again.geometry() == rect
        assert again.splitter.sizes() == sizes


async def test_a_layout_off_the_screen_is_clamped(paths: AppPaths, qtbot: QtBot) -> None:
    screen = QGuiApplication.primaryScreen().availableGeometry()
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    (paths.config_dir / "window.json").write_text(
        json.dumps({"x": 9000, "y": -4000, "width": 5000, "height": 300, "splitter": [1, 1]})
    )
    async with running(paths) as (_engine, bridge):
        win = MainWindow(bridge, paths=paths, tray_available=True)
        qtbot.addWidget(win)
        await _loaded(win)
        geometry = win.geometry()
        assert screen.contains(geometry), (screen, geometry)
        assert geometry.width() == screen.width()  # shrunk to the screen
        assert geometry.height() == min(max(300, MIN_HEIGHT), screen.height())


async def test_maximized_comes_back_maximized_with_its_normal_size(
    paths: AppPaths, qtbot: QtBot
) -> None:
    screen = QGuiApplication.primaryScreen().availableGeometry()
    normal = QRect(screen.x() + 20, screen.y() + 20, min(760, screen.width() - 40), 500)
    async with running(paths) as (_engine, bridge):
        win = MainWindow(bridge, paths=paths, tray_available=True)
        qtbot.addWidget(win)
        await _loaded(win)
        win.setGeometry(normal)
        win.show()
        win.showMaximized()
        await until(win.isMaximized, what="the window to maximize")
        layout = win.current_layout()
        assert layout.maximized and layout.rect == normal
        await win.save_layout()
        again = MainWindow(bridge, paths=paths, tray_available=True)
        qtbot.addWidget(again)
        await _loaded(again)
        again.show()
        await until(again.isMaximized, what="the restored window to be maximized")
        assert again.normalGeometry() == normal


async def test_the_desktop_keeps_the_layout_in_its_own_home(paths: AppPaths, qtbot: QtBot) -> None:
    async with running(paths) as (engine, _bridge):
        desktop = build_desktop(engine, paths=paths, use_tray=False)
        qtbot.addWidget(desktop.window)
        assert desktop.layout_file.path == paths.config_dir / "window.json"
        assert desktop.window.layout_file is desktop.layout_file
        desktop.show()
        await until(desktop.window.isVisible, what="the window")
        desktop.window.resize(730, 510)
        await desktop.window.save_layout()
        assert json.loads(desktop.layout_file.path.read_text("utf-8"))["width"] == 730
        desktop.window.hide()
        await desktop.bridge.drain()
        desktop.bridge.close()
