"""The servers table of the main window: one row per configured server (name, state,
uptime, restarts, memory, last hour's activity with a sparkline, MCP URL with a copy
icon); Space/Enter toggles a server, Ctrl+C copies its URL. The rows come from
:class:`switchboard.ui.models.ServersModel`."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    Qt,
    Signal,
)
from PySide6.QtGui import QKeyEvent, QKeySequence, QMouseEvent, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from switchboard.ui.activity.sparkline import SparklineDelegate
from switchboard.ui.icons import action_icon
from switchboard.ui.models import URL_ROLE, Column, ServersModel


class UrlDelegate(QStyledItemDelegate):
    """Draws the MCP URL with a copy icon at the right; a click on it copies."""

    def __init__(self, on_copy: Callable[[str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._on_copy = on_copy
        self._icon = action_icon("copy")

    def _icon_rect(self, rect: QRect) -> QRect:
        size = 16
        return QRect(rect.right() - size - 8, rect.center().y() - size // 2 + 1, size, size)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        opt = QStyleOptionViewItem(option)
        opt.rect = option.rect.adjusted(0, 0, -30, 0)
        super().paint(painter, opt, index)
        if index.data(URL_ROLE):
            self._icon.paint(painter, self._icon_rect(option.rect))

    def editorEvent(
        self,
        event: QEvent,
        model: QAbstractItemModel,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> bool:
        rect: QRect = option.rect
        if (
            event.type() == QEvent.Type.MouseButtonRelease
            and isinstance(event, QMouseEvent)
            and self._icon_rect(rect).contains(event.position().toPoint())
        ):
            url = index.data(URL_ROLE)
            if url:
                self._on_copy(str(url))
            return True
        return super().editorEvent(event, model, option, index)


class ServersTable(QTableView):
    """The servers table; Space or Enter toggles the current server, Ctrl+C copies its URL."""

    toggleRequested = Signal(int)
    copyRequested = Signal(int)

    def __init__(
        self,
        model: ServersModel,
        on_copy: Callable[[str], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setAccessibleName("Servers")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        self.setTabKeyNavigation(False)
        self.setWordWrap(False)
        self.verticalHeader().setDefaultSectionSize(30)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        # Fixed, measured-once widths: ResizeToContents would re-measure every row on
        # every change (a 50-server table then costs a full column scan per update).
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        metrics = self.fontMetrics()
        header.resizeSection(Column.NAME, 170)
        header.resizeSection(Column.STATUS, 130)
        header.resizeSection(Column.UPTIME, metrics.horizontalAdvance("Uptime") + 48)
        header.resizeSection(Column.RESTARTS, metrics.horizontalAdvance("Restarts") + 36)
        header.resizeSection(Column.MEMORY, metrics.horizontalAdvance("1023.9 MiB") + 28)
        header.resizeSection(Column.ACTIVITY, metrics.horizontalAdvance("999 · 10% err") + 80)
        self.setItemDelegateForColumn(Column.ACTIVITY, SparklineDelegate(self))
        self.setItemDelegateForColumn(Column.URL, UrlDelegate(on_copy, self))
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        row = self.currentIndex().row()
        if row >= 0 and event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.toggleRequested.emit(row)
            event.accept()
        elif row >= 0 and event.matches(QKeySequence.StandardKey.Copy):
            self.copyRequested.emit(row)
            event.accept()
        else:
            super().keyPressEvent(event)
