"""The live log of one server: search, level filter, follow."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from switchboard.ui.engine_bridge import EngineBridge
from switchboard.ui.icons import action_icon
from switchboard.ui.models import Level, LogFilter, LogModel

LEVEL_CHOICES = (
    ("All lines", Level.DEBUG),
    ("Info and above", Level.INFO),
    ("Warnings and errors", Level.WARNING),
    ("Errors only", Level.ERROR),
)


class LogView(QWidget):
    """A filtered, optionally following view of :class:`LogModel`."""

    def __init__(self, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = LogModel(bridge, parent=self)
        self.proxy = LogFilter(self)
        self.proxy.setSourceModel(self.model)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search the log")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search the log")
        self.search.addAction(action_icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search.textChanged.connect(self.proxy.set_search)
        self.level = QComboBox()
        self.level.setAccessibleName("Minimum log level")
        for label, level in LEVEL_CHOICES:
            self.level.addItem(label, level)
        self.level.currentIndexChanged.connect(
            lambda _i: self.proxy.set_min_level(self.level.currentData())
        )
        self.follow = QCheckBox("&Follow")
        self.follow.setToolTip("Keep the newest line in view")
        self.follow.setAccessibleName("Follow new log lines")
        self.follow.setChecked(True)
        self.follow.toggled.connect(self._follow_toggled)
        self.copy = QPushButton(action_icon("copy"), "Copy")
        self.copy.setAccessibleName("Copy the visible log")
        self.copy.clicked.connect(self.copy_visible)

        self.list = QListView()
        self.list.setModel(self.proxy)
        self.list.setUniformItemSizes(True)
        self.list.setAccessibleName("Server log")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.list.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.list.setObjectName("log")
        self.list.setWordWrap(False)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.proxy.rowsInserted.connect(self._rows_inserted)
        self.proxy.modelReset.connect(self._scroll_if_following)
        self.list.verticalScrollBar().valueChanged.connect(self._scrolled)

        bar = QHBoxLayout()
        bar.setSpacing(8)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.level)
        bar.addWidget(self.follow)
        bar.addWidget(self.copy)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.setSpacing(8)
        layout.addLayout(bar)
        layout.addWidget(self.list, 1)
        find = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self)
        find.activated.connect(self.focus_search)

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def set_server(self, name: str) -> None:
        self.model.set_server(name)
        self._scroll_if_following()

    def visible_text(self) -> str:
        rows = range(self.proxy.rowCount())
        return "\n".join(str(self.proxy.data(self.proxy.index(r, 0))) for r in rows)

    def copy_visible(self) -> None:
        QGuiApplication.clipboard().setText(self.visible_text())

    def _rows_inserted(self, _parent: QModelIndex, _first: int, _last: int) -> None:
        self._scroll_if_following()

    def _scroll_if_following(self) -> None:
        if self.follow.isChecked():
            self.list.scrollToBottom()

    def _follow_toggled(self, on: bool) -> None:
        if on:
            self.list.scrollToBottom()

    def _scrolled(self, value: int) -> None:
        # Scrolling up to read stops following; scrolling back to the end resumes it.
        bar = self.list.verticalScrollBar()
        at_end = value >= bar.maximum()
        interacting = self.list.underMouse() or self.list.hasFocus()
        if self.follow.isChecked() != at_end and bar.maximum() > 0 and interacting:
            self.follow.setChecked(at_end)
