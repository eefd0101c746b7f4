"""The main window's size, position and splitter between runs.

Kept in ``window.json`` in the instance's config dir (not Qt's default QSettings
location, which is shared by every Switchboard home on the machine: tests and a second
instance stay separate). Plain JSON, read and written off the event loop; on restore the
rectangle is clamped to the available area of the screen it lands on (a monitor may
have been unplugged since).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QGuiApplication

from switchboard.store.atomic import atomic_write

log = logging.getLogger("switchboard.ui")

FILE_NAME = "window.json"
MIN_WIDTH = 480
MIN_HEIGHT = 320


@dataclasses.dataclass(frozen=True, slots=True)
class WindowLayout:
    """Where the window was: its normal (not maximized) rectangle, whether it was
    maximized, and the servers page's splitter sizes (table, detail)."""

    x: int
    y: int
    width: int
    height: int
    maximized: bool = False
    splitter: tuple[int, ...] = ()

    @property
    def rect(self) -> QRect:
        return QRect(self.x, self.y, self.width, self.height)

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["splitter"] = list(self.splitter)
        return data

    @classmethod
    def from_json(cls, data: object) -> WindowLayout | None:
        """A layout from the file's contents; None for anything malformed."""
        if not isinstance(data, dict):
            return None
        try:
            x, y, w, h = (data[k] for k in ("x", "y", "width", "height"))
            splitter = data.get("splitter", [])
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (x, y, w, h)):
                return None
            if not isinstance(splitter, list) or not all(
                isinstance(v, int) and v >= 0 for v in splitter
            ):
                return None
            if w <= 0 or h <= 0:
                return None
            return cls(x, y, w, h, bool(data.get("maximized", False)), tuple(splitter))
        except KeyError:
            return None


def clamp_rect(rect: QRect, available: QRect) -> QRect:
    """``rect`` moved (and shrunk if needed) to lie inside ``available``, never smaller
    than MIN_WIDTH x MIN_HEIGHT unless the screen is."""
    width = min(max(rect.width(), MIN_WIDTH), available.width())
    height = min(max(rect.height(), MIN_HEIGHT), available.height())
    x = min(max(rect.x(), available.x()), available.x() + available.width() - width)
    y = min(max(rect.y(), available.y()), available.y() + available.height() - height)
    return QRect(x, y, width, height)


def available_geometry_for(rect: QRect) -> QRect:
    """The available area of the screen holding ``rect``'s centre (else the primary)."""
    centre = QPoint(rect.x() + rect.width() // 2, rect.y() + rect.height() // 2)
    screen = QGuiApplication.screenAt(centre) or QGuiApplication.primaryScreen()
    return screen.availableGeometry()


class LayoutFile:
    """``window.json``: loaded once (off the loop), saved off the loop."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state: WindowLayout | None = None
        self._loading: asyncio.Task[WindowLayout | None] | None = None

    @classmethod
    def in_dir(cls, config_dir: Path) -> LayoutFile:
        return cls(config_dir / FILE_NAME)

    # -- blocking ------------------------------------------------------------------------
    def read(self) -> WindowLayout | None:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("window layout %s unreadable (%s); using the default", self.path, exc)
            return None
        layout = WindowLayout.from_json(data)
        if layout is None:
            log.warning("window layout %s is malformed; using the default", self.path)
        return layout

    def write(self, layout: WindowLayout) -> None:
        try:
            text = json.dumps(layout.to_json(), indent=2) + "\n"
            atomic_write(self.path, text.encode("utf-8"), mode=0o600)
        except OSError as exc:
            log.warning("could not save the window layout to %s: %s", self.path, exc)

    # -- on the loop ---------------------------------------------------------------------
    def loading(self) -> asyncio.Task[WindowLayout | None]:
        """The (single) load of the file; starts it on first call. Needs a running loop."""
        if self._loading is None:
            self._loading = asyncio.get_running_loop().create_task(self._load())
        return self._loading

    async def _load(self) -> WindowLayout | None:
        self.state = await asyncio.to_thread(self.read)
        return self.state

    async def save(self, layout: WindowLayout) -> None:
        if layout == self.state:
            return
        self.state = layout
        await asyncio.to_thread(self.write, layout)
