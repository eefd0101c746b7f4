"""The catalog source of the add-server dialog: search the bundled catalog (and the
registry cache), pick a server, review the planned command in the form, add it."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from switchboard.core.errors import SwitchboardError
from switchboard.ui.icons import action_icon

log = logging.getLogger("switchboard.ui")

ENTRY_ROLE = Qt.ItemDataRole.UserRole + 10


class EntryDelegate(QStyledItemDelegate):
    """Two lines per entry: the name in bold, the description dimmed; calm padding."""

    PAD = 8

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        title, _, desc = str(index.data(Qt.ItemDataRole.DisplayRole) or "").partition("\n")
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        rect: QRect = opt.rect.adjusted(self.PAD + 2, self.PAD // 2, -self.PAD, -self.PAD // 2)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        pal = opt.palette
        painter.save()
        bold = QFont(opt.font)
        bold.setWeight(QFont.Weight.DemiBold)
        painter.setFont(bold)
        painter.setPen(
            pal.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        )
        line = QFontMetrics(bold).height()
        painter.drawText(rect.adjusted(0, 0, 0, -line), Qt.AlignmentFlag.AlignLeft, title)
        painter.setFont(opt.font)
        if not selected:
            painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
        elided = QFontMetrics(opt.font).elidedText(desc, Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(rect.adjusted(0, line + 2, 0, 0), Qt.AlignmentFlag.AlignLeft, elided)
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        line = QFontMetrics(option.font).height()
        return QSize(200, 2 * line + 2 + self.PAD + 2)


class CatalogTab(QWidget):
    """Lists catalog entries; ``chosen(spec, notes)`` when one is planned for review."""

    chosen = Signal(object, str)

    def __init__(
        self,
        *,
        load: Callable[[], list[Any]] | None = None,
        plan: Callable[[Any], Any] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._load = load or _load_catalog
        self._plan = plan or _plan
        self.entries: list[Any] = []
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search servers (e.g. github, files, time)")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search the catalog")
        self.search.addAction(action_icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search.textChanged.connect(self._filter)
        self.list = QListWidget()
        self.list.setAccessibleName("Catalog servers")
        self.list.setItemDelegate(EntryDelegate(self.list))
        self.list.setUniformItemSizes(True)
        self.list.itemDoubleClicked.connect(lambda _i: self.use_selected())
        self.list.currentItemChanged.connect(lambda _c, _p: self._selection())
        self.status = QLabel("Loading the catalog…")
        self.status.setObjectName("secondary")
        self.status.setWordWrap(True)
        self.use = QPushButton("&Use this server…")
        self.use.setAccessibleName("Use the selected catalog server")
        self.use.clicked.connect(self.use_selected)
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(self.use)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 8)
        layout.setSpacing(10)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addLayout(row)
        self._selection()

    async def load(self) -> None:
        """Read the catalog (files) in a worker thread."""
        try:
            self.entries = await asyncio.to_thread(self._load)
        except SwitchboardError as exc:
            self.status.setText(str(exc))
            return
        self._filter(self.search.text())

    def _filter(self, text: str) -> None:
        needle = text.strip()
        if needle:
            scored = [(e.matches(needle), e) for e in self.entries]
            shown = [e for s, e in sorted(scored, key=lambda p: -p[0]) if s > 0]
        else:
            shown = sorted(self.entries, key=lambda e: e.display.lower())
        self.list.clear()
        for entry in shown:
            item = QListWidgetItem(f"{entry.display}\n{_first_line(entry.description)}")
            item.setData(ENTRY_ROLE, entry)
            item.setToolTip(entry.name)
            self.list.addItem(item)
        self.status.setText(
            f"{len(shown)} of {len(self.entries)} servers" if self.entries else "No catalog."
        )
        if self.list.count():
            self.list.setCurrentRow(0)
        self._selection()

    def _selection(self) -> None:
        self.use.setEnabled(self.list.currentItem() is not None)

    def use_selected(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        entry = item.data(ENTRY_ROLE)
        try:
            plan = self._plan(entry)
        except SwitchboardError as exc:
            self.status.setText(str(exc))
            return
        notes = [f"From the catalog: {entry.display} ({entry.name})."]
        for need in getattr(plan, "secrets", ()):
            notes.append(
                f"Needs the secret {need.secret!r} for {need.env}"
                + (f" ({need.description})" if need.description else "")
                + f": set it with 'switchboard secret set {need.secret}'."
            )
        notes += list(getattr(plan, "notes", ()))
        self.chosen.emit(plan.spec, "\n".join(notes))


def _first_line(text: str) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= 110 else line[:107] + "…"


def _load_catalog() -> list[Any]:
    from switchboard.catalog.catalog import Catalog

    return Catalog().entries()


def _plan(entry: Any) -> Any:
    from switchboard.catalog.plan import plan_install

    return plan_install(entry, which=shutil.which)
