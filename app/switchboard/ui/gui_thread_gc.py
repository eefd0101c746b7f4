"""Garbage collection in the GUI thread only.

Python's cyclic GC runs in whichever thread happens to allocate when a threshold is
crossed, often an ``asyncio.to_thread`` worker (config writes, keyring, SQLite). If it
then frees a Qt object caught in a reference cycle (a widget whose slot is a lambda on
itself), the C++ destructor runs in that worker thread: Qt warns "Timers cannot be
stopped from another thread" and may crash. So, as qutebrowser does, automatic GC is
switched off while the UI runs and a timer collects in the GUI thread instead.
"""

from __future__ import annotations

import gc
import logging

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger("switchboard.ui")


class GuiThreadGC(QObject):
    """Runs the generations' collections from a GUI-thread timer."""

    def __init__(self, interval_ms: int = 500, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def check(self) -> None:
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self.threshold[generation]:
                gc.collect(generation)
                return

    def stop(self) -> None:
        """Back to automatic GC (at shutdown), after a last full collection here."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
