"""Composition root of the desktop app: Qt application, qasync loop, engine, UI."""

from __future__ import annotations

import asyncio
import logging
import sys

from switchboard.core.paths import AppPaths

log = logging.getLogger("switchboard.app")


def run_gui(paths: AppPaths) -> int:
    """Run the desktop app until the person quits. Returns the exit code."""
    import qasync
    from PySide6.QtWidgets import QApplication

    from switchboard.engine import Engine
    from switchboard.ui.tray import TrayController

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv)
    app.setApplicationName("Switchboard")
    app.setQuitOnLastWindowClosed(False)

    async def main() -> int:
        engine = Engine(paths)
        quit_event = asyncio.Event()
        await engine.start()
        tray = TrayController(engine, on_quit=quit_event.set)
        tray.show()
        try:
            await quit_event.wait()
        finally:
            tray.hide()
            await engine.aclose()
        return 0

    return int(qasync.run(main()))
