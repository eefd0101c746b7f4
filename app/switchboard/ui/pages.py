"""The "Clients & access" and "Settings" pages of the main window."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
from typing import Any
from urllib.parse import urlsplit

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from switchboard import autostart
from switchboard.auth.consent import ConsentRequest, redirect_short
from switchboard.auth.targetkeys import labels
from switchboard.core.errors import SwitchboardError
from switchboard.core.paths import AppPaths
from switchboard.ui.engine_bridge import ClientView, EngineBridge, GrantView
from switchboard.ui.theme import THEMES, apply_theme

log = logging.getLogger("switchboard.ui")


def _when(ts: float | None) -> str:
    if not ts:
        return "—"
    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


GRANT_COLUMNS = (
    "Client",
    "Client ID",
    "Returns to",
    "Server",
    "Granted",
    "Last used",
    "Remembered",
)


def grant_cells(g: GrantView) -> tuple[str, ...]:
    """The row of a grant in the "Clients with access" table (:data:`GRANT_COLUMNS`):
    enough to tell two grants of the same app apart."""
    server = labels(g.server.split()) or "all servers"
    endpoint = urlsplit(g.resource).path.rsplit("/", 1)[-1] if g.resource else ""
    if endpoint and endpoint != "mcp":
        server = f"{server} ({endpoint})"
    return (
        g.client_name or g.client_id,
        g.client_id,
        redirect_short(g.redirect_uri) if g.redirect_uri else "—",
        server,
        _when(g.created_at),
        _when(g.last_used),
        "Yes" if g.remembered else "—",
    )


def _table(headers: list[str], accessible: str) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.setAlternatingRowColors(True)
    table.setShowGrid(False)
    table.setAccessibleName(accessible)
    table.setTabKeyNavigation(False)
    return table


def _button_row(*buttons: QWidget) -> QHBoxLayout:
    """A box's buttons, right-aligned under its table."""
    row = QHBoxLayout()
    row.addStretch(1)
    for button in buttons:
        row.addWidget(button)
    return row


class ClientsPage(QWidget):
    """Pending consent requests and the grants clients hold, with revoke."""

    review = Signal(object)
    """:class:`ConsentRequest` the person wants to look at"""

    def __init__(self, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.grants: list[GrantView] = []
        self._pending: list[ConsentRequest] = []

        self.pending_box = QGroupBox("Waiting for your decision")
        self.pending_table = _table(["Client", "Server", "Returns to", "Asked"], "Pending requests")
        self.pending_table.doubleClicked.connect(lambda _i: self._review_selected())
        self.review_button = QPushButton("&Review…")
        self.review_button.setAccessibleName("Review the selected request")
        self.review_button.clicked.connect(self._review_selected)
        self.pending_table.setMaximumHeight(150)
        pl = QVBoxLayout(self.pending_box)
        pl.addWidget(self.pending_table)
        pl.addLayout(_button_row(self.review_button))

        self.grants_box = QGroupBox("Clients with access")
        self.grants_table = _table(list(GRANT_COLUMNS), "Clients with access")
        self.grants_note = QLabel()
        self.grants_note.setWordWrap(True)
        self.grants_note.setObjectName("secondary")
        self.revoke_button = QPushButton("Re&voke access")
        self.revoke_button.setAccessibleName("Revoke the selected client's access")
        self.revoke_button.clicked.connect(self._revoke_selected)
        self.refresh_button = QPushButton("Re&fresh")
        self.refresh_button.clicked.connect(self.refresh)
        gl = QVBoxLayout(self.grants_box)
        gl.addWidget(self.grants_note)
        gl.addWidget(self.grants_table, 1)
        gl.addLayout(_button_row(self.refresh_button, self.revoke_button))
        self.grants_table.itemSelectionChanged.connect(self._selection)

        self.clients_box = QGroupBox("MCP clients on this computer")
        self.clients_table = _table(
            ["Client", "Installed", "Uses Switchboard", "Config file"], "MCP clients"
        )
        self.clients_note = QLabel(
            "Connect a client to write your servers' addresses into its config file "
            "(a backup of the file is kept). Connected clients follow when you add or "
            "remove servers. Codex signs in only when asked: after connecting it, run "
            "codex mcp login NAME once for each server."
        )
        self.clients_note.setWordWrap(True)
        self.clients_note.setObjectName("secondary")
        self.connect_button = QPushButton("&Connect")
        self.connect_button.setAccessibleName("Connect the selected client")
        self.connect_button.clicked.connect(lambda: self._connect_selected(True))
        self.disconnect_button = QPushButton("D&isconnect")
        self.disconnect_button.setAccessibleName("Disconnect the selected client")
        self.disconnect_button.clicked.connect(lambda: self._connect_selected(False))
        cl = QVBoxLayout(self.clients_box)
        cl.addWidget(self.clients_note)
        cl.addWidget(self.clients_table, 1)
        cl.addLayout(_button_row(self.disconnect_button, self.connect_button))
        self.clients_table.itemSelectionChanged.connect(self._client_selection)
        header = self.clients_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for col, width in enumerate((170, 90, 150)):
            header.resizeSection(col, width)
        self.clients: list[ClientView] = []

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.setSpacing(14)
        layout.addWidget(self.pending_box)
        layout.addWidget(self.clients_box, 1)
        layout.addWidget(self.grants_box, 1)

        bridge.consentRequested.connect(lambda _r: self.refresh_pending())
        bridge.consentDecided.connect(lambda _id: self.refresh_pending())
        bridge.actionDone.connect(self._maybe_refresh)
        self.refresh_pending()
        self._selection()

    # -- pending -----------------------------------------------------------------------
    def refresh_pending(self) -> None:
        self._pending = self.bridge.pending_consents()
        t = self.pending_table
        t.setRowCount(len(self._pending))
        for r, req in enumerate(self._pending):
            client = req.client_name or req.client_id
            if req.previously_approved:
                client += " (approved before)"
            for c, text in enumerate(
                (
                    client,
                    req.target or "(choose servers)",
                    redirect_short(req.redirect_uri),
                    _when(req.created_at),
                )
            ):
                item = QTableWidgetItem(text)
                item.setToolTip(req.redirect_uri)
                t.setItem(r, c, item)
        self.pending_box.setVisible(bool(self._pending))
        self.review_button.setEnabled(bool(self._pending))

    def _review_selected(self) -> None:
        row = self.pending_table.currentRow()
        if 0 <= row < len(self._pending):
            self.review.emit(self._pending[row])
        elif self._pending:
            self.review.emit(self._pending[0])

    # -- MCP clients -------------------------------------------------------------------
    async def _load_clients(self) -> None:
        self.show_clients(await self.bridge.list_clients())

    def show_clients(self, clients: list[ClientView]) -> None:
        selected = self._selected_client()
        self.clients = clients
        t = self.clients_table
        t.setRowCount(len(clients))
        for r, c in enumerate(clients):
            uses = f"Yes, {c.servers} server{'s' if c.servers != 1 else ''}" if c.connected else "—"
            cells = (c.title, "Yes" if c.installed else "—", c.error or uses, c.config_path)
            for col, text in enumerate(cells):
                t.setItem(r, col, QTableWidgetItem(text))
            if selected is not None and c.id == selected.id:
                t.selectRow(r)
        self._client_selection()

    def _selected_client(self) -> ClientView | None:
        row = self.clients_table.currentRow()
        return self.clients[row] if 0 <= row < len(self.clients) else None

    def _client_selection(self) -> None:
        c = self._selected_client()
        self.connect_button.setEnabled(c is not None and not c.connected)
        self.disconnect_button.setEnabled(c is not None and c.connected)

    def _connect_selected(self, on: bool) -> None:
        c = self._selected_client()
        if c is not None:
            self.bridge.set_client_connected(c.id, c.title, on)

    # -- grants ------------------------------------------------------------------------
    def refresh(self) -> asyncio.Task[None]:
        """Reload pending requests now, and MCP clients and grants off the loop."""
        self.refresh_pending()
        self.bridge.submit("Load MCP clients", self._load_clients(), quiet=True)
        return self.bridge.submit("Load grants", self._load(), quiet=True)

    async def _load(self) -> None:
        try:
            grants = await self.bridge.list_grants()
        except SwitchboardError as exc:
            self.grants_note.setText(str(exc))
            return
        self.show_grants(grants)

    def show_grants(self, grants: list[GrantView]) -> None:
        self.grants = grants
        t = self.grants_table
        t.setRowCount(len(grants))
        for r, g in enumerate(grants):
            tip = (
                f"{g.client_name or g.client_id}\nClient ID: {g.client_id}\n"
                f"Returns to: {g.redirect_uri or '?'}\nResource: {g.resource or g.server}\n"
                f"Access: {' '.join(g.scopes) or 'mcp'}"
            )
            for c, text in enumerate(grant_cells(g)):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                t.setItem(r, c, item)
        self.grants_note.setText(
            "These clients hold tokens for your servers. Remembered ones stay connected for "
            "90 days after each use; a new sign-in always asks you. Revoking ends their "
            "tokens now."
            if grants
            else "No client has access yet. When a client connects, Switchboard asks you first."
        )
        self._selection()

    def _selection(self) -> None:
        self.revoke_button.setEnabled(0 <= self.grants_table.currentRow() < len(self.grants))

    def _revoke_selected(self) -> None:
        row = self.grants_table.currentRow()
        if 0 <= row < len(self.grants):
            g = self.grants[row]
            self.bridge.revoke_grant(g.id, g.client_name or g.client_id)

    def _maybe_refresh(self, what: str) -> None:
        if what.startswith(("Revoke access", "Connect ", "Disconnect ")):
            self.refresh()


class SettingsPage(QWidget):
    """Port, start at login, appearance, how much activity is kept, where the files are."""

    def __init__(
        self, bridge: EngineBridge, paths: AppPaths | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge

        self.port = QSpinBox()
        self.port.setRange(1024, 65535)
        self.port.setMaximumWidth(140)
        self.port.setAccessibleName("Gateway port")
        self.port_note = QLabel(
            "Client configs point at this port. A new port applies after Switchboard restarts."
        )
        self.port_note.setObjectName("secondary")
        self.port_note.setWordWrap(True)
        self.start_at_login = QCheckBox("Start Switchboard when I log in")
        self.start_at_login.setAccessibleName("Start Switchboard when I log in")
        self.theme = QComboBox()
        self.theme.setMaximumWidth(260)
        self.theme.setAccessibleName("Appearance")
        for label, value in THEMES:
            self.theme.addItem(label, value)
        self.otlp = QLineEdit()
        self.otlp.setPlaceholderText("Off. e.g. http://127.0.0.1:4318")
        self.otlp.setAccessibleName("OpenTelemetry endpoint")
        self.otlp.setToolTip(
            "Send a trace span per gateway request and request metrics to this "
            "OTLP/HTTP collector. Empty: off."
        )
        self.activity_rows = QSpinBox()
        self.activity_rows.setRange(100, 10_000_000)
        self.activity_rows.setSingleStep(10_000)
        self.activity_rows.setGroupSeparatorShown(True)
        self.activity_rows.setSuffix(" requests")
        self.activity_rows.setMaximumWidth(220)
        self.activity_rows.setAccessibleName("Activity keeps at most this many requests")
        self.activity_days = QSpinBox()
        self.activity_days.setRange(1, 3650)
        self.activity_days.setSuffix(" days")
        self.activity_days.setMaximumWidth(140)
        self.activity_days.setAccessibleName("Activity keeps requests for this many days")
        self.save_button = QPushButton("&Save settings")
        self.save_button.setAccessibleName("Save settings")
        self.save_button.clicked.connect(self.save)
        self.status = QLabel()
        self.status.setObjectName("secondary")

        form = QFormLayout()
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(10)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.addRow("Gateway &port", self.port)
        form.addRow("", self.port_note)
        form.addRow("", self.start_at_login)
        form.addRow("&Appearance", self.theme)
        form.addRow("&OpenTelemetry (OTLP/HTTP)", self.otlp)
        form.addRow("Activity &keeps", self.activity_rows)
        form.addRow("… for at &most", self.activity_days)
        if paths is not None:
            form.addRow("Config file", _path_label(str(paths.config_file)))
            form.addRow("Server logs", _path_label(str(paths.log_dir)))
            form.addRow("Audit log", _path_label(str(paths.log_dir / "audit.jsonl")))
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(self.save_button)
        box = QGroupBox("Switchboard")
        box.setLayout(form)
        box.setMaximumWidth(760)
        row_widget = QWidget()
        row_widget.setMaximumWidth(760)
        row_widget.setLayout(row)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.setSpacing(14)
        layout.addWidget(box)
        layout.addWidget(row_widget)
        layout.addStretch(1)
        self.load()
        # Settings changes carry no server names; server edits leave this page alone.
        bridge.configChanged.connect(lambda e: None if e.names else self._settings_changed())

    def _settings_changed(self) -> None:
        s = self.bridge.settings
        self.port.setValue(max(1024, s.port))
        self.theme.setCurrentIndex(max(0, self.theme.findData(s.theme)))
        self.otlp.setText(s.otlp_endpoint)

    def load(self) -> None:
        s = self.bridge.settings
        self.port.setValue(max(1024, s.port))
        self.theme.setCurrentIndex(max(0, self.theme.findData(s.theme)))
        self.otlp.setText(s.otlp_endpoint)
        self.start_at_login.setChecked(s.start_at_login)
        self.activity_rows.setValue(s.activity_max_rows)
        self.activity_days.setValue(s.activity_max_days)
        # The login entry is the truth (it may have been removed by hand); reading it
        # touches files, so off the loop.
        self.bridge.submit("Read start at login", self._read_autostart(), quiet=True)

    async def _read_autostart(self) -> None:
        on = await asyncio.to_thread(autostart.is_enabled)
        self.start_at_login.setChecked(on)

    def save(self) -> asyncio.Task[Any]:
        return self.bridge.submit("Save settings", self._save())

    async def _save(self) -> None:
        old = self.bridge.settings
        new = dataclasses.replace(
            old,
            port=self.port.value(),
            theme=str(self.theme.currentData()),
            start_at_login=self.start_at_login.isChecked(),
            otlp_endpoint=self.otlp.text().strip(),
            activity_max_rows=self.activity_rows.value(),
            activity_max_days=self.activity_days.value(),
        )
        on = await asyncio.to_thread(autostart.is_enabled)
        if on != new.start_at_login:
            await asyncio.to_thread(autostart.set_enabled, new.start_at_login)
        if new != old:
            await self.bridge.write_settings(new)
        apply_theme(new.theme)
        self.status.setText(
            "Saved. Restart Switchboard to listen on the new port."
            if new.port != old.port
            else "Saved."
        )


def _path_label(text: str) -> QLabel:
    """A file path: selectable, and never what sets the window's minimum width (a long
    home folder would; the view cuts it and the tooltip has it whole)."""
    label = QLabel(text)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setObjectName("secondary")
    label.setToolTip(text)
    policy = label.sizePolicy()
    policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
    label.setSizePolicy(policy)
    return label
