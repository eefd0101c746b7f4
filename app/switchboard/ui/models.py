"""Qt item models: the servers table and one server's live log (with its filter)."""

from __future__ import annotations

import collections
import datetime
import enum
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QGuiApplication, QPalette

from switchboard.activity import Figures
from switchboard.core.events import ConfigChanged, LogLine, StateChanged, Stream
from switchboard.core.state import ServerState
from switchboard.core.units import format_bytes
from switchboard.supervisor.process import ServerStatus
from switchboard.ui.activity.sparkline import SPARK_ROLE, figures_text, figures_tooltip
from switchboard.ui.engine_bridge import EngineBridge
from switchboard.ui.icons import state_icon

Index = QModelIndex | QPersistentModelIndex

NAME_ROLE = Qt.ItemDataRole.UserRole + 1
STATE_ROLE = Qt.ItemDataRole.UserRole + 2
LEVEL_ROLE = Qt.ItemDataRole.UserRole + 3
URL_ROLE = Qt.ItemDataRole.UserRole + 4

STATE_LABELS = {
    ServerState.STOPPED: "Stopped",
    ServerState.STARTING: "Starting…",
    ServerState.RUNNING: "Running",
    ServerState.STOPPING: "Stopping…",
    ServerState.BACKOFF: "Restarting…",
    ServerState.FAILED: "Failed",
    ServerState.SLEEPING: "Asleep",
    ServerState.NEEDS_SIGN_IN: "Needs sign-in",
}

SLEEPING_TIP = "Asleep — wakes on the next call (started on demand, stopped when idle)"
MEMORY_TIP = (
    "Resident memory of the server's whole process tree (the server and every process "
    "it started), sampled every few seconds"
)


def format_uptime(seconds: float) -> str:
    """'42s', '5m 03s', '3h 07m', '2d 4h' — short and stable in width."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m {s:02d}s"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h {m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d {h}h"


class Column(enum.IntEnum):
    NAME = 0
    STATUS = 1
    UPTIME = 2
    RESTARTS = 3
    MEMORY = 4
    ACTIVITY = 5
    URL = 6


HEADERS = {
    Column.NAME: "Server",
    Column.STATUS: "Status",
    Column.UPTIME: "Uptime",
    Column.RESTARTS: "Restarts",
    Column.MEMORY: "Memory",
    Column.ACTIVITY: "Last hour",
    Column.URL: "MCP URL",
}


class ServersModel(QAbstractTableModel):
    """One row per configured server; follows the bridge's state and config signals.
    The memory column follows the supervisor's samples (read on the uptime tick; the
    sampling itself runs off this thread, see ``supervisor/memory.py``)."""

    memoryChanged = Signal()

    def __init__(
        self,
        bridge: EngineBridge,
        *,
        clock: Callable[[], float] = time.time,
        tick_ms: int = 1000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self._clock = clock
        self._rows: list[ServerStatus] = []
        self._urls: dict[str, str] = {}
        self._figures: dict[str, Figures] = {}
        self._rss: dict[str, int | None] = {}
        self.reload()
        bridge.stateChanged.connect(self._on_state)
        bridge.configChanged.connect(self._on_config)
        self._tick = QTimer(self)
        self._tick.setInterval(tick_ms)
        self._tick.timeout.connect(self.tick)
        if tick_ms > 0:
            self._tick.start()

    # -- data source -------------------------------------------------------------------
    def reload(self) -> None:
        self.beginResetModel()
        by_name = {s.name: s for s in self.bridge.statuses()}
        self._rows = [by_name[spec.name] for spec in self.bridge.specs() if spec.name in by_name]
        self._urls = {s.name: self.bridge.server_url(s.name) for s in self._rows}
        self._rss = {s.name: s.rss_bytes for s in self._rows}
        self.endResetModel()

    def _on_config(self, event: ConfigChanged) -> None:
        names = [s.name for s in self.bridge.specs()]
        if names != [s.name for s in self._rows]:
            self.reload()
        else:
            for name in event.names:
                self._refresh(name)

    def _on_state(self, event: StateChanged) -> None:
        self._refresh(event.name)

    def _refresh(self, name: str) -> None:
        row = self.row_of(name)
        status = self.bridge.status(name)
        if row < 0 or status is None:
            self.reload()
            return
        self._rows[row] = status
        self._rss[name] = status.rss_bytes
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(Column) - 1))

    def tick(self) -> None:
        """Refresh the uptime column: one signal for the whole column, not one per row
        (each dataChanged makes the view re-measure and repaint); and the activity
        figures (a snapshot of the recorder's memory, no query) when they changed."""
        activity = getattr(self.bridge.engine, "activity", None)
        figures = activity.server_figures() if activity is not None else {}
        if figures != self._figures and self._rows:
            self._figures = figures
            bottom = len(self._rows) - 1
            self.dataChanged.emit(
                self.index(0, Column.ACTIVITY), self.index(bottom, Column.ACTIVITY)
            )
        running = [r for r, s in enumerate(self._rows) if s.state is ServerState.RUNNING]
        if running:
            first = self.index(running[0], Column.UPTIME)
            last = self.index(running[-1], Column.UPTIME)
            self.dataChanged.emit(first, last, [Qt.ItemDataRole.DisplayRole])
        self.refresh_memory()

    def refresh_memory(self) -> None:
        """Take the latest memory samples; one signal for the rows that changed."""
        rss = self.bridge.memory()
        changed = [r for r, s in enumerate(self._rows) if rss.get(s.name) != self._rss.get(s.name)]
        if not changed:
            return
        self._rss = {s.name: rss.get(s.name) for s in self._rows}
        first, last = self.index(changed[0], Column.MEMORY), self.index(changed[-1], Column.MEMORY)
        self.dataChanged.emit(first, last, [Qt.ItemDataRole.DisplayRole])
        self.memoryChanged.emit()

    def total_memory(self) -> int | None:
        """Resident bytes of every server's processes (None when nothing was sampled)."""
        known = [v for v in self._rss.values() if v is not None]
        return sum(known) if known else None

    # -- lookups -----------------------------------------------------------------------
    def row_of(self, name: str) -> int:
        for row, status in enumerate(self._rows):
            if status.name == name:
                return row
        return -1

    def name_at(self, row: int) -> str:
        return self._rows[row].name if 0 <= row < len(self._rows) else ""

    def status_at(self, row: int) -> ServerStatus | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def names(self) -> list[str]:
        return [s.name for s in self._rows]

    # -- Qt model API ------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        status = self._rows[index.row()]
        col = Column(index.column())
        if role == NAME_ROLE:
            return status.name
        if role == STATE_ROLE:
            return status.state
        if role == URL_ROLE:
            return self._urls.get(status.name, "")
        if col is Column.ACTIVITY:
            figures = self._figures.get(status.name)
            if role == SPARK_ROLE:
                return figures.per_minute if figures is not None else None
            if role == Qt.ItemDataRole.ToolTipRole:
                return figures_tooltip(figures)
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
                return figures_text(figures)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._text(status, col, role == Qt.ItemDataRole.AccessibleTextRole)
        if role == Qt.ItemDataRole.DecorationRole and col is Column.STATUS:
            return state_icon(status.state)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(status, col)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (
            Column.UPTIME,
            Column.RESTARTS,
            Column.MEMORY,
        ):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        failed = status.state is ServerState.FAILED
        if role == Qt.ItemDataRole.ForegroundRole and col is Column.STATUS and failed:
            return QBrush(QColor("#CF222E"))
        if (
            role == Qt.ItemDataRole.ForegroundRole
            and col is Column.STATUS
            and status.state is ServerState.SLEEPING
        ):
            return QBrush(QColor("#8250DF"))
        if role == Qt.ItemDataRole.FontRole and col is Column.NAME:
            font = QFont()
            font.setWeight(QFont.Weight.DemiBold)
            return font
        return None

    def _text(self, status: ServerStatus, col: Column, accessible: bool) -> str:
        if col is Column.NAME:
            return status.name
        if col is Column.STATUS:
            return STATE_LABELS[status.state]
        if col is Column.UPTIME:
            if status.state is ServerState.RUNNING and status.started_at:
                return format_uptime(self._clock() - status.started_at)
            return "not running" if accessible else "—"
        if col is Column.RESTARTS:
            return str(status.restarts)
        if col is Column.MEMORY:
            rss = self._rss.get(status.name)
            if rss is None and accessible:
                return "no process"
            return format_bytes(rss)
        return self._urls.get(status.name, "")

    def _tooltip(self, status: ServerStatus, col: Column) -> str:
        if col is Column.STATUS:
            lines = [STATE_LABELS[status.state]]
            if status.pid:
                lines.append(f"PID {status.pid}")
            if status.detail:
                lines.append(status.detail)
            if status.state is ServerState.FAILED and status.last_stderr:
                lines.append("Last output:\n" + status.last_stderr[-600:])
            if status.state is ServerState.SLEEPING:
                lines = [SLEEPING_TIP]
            return "\n".join(lines)
        if col is Column.MEMORY:
            return MEMORY_TIP
        if col is Column.URL:
            return "Clients connect here. Click the copy icon or press Ctrl+C to copy."
        return ""


class Level(enum.IntEnum):
    """How serious a log line looks (servers write free-form stderr: a heuristic)."""

    DEBUG = 10
    INFO = 20
    WARNING = 30
    ERROR = 40


_ERROR_RE = re.compile(
    r"\b(error|exception|traceback|fatal|critical|panic|failed|uncaught)\b", re.IGNORECASE
)
_WARN_RE = re.compile(r"\b(warn|warning|deprecated)\b", re.IGNORECASE)
_DEBUG_RE = re.compile(r"\b(debug|trace|verbose)\b", re.IGNORECASE)


def classify(line: LogLine) -> Level:
    text = line.text[:200]
    if _ERROR_RE.search(text):
        return Level.ERROR
    if _WARN_RE.search(text):
        return Level.WARNING
    if line.stream is Stream.STDERR and _DEBUG_RE.search(text):
        return Level.DEBUG
    return Level.INFO


class LogModel(QAbstractListModel):
    """The live log of one server, capped at ``limit`` lines (oldest dropped)."""

    def __init__(
        self, bridge: EngineBridge, *, limit: int = 5000, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.limit = limit
        self.server = ""
        self._lines: collections.deque[tuple[LogLine, Level]] = collections.deque()
        bridge.logLines.connect(self._on_lines)

    def set_server(self, name: str) -> None:
        self.beginResetModel()
        self.server = name
        self._lines.clear()
        if name:
            self.bridge.flush()
            history = self.bridge.logs(name, self.limit)
            self._lines.extend((line, classify(line)) for line in history[-self.limit :])
        self.endResetModel()

    def _on_lines(self, batch: Iterable[LogLine]) -> None:
        if not self.server:
            return
        new = [(line, classify(line)) for line in batch if line.name == self.server]
        if not new:
            return
        new = new[-self.limit :]
        overflow = len(self._lines) + len(new) - self.limit
        if overflow > 0:
            drop = min(overflow, len(self._lines))
            self.beginRemoveRows(QModelIndex(), 0, drop - 1)
            for _ in range(drop):
                self._lines.popleft()
            self.endRemoveRows()
        first = len(self._lines)
        self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
        self._lines.extend(new)
        self.endInsertRows()

    def text(self) -> str:
        return "\n".join(_format(line) for line, _ in self._lines)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._lines)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._lines):
            return None
        line, level = self._lines[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return _format(line)
        if role == LEVEL_ROLE:
            return level
        if role == Qt.ItemDataRole.ForegroundRole:
            if level is Level.ERROR:
                return QBrush(QColor("#D1242F"))
            if level is Level.WARNING:
                return QBrush(QColor("#9A6700"))
            if line.stream is Stream.SYSTEM or level is Level.DEBUG:
                pal = QGuiApplication.palette()
                return QBrush(pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
        if role == Qt.ItemDataRole.FontRole and line.stream is Stream.SYSTEM:
            font = QFont()
            font.setItalic(True)
            return font
        return None


def _format(line: LogLine) -> str:
    stamp = datetime.datetime.fromtimestamp(line.time).strftime("%H:%M:%S")
    return f"{stamp}  {line.text}"


class LogFilter(QSortFilterProxyModel):
    """Search text (case-insensitive) and a minimum level."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._needle = ""
        self._min = Level.DEBUG

    def set_search(self, text: str) -> None:
        self._change(lambda: setattr(self, "_needle", text.casefold()))

    def set_min_level(self, level: Level) -> None:
        self._change(lambda: setattr(self, "_min", level))

    def _change(self, apply: Callable[[], None]) -> None:
        if hasattr(self, "endFilterChange"):  # Qt >= 6.9; invalidateRowsFilter is deprecated
            self.beginFilterChange()
            apply()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:  # pragma: no cover - older Qt
            apply()
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        idx = model.index(source_row, 0, source_parent)
        level = model.data(idx, LEVEL_ROLE)
        if level is not None and level < self._min:
            return False
        if self._needle:
            text = model.data(idx, Qt.ItemDataRole.DisplayRole) or ""
            return self._needle in str(text).casefold()
        return True
