"""The add-server dialog.

Sources are tabs: today "Custom command"; the catalog issue adds a catalog tab with
:meth:`AddServerDialog.add_source`, whose widget proposes a spec through
:meth:`AddServerDialog.propose` (it lands in the form for review before adding).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from switchboard.core.errors import ValidationError
from switchboard.core.spec import ServerSpec
from switchboard.ui.icons import app_icon
from switchboard.ui.serverform import ServerForm


class AddServerDialog(QDialog):
    """Collects a new :class:`ServerSpec`. ``result_spec`` and ``start`` after accept."""

    def __init__(self, existing: set[str] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a server — Switchboard")
        self.setWindowIcon(app_icon())
        self.resize(640, 660)
        self.existing = existing or set()
        self.result_spec: ServerSpec | None = None
        self.start = False

        self.form = ServerForm()
        intro = QLabel(
            "Run any MCP server that talks over stdio, e.g. <code>npx -y "
            "@modelcontextprotocol/server-everything stdio</code> or <code>uvx mcp-server-time"
            "</code>. Switchboard starts it and serves it at one local address."
        )
        intro.setWordWrap(True)
        intro.setObjectName("secondary")
        custom = QWidget()
        custom_layout = QVBoxLayout(custom)
        custom_layout.setContentsMargins(16, 14, 16, 8)
        custom_layout.setSpacing(12)
        self.note = QLabel()
        self.note.setObjectName("noteBox")
        self.note.setWordWrap(True)
        self.note.setAccessibleName("About this server")
        self.note.hide()
        custom_layout.addWidget(intro)
        custom_layout.addWidget(self.note)
        custom_layout.addWidget(self.form, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(custom)

        self.sources = QTabWidget()
        self.sources.setDocumentMode(True)
        self.sources.setAccessibleName("Where the server comes from")
        self.custom_index = self.sources.addTab(scroll, "Custom command")

        self.buttons = QDialogButtonBox()
        self.add_button = QPushButton("&Add")
        self.add_start_button = QPushButton("Add and &start")
        self.add_start_button.setDefault(True)
        self.buttons.addButton(self.add_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.add_start_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.add_button.clicked.connect(lambda: self._finish(start=False))
        self.add_start_button.clicked.connect(lambda: self._finish(start=True))
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(10)
        layout.addWidget(self.sources, 1)
        layout.addWidget(self.form.error)
        layout.addWidget(self.buttons)
        self.sources.currentChanged.connect(
            lambda i: self.form.error.setVisible(i == self.custom_index)
        )
        self.form.validity.connect(self._validity)
        self.form.name.textChanged.connect(lambda _t: self._validity(self.form.valid))
        self._validity(self.form.valid)
        self.form.name.setFocus(Qt.FocusReason.OtherFocusReason)

    def add_source(self, widget: QWidget, title: str) -> int:
        """Add a source tab (catalog, registry) before the custom one."""
        index = self.sources.insertTab(0, widget, title)
        self.custom_index = self.sources.count() - 1
        self.sources.setCurrentIndex(0)
        self.form.error.setVisible(False)
        return index

    def propose(self, spec: ServerSpec, note: str = "") -> None:
        """Fill the form from a source's suggestion, for review."""
        self.form.set_spec(spec)
        self.form._base = None  # a proposal is new, not an edit
        self.note.setText(note)
        self.note.setVisible(bool(note))
        self.sources.setTabText(self.custom_index, "Review && add")
        self.sources.setCurrentIndex(self.custom_index)
        self._validity(self.form.valid)

    def _validity(self, valid: bool) -> None:
        name = self.form.name.text().strip()
        taken = name in self.existing
        if taken:
            self.form.error.setText(f"A server named {name!r} exists already.\nPick another name.")
        ok = valid and not taken
        self.add_button.setEnabled(ok)
        self.add_start_button.setEnabled(ok)

    def _finish(self, *, start: bool) -> None:
        try:
            spec = self.form.spec()
        except ValidationError:
            return
        if spec.name in self.existing:
            return
        self.result_spec = spec
        self.start = start
        self.accept()
