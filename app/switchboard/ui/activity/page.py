"""The Activity page: every request through the gateway, newest first, live.

Filters (server or group, client, tool/prompt/resource name, outcome, time) apply as
you type (debounced); the table fetches more as you scroll (``model.py``: reads never
run on the GUI thread); selecting a row shows its details below, with its arguments
and result when the server keeps them (``record_arguments``, secrets redacted).
"""

from __future__ import annotations

import datetime
import json
import time

from PySide6.QtCore import QItemSelection, Qt, QTimer
from PySide6.QtGui import QFontDatabase, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from switchboard.activity import ActivityEntry, ActivityQuery
from switchboard.core.activity import OUTCOMES
from switchboard.ui.activity.model import ActivityModel, ActivitySource, Col, outcome_text

DEBOUNCE_MS = 250
TIMES = (
    ("Any time", None),
    ("Last 15 minutes", 900),
    ("Last hour", 3600),
    ("Last 24 hours", 86400),
    ("Last 7 days", 7 * 86400),
)


class ActivityPage(QWidget):
    """Filters, the live table and the selected request's details."""

    def __init__(self, source: ActivitySource | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Activity")
        layout = QVBoxLayout(self)
        if source is None:
            off = QLabel("Activity is not recorded in this instance.")
            layout.addWidget(off)
            self.model: ActivityModel | None = None
            return
        self.model = model = ActivityModel(source, self)
        self.server = self._edit("Server or group", "Only requests to this server or group")
        self.client = self._edit("Client", "Only requests of this client (its name or id)")
        self.tool = self._edit("Tool, prompt or resource", "Names containing this text")
        self.outcome = QComboBox()
        self.outcome.setAccessibleName("Outcome")
        self.outcome.addItem("Any outcome", None)
        for o in OUTCOMES:
            self.outcome.addItem(o.capitalize(), o)
        self.period = QComboBox()
        self.period.setAccessibleName("Time")
        for label, seconds in TIMES:
            self.period.addItem(label, seconds)
        self.count = QLabel("")
        bar = QHBoxLayout()
        for w in (self.server, self.client, self.tool):
            bar.addWidget(w, 1)
        bar.addWidget(self.outcome)
        bar.addWidget(self.period)
        bar.addWidget(self.count)
        layout.addLayout(bar)

        self.table = table = QTableView()
        table.setAccessibleName("Requests")
        table.setModel(model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().setVisible(False)
        rows = table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # O(1) per row: no re-measure
        rows.setDefaultSectionSize(24)
        table.setShowGrid(False)
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)  # never per-row
        header.setStretchLastSection(True)
        for col, width in ((Col.TIME, 100), (Col.SERVER, 130), (Col.CLIENT, 140),
                           (Col.METHOD, 110), (Col.TARGET, 190), (Col.OUTCOME, 110),
                           (Col.DURATION, 80)):  # fmt: skip
            header.resizeSection(col, width)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setAccessibleName("Request details")
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setPlaceholderText("Select a request to see its details.")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(table)
        split.addWidget(self.details)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        layout.addWidget(split, 1)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.apply_filters)
        for edit in (self.server, self.client, self.tool):
            edit.textChanged.connect(lambda _text: self._debounce.start())
        self.outcome.currentIndexChanged.connect(lambda _i: self.apply_filters())
        self.period.currentIndexChanged.connect(lambda _i: self.apply_filters())
        model.totalChanged.connect(self._show_count)
        model.detailsReady.connect(self._show_details)
        table.selectionModel().selectionChanged.connect(self._selected)
        table.verticalScrollBar().valueChanged.connect(self._scrolled)
        self._shown: int | None = None
        self._loaded = False
        model.visible = False  # nothing is read until the page is first shown

    @staticmethod
    def _edit(placeholder: str, tip: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setPlaceholderText(placeholder)
        edit.setAccessibleName(placeholder)
        edit.setToolTip(tip)
        edit.setClearButtonEnabled(True)
        return edit

    def current_query(self) -> ActivityQuery:
        seconds = self.period.currentData()
        return ActivityQuery(
            server=self.server.text().strip() or None,
            client=self.client.text().strip() or None,
            target=self.tool.text().strip() or None,
            outcome=self.outcome.currentData(),
            since=time.time() - seconds if seconds else None,
        )

    def apply_filters(self) -> None:
        assert self.model is not None
        self._debounce.stop()
        self.model.set_query(self.current_query())

    def show_server(self, name: str) -> None:
        """Filter on one server (from the servers table)."""
        self.server.setText(name)
        self.apply_filters()

    def _show_count(self, total: int) -> None:
        self.count.setText(f"{total:,} request{'s' if total != 1 else ''}")

    def _scrolled(self, value: int) -> None:
        # New requests go on top only while the top is in view (reading is not disturbed).
        assert self.model is not None
        self.model.following = value == 0

    def _selected(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        assert self.model is not None
        rows = {i.row() for i in selected.indexes()}
        entry = self.model.entry_at(min(rows)) if rows else None
        if entry is None:
            return
        self._shown = entry.id
        self.details.setPlainText(details_text(entry))
        self.model.details(entry.id)

    def _show_details(self, entry: ActivityEntry) -> None:
        if entry.id == self._shown:
            self.details.setPlainText(details_text(entry, full=True))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.model is not None and not self.model.visible:
            self.model.visible = True
            if not self._loaded or self.model.following:
                self._loaded = True
                self.apply_filters()  # first show, or what came while hidden

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        if self.model is not None:
            self.model.visible = False

    def close_model(self) -> None:
        if self.model is not None:
            self.model.close()


def details_text(e: ActivityEntry, full: bool = False) -> str:
    """The details pane's text for one entry (``full``: arguments and result fetched)."""
    when = datetime.datetime.fromtimestamp(e.ts).isoformat(sep=" ", timespec="milliseconds")
    lines = [
        f"Time:      {when}",
        f"Server:    {e.server}" + (f" (via group {e.via})" if e.via else ""),
        f"Client:    {e.client_name or '-'}  (id {e.client_id or '- (authorization off)'})",
        f"Subject:   {e.subject or '-'}",
        f"Session:   {e.session}",
        f"Method:    {e.method}" + (f"  {e.target}" if e.target else ""),
        f"Outcome:   {outcome_text(e)}",
        f"Duration:  {e.duration_ms:.2f} ms",
        f"Sizes:     {e.request_size} B in, {e.response_size} B out",
        "",
    ]
    if not full:
        lines.append("Loading…")
    elif e.arguments is None and e.result is None:
        lines.append(
            "Arguments and results are not recorded for this server (they can hold personal "
            "data). Turn on 'Record arguments' in its settings to keep them, secrets redacted."
        )
    else:
        for label, text in (("Arguments", e.arguments), ("Result", e.result)):
            lines.append(f"{label}:")
            lines.append(_pretty(text))
    return "\n".join(lines)


def _pretty(text: str | None) -> str:
    if text is None:
        return "  -"
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text
