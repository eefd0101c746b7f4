"""Runs the real desktop app (``application.run_gui``) on an X display with a tray host
and drives its tray menu with real mouse clicks, on commands from stdin.

Used by test_tray_xvfb.py in a subprocess (the test session itself is offscreen).
Protocol, one JSON object per stdout line:

    -> {"event": "ready", "tray": [x, y, w, h], "clicker": "xdotool"|"qtest"}
    <- click NAME        right-click the tray icon, then click NAME's menu entry
    -> {"event": "state", "name": ..., "state": ..., "pid": ...}
    <- window?           -> {"event": "window", "visible": ...}
    <- quit              click "Quit Switchboard" in the tray menu
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import threading
import time
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QSystemTrayIcon

from switchboard.application import Desktop, run_gui
from switchboard.core.paths import AppPaths
from switchboard.core.state import ServerState

XDOTOOL = shutil.which("xdotool")


def emit(**data: object) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


async def until(cond: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out: {cond}")
        await asyncio.sleep(0.05)


async def xdotool(*args: str) -> None:
    assert XDOTOOL
    proc = await asyncio.create_subprocess_exec(XDOTOOL, *args)
    await proc.wait()


async def click_menu_entry(desktop: Desktop, action: QAction) -> None:
    tray = desktop.tray
    assert tray is not None
    menu = tray.menu
    geo = tray.icon.geometry()
    if XDOTOOL:
        # A real right-click on the icon in the tray host opens the menu...
        await xdotool("mousemove", str(geo.center().x()), str(geo.center().y()))
        await asyncio.sleep(0.2)
        await xdotool("click", "3")
    else:
        menu.popup(QPoint(geo.left(), geo.bottom()))
    await until(menu.isVisible)
    await asyncio.sleep(0.4)  # QMenu ignores a release right after it opened
    point = menu.mapToGlobal(menu.actionGeometry(action).center())
    if XDOTOOL:
        # ... and a real left-click on the entry.
        await xdotool("mousemove", str(point.x()), str(point.y()))
        await asyncio.sleep(0.2)
        await xdotool("click", "1")
    else:
        QTest.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.mapFromGlobal(point))
    await until(lambda: not menu.isVisible())


async def drive(desktop: Desktop) -> None:
    tray = desktop.tray
    if tray is None:
        emit(event="error", message="no system tray available")
        desktop.quit()
        return
    await until(lambda: tray.icon.isVisible() and not tray.icon.geometry().isEmpty())
    geo = tray.icon.geometry()
    emit(
        event="ready",
        tray=[geo.x(), geo.y(), geo.width(), geo.height()],
        available=QSystemTrayIcon.isSystemTrayAvailable(),
        clicker="xdotool" if XDOTOOL else "qtest",
    )
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[str] = asyncio.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(commands.put_nowait, line.strip())
        loop.call_soon_threadsafe(commands.put_nowait, "quit")

    threading.Thread(target=read_stdin, daemon=True).start()
    while True:
        command = await commands.get()
        if command.startswith("click "):
            name = command.split(" ", 1)[1]
            before = desktop.bridge.status(name)
            assert before is not None
            await click_menu_entry(desktop, tray.server_actions[name])
            want = ServerState.STOPPED if before.state.is_active else ServerState.RUNNING
            await until(lambda n=name, w=want: desktop.bridge.status(n).state is w)  # type: ignore[union-attr]
            status = desktop.bridge.status(name)
            assert status is not None
            emit(event="state", name=name, state=status.state.value, pid=status.pid)
        elif command == "window?":
            await asyncio.sleep(0.3)
            emit(event="window", visible=desktop.window_built and desktop.window.isVisible())
        elif command == "quit":
            await click_menu_entry(desktop, tray.quit_action)
            return


def main() -> int:
    home = Path(sys.argv[1])
    tasks: list[asyncio.Task[None]] = []

    async def guarded(desktop: Desktop) -> None:
        try:
            await drive(desktop)
        except Exception as exc:  # report, then quit so the test sees why
            emit(event="error", message=repr(exc))
            desktop.quit()

    def on_ready(desktop: Desktop) -> None:
        tasks.append(asyncio.ensure_future(guarded(desktop)))

    code = run_gui(AppPaths.default(home), on_ready=on_ready)
    emit(event="exited", code=code)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
