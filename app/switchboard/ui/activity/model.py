"""The Activity table's model: the activity database, fetched lazily off the GUI thread.

Reads never run on the GUI thread: a one-thread executor runs them on a read-only
connection of its own (``ActivityRecorder.open_reader``), and the rows come back through
a queued signal. The first page of a filter comes at once, the next ones when the
view scrolls near the end (``canFetchMore``/``fetchMore``, keyset paging by id, so a
page of a 100,000-row log costs the same as the first). New requests appear on top
as the recorder writes them (at most every :data:`LIVE_MS`), while the filter matches.
Lists carry no arguments or results; :meth:`ActivityModel.details` fetches one entry's.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import enum
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor

from switchboard.activity import ActivityDB, ActivityEntry, ActivityQuery
from switchboard.core.activity import CANCELLED, OK

log = logging.getLogger("switchboard.ui")

PAGE = 500
"""Rows per fetch."""
LIVE_MS = 250
"""New requests are added at most this often."""
MAX_LIVE = 5000
"""At most this many new rows are added at once (the rest come by scrolling)."""
KEEP_FOLLOWING = 2 * PAGE
"""Rows kept while following the newest: older ones are dropped (and fetched again by
scrolling), so a busy gateway does not grow the table without end."""

Index = QModelIndex | QPersistentModelIndex
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1


class ActivitySource(Protocol):
    """What the model reads (the engine's :class:`~switchboard.activity.ActivityRecorder`)."""

    def open_reader(self) -> ActivityDB: ...

    def subscribe(self, listener: Callable[[int], None]) -> Callable[[], None]: ...


class Col(enum.IntEnum):
    TIME = 0
    SERVER = 1
    CLIENT = 2
    METHOD = 3
    TARGET = 4
    OUTCOME = 5
    DURATION = 6
    SIZE = 7


HEADERS = ("Time", "Server", "Client", "Method", "Tool / prompt / resource", "Outcome",
           "Duration", "Size")  # fmt: skip


def outcome_text(e: ActivityEntry) -> str:
    return e.outcome if e.code is None or e.outcome == OK else f"{e.outcome} ({e.code})"


def size_text(n: int) -> str:
    return f"{n} B" if n < 10_000 else f"{n / 1024:.0f} KiB"


class ActivityModel(QAbstractTableModel):
    """Activity entries, newest first, for one :class:`ActivityQuery` at a time."""

    _loaded = Signal(int, str, object, object)
    """(generation, kind: "reset" | "more" | "live" | "details", rows or entry, count)"""
    loadingChanged = Signal(bool)
    totalChanged = Signal(int)
    """How many entries match the filter (as of the last reset)."""
    detailsReady = Signal(object)
    """The :class:`ActivityEntry` asked for with :meth:`details` (with arguments)."""

    def __init__(self, source: ActivitySource, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source = source
        self._rows: list[tuple[Any, ...]] = []
        """Rows as the database gives them (``ActivityEntry`` field order; index 0 is
        the id): tuples of atoms, which the cyclic GC untracks, so a long listing does
        not make every full collection (run on the GUI thread) slower."""
        self.query = ActivityQuery()
        self.total = 0
        self._generation = 0
        self._busy = False
        self._more = True
        self._pool = concurrent.futures.ThreadPoolExecutor(1, "activity-reader")
        self._db: ActivityDB | None = None
        self._loaded.connect(self._on_loaded, Qt.ConnectionType.QueuedConnection)
        self._live = QTimer(self)
        self._live.setSingleShot(True)
        self._live.setInterval(LIVE_MS)
        self._live.timeout.connect(self._fetch_live)
        self._unsubscribe = source.subscribe(lambda last_id: self._on_written())
        self.following = True
        """Add new entries on top as they come (the page turns it off while scrolled)."""
        self.visible = True
        """Fetch new entries only while someone can see them (the page sets it)."""

    def close(self) -> None:
        self._unsubscribe()
        self._live.stop()
        self._generation += 1
        self._pool.submit(self._close_db)
        self._pool.shutdown(wait=False)

    # -- reads (the reader thread) --------------------------------------------------------
    def _reader(self) -> ActivityDB:
        if self._db is None:
            self._db = self._source.open_reader()
        return self._db

    def _close_db(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _submit(self, kind: str, work: Callable[[ActivityDB], tuple[Any, Any]]) -> None:
        generation = self._generation

        def run() -> None:
            if generation != self._generation:
                return  # a newer filter replaced this one
            try:
                rows, count = work(self._reader())
            except Exception as exc:  # a missing or damaged database: say so, keep going
                log.warning("activity page: could not read the log: %s", exc)
                rows, count = [], 0
            self._loaded.emit(generation, kind, rows, count)

        self._pool.submit(run)

    def set_query(self, query: ActivityQuery) -> None:
        """Show the entries matching ``query`` (the first page comes at once)."""
        self.query = query
        self._generation += 1
        self.beginResetModel()
        self._rows = []
        self._more = True
        self.endResetModel()
        self._set_busy(True)
        self._submit(
            "reset",
            lambda db: (db.rows(query, PAGE, details=False), db.count(query)),
        )

    def refresh(self) -> None:
        self.set_query(self.query)

    def details(self, entry_id: int) -> None:
        """Fetch one entry with its arguments and result -> :attr:`detailsReady`."""
        self._submit("details", lambda db: (db.get(entry_id), None))

    def _on_written(self) -> None:
        if self.following and self.visible and not self._live.isActive():
            self._live.start()

    def _fetch_live(self) -> None:
        if self._busy or (not self._rows and self._more):
            self._live.start()  # the first page is still on its way
            return
        newest = self._rows[0][0] if self._rows else 0
        q = dataclasses.replace(self.query, after_id=newest)
        self._submit("live", lambda db: (db.rows(q, MAX_LIVE, details=False), None))

    # -- results (the GUI thread) ----------------------------------------------------------
    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.loadingChanged.emit(busy)

    def _on_loaded(self, generation: int, kind: str, rows: Any, count: Any) -> None:
        if generation != self._generation:
            return
        if kind == "details":
            if rows is not None:
                self.detailsReady.emit(rows)
            return
        if kind == "live":
            newest = self._rows[0][0] if self._rows else 0
            new = [row for row in reversed(rows) if row[0] > newest]
            if new:
                self.beginInsertRows(QModelIndex(), 0, len(new) - 1)
                self._rows[:0] = new
                self.endInsertRows()
                self.total += len(new)
                self.totalChanged.emit(self.total)
            if self.following and len(self._rows) > KEEP_FOLLOWING:
                self.beginRemoveRows(QModelIndex(), KEEP_FOLLOWING, len(self._rows) - 1)
                del self._rows[KEEP_FOLLOWING:]
                self.endRemoveRows()
                self._more = True
            return
        self._set_busy(False)
        if kind == "reset":
            self.total = int(count)
            self.totalChanged.emit(self.total)
        self._more = len(rows) == PAGE
        if rows:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
            self._rows.extend(rows)
            self.endInsertRows()

    # -- lazy paging -------------------------------------------------------------------------
    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._more and not self._busy and bool(self._rows)

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent):
            return
        self._set_busy(True)
        q = dataclasses.replace(self.query, before_id=self._rows[-1][0])
        self._submit("more", lambda db: (db.rows(q, PAGE, details=False), None))

    # -- Qt model API --------------------------------------------------------------------------
    def entry_at(self, row: int) -> ActivityEntry | None:
        return ActivityEntry(*self._rows[row]) if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Col)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called for every visible cell and role on each paint: plain tuple lookups, an
        # early exit for the roles this model leaves to the style.
        if role not in _ROLES:
            return None
        row = index.row()
        if not 0 <= row < len(self._rows):
            return None
        t = self._rows[row]
        col = index.column()
        if role in (DISPLAY, ACCESSIBLE):
            return _text(t, col)
        if role == FOREGROUND:
            if col == Col.OUTCOME and t[F_OUTCOME] != OK:
                return _CANCELLED_BRUSH if t[F_OUTCOME] == CANCELLED else _ERROR_BRUSH
            return None
        if role == ALIGNMENT:
            return _RIGHT if col in (Col.DURATION, Col.SIZE) else None
        if role == TOOLTIP:
            return (t[F_CLIENT_ID] or "authorization off: no client") if col == Col.CLIENT else None
        return ActivityEntry(*t)  # ENTRY_ROLE


# Positions in a row tuple (ActivityEntry's field order).
F_TS, F_DURATION, F_SERVER, F_VIA, F_CLIENT_ID, F_CLIENT_NAME = 1, 2, 3, 4, 5, 6
F_METHOD, F_TARGET, F_OUTCOME, F_CODE, F_SIZE_IN, F_SIZE_OUT = 9, 10, 11, 12, 13, 14
DISPLAY = Qt.ItemDataRole.DisplayRole
ACCESSIBLE = Qt.ItemDataRole.AccessibleTextRole
FOREGROUND = Qt.ItemDataRole.ForegroundRole
ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole
TOOLTIP = Qt.ItemDataRole.ToolTipRole
_ROLES = frozenset({DISPLAY, ACCESSIBLE, FOREGROUND, ALIGNMENT, TOOLTIP, ENTRY_ROLE})
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_ERROR_BRUSH = QBrush(QColor("#CF222E"))
_CANCELLED_BRUSH = QBrush(QColor("#9A6700"))


def _text(t: tuple[Any, ...], col: int) -> str:
    if col == Col.TIME:
        ts = t[F_TS]
        return time.strftime("%H:%M:%S", time.localtime(ts)) + f".{int(ts * 1000) % 1000:03d}"
    if col == Col.SERVER:
        return f"{t[F_SERVER]} (via {t[F_VIA]})" if t[F_VIA] else str(t[F_SERVER])
    if col == Col.CLIENT:
        return str(t[F_CLIENT_NAME] or t[F_CLIENT_ID] or "-")
    if col == Col.METHOD:
        return str(t[F_METHOD])
    if col == Col.TARGET:
        return str(t[F_TARGET] or "")
    if col == Col.OUTCOME:
        code = t[F_CODE]
        return t[F_OUTCOME] if code is None or t[F_OUTCOME] == OK else f"{t[F_OUTCOME]} ({code})"
    if col == Col.DURATION:
        return f"{t[F_DURATION]:.1f} ms"
    return f"{size_text(t[F_SIZE_IN])} / {size_text(t[F_SIZE_OUT])}"
