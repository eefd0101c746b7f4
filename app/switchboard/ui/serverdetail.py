"""The detail pane under the servers table: the selected server's name, state, MCP URL
and start/stop/restart, why it failed (the error box), and tabs with its live log and
its settings form (save, revert, remove)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from switchboard.catalog.catalog import Catalog
from switchboard.catalog.model import CatalogEntry
from switchboard.catalog.registry import RegistryClient
from switchboard.catalog.updates import Update, update_for, updated_spec
from switchboard.core.errors import SwitchboardError, ValidationError
from switchboard.core.events import StateChanged
from switchboard.core.spec import ServerSpec
from switchboard.core.state import ServerState
from switchboard.ui.engine_bridge import EngineBridge
from switchboard.ui.icons import action_icon, state_icon
from switchboard.ui.inspector.panel import InspectorPanel
from switchboard.ui.logview import LogView
from switchboard.ui.models import STATE_LABELS
from switchboard.ui.secretdialog import ask_secret
from switchboard.ui.serverform import ServerForm
from switchboard.ui.signin import SignInRow


def failure_text(detail: str, last_stderr: str) -> str:
    """Why a server failed, in three lines at most: the supervisor's summary and the
    server's own last words (Switchboard's 'started pid'/'exited' lines left out)."""
    summary = (detail or "The server stopped unexpectedly.").split("Last output:")[0].strip()
    own = [
        ln.strip()
        for ln in (last_stderr or detail).splitlines()
        if ln.strip() and not ln.startswith(("started pid", "process exited", "Last output"))
    ]
    text = summary.splitlines()[0] if summary else "The server stopped unexpectedly."
    if own and own[-1] not in text:
        text += f"\nIts last output: {own[-1]}"
    return text + "\nThe whole log is below."


def runs_as_text(resolved: str, notice: str) -> str:
    """Beside the command as the person wrote it (Settings tab): what actually runs,
    when Switchboard runs an npm/PyPI package's own program instead of npx/uvx."""
    if resolved:
        return f"Runs as: {resolved}"
    return notice


class ServerDetail(QWidget):
    """Header (name, state, URL, start/stop) and tabs: live log, settings."""

    def __init__(self, bridge: EngineBridge, on_copy: Callable[[str], None]) -> None:
        super().__init__()
        self.bridge = bridge
        self.name = ""
        self._on_copy = on_copy
        self.title = QLabel()
        self.title.setObjectName("detailTitle")
        self.state_icon = QLabel()
        self.state_text = QLabel()
        self.state_text.setObjectName("secondary")
        self.state_text.setAccessibleName("Server state")
        self.url = QLineEdit()
        self.url.setReadOnly(True)
        self.url.setAccessibleName("MCP URL")
        self.copy_url = QToolButton()
        self.copy_url.setIcon(action_icon("copy"))
        self.copy_url.setToolTip("Copy the MCP URL")
        self.copy_url.setAccessibleName("Copy the MCP URL")
        self.copy_url.clicked.connect(lambda: self._on_copy(self.url.text()))
        self.toggle = QPushButton()
        self.toggle.setAccessibleName("Start or stop this server")
        self.toggle.clicked.connect(self._toggle)
        self.restart = QPushButton(action_icon("restart"), "Restart")
        self.restart.setAccessibleName("Restart this server")
        self.restart.clicked.connect(lambda: self.bridge.restart_server(self.name))
        self.failure = QLabel()
        self.failure.setObjectName("errorBox")
        self.failure.setWordWrap(True)
        self.failure.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.failure.setAccessibleName("Why the server failed")
        self.runs_as = QLabel()
        self.runs_as.setObjectName("secondary")
        self.runs_as.setWordWrap(True)
        self.runs_as.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.runs_as.setAccessibleName("The command that runs")
        self.update_button = QPushButton()
        self.update_button.setAccessibleName("Update this server's package")
        self.update_button.setVisible(False)
        self.update_button.clicked.connect(self._apply_update)
        self._catalog: list[CatalogEntry] | None = None
        self._update: Update | None = None

        head = QHBoxLayout()
        head.setSpacing(8)
        head.addWidget(self.title)
        head.addSpacing(6)
        head.addWidget(self.state_icon)
        head.addWidget(self.state_text)
        head.addStretch(1)
        head.addWidget(self.update_button)
        head.addWidget(self.restart)
        head.addWidget(self.toggle)
        url_row = QHBoxLayout()
        url_row.setSpacing(6)
        url_label = QLabel("MCP URL")
        url_label.setObjectName("secondary")
        url_label.setBuddy(self.url)
        url_row.addWidget(url_label)
        url_row.addWidget(self.url, 1)
        url_row.addWidget(self.copy_url)

        self.log_view = LogView(bridge)
        self.form = ServerForm(name_editable=False)
        self.save = QPushButton("&Save changes")
        self.save.setAccessibleName("Save server settings")
        self.revert = QPushButton("Re&vert")
        self.remove = QPushButton(action_icon("remove"), "Remove server…")
        self.remove.setAccessibleName("Remove this server")
        self.save.clicked.connect(self._save)
        self.revert.clicked.connect(self._revert)
        self.form.validity.connect(lambda _ok: self._form_state())
        self.form.setSecretRequested.connect(
            lambda name: ask_secret(self, bridge, name, on_stored=self.check_secrets)
        )
        settings = QWidget()
        sl = QVBoxLayout(settings)
        sl.setContentsMargins(4, 12, 4, 4)
        sl.addWidget(self.form, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.form.error, 1)
        buttons.insertWidget(0, self.remove)
        buttons.addWidget(self.revert)
        buttons.addWidget(self.save)
        sl.addLayout(buttons)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(settings)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.log_view, "&Log")
        self.tabs.addTab(scroll, "Se&ttings")
        self.inspector = InspectorPanel(bridge)
        self.tabs.addTab(self.inspector, "T&ools")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(8)
        layout.addLayout(head)
        layout.addLayout(url_row)
        self.signin = SignInRow(bridge)
        layout.addWidget(self.signin)
        layout.addWidget(self.runs_as)
        layout.addWidget(self.failure)
        layout.addWidget(self.tabs, 1)
        bridge.stateChanged.connect(self._on_state)
        bridge.configChanged.connect(lambda _e: self.refresh(form=not self.form.is_dirty()))

    def show_server(self, name: str) -> None:
        if name == self.name:
            return
        self.name = name
        self.log_view.set_server(name)
        self.inspector.set_server(name)
        self.refresh(form=True)

    def refresh(self, *, form: bool = False) -> None:
        name = self.name
        status = self.bridge.status(name) if name else None
        if status is None:
            return
        self.title.setText(name)
        self.state_icon.setPixmap(state_icon(status.state).pixmap(16, 16))
        text = STATE_LABELS[status.state]
        if status.pid and status.state is ServerState.RUNNING:
            text += f" · PID {status.pid}"
        self.state_text.setText(text)
        self.url.setText(self.bridge.server_url(name))
        self.signin.show_server(name)
        active = status.state.is_active
        self.toggle.setText("&Stop" if active else "&Start")
        self.toggle.setIcon(action_icon("stop" if active else "start"))
        self.restart.setEnabled(active)
        self.runs_as.setText(runs_as_text(status.resolved_command, status.resolution_notice))
        self.runs_as.setVisible(bool(self.runs_as.text()))
        failed = status.state is ServerState.FAILED
        self.failure.setVisible(failed)
        if failed:
            self.failure.setText(failure_text(status.detail, status.last_stderr))
        if form:
            try:
                spec = self.bridge.spec(name)
            except Exception:  # removed meanwhile
                return
            self.form.set_spec(spec)
            self._form_state()
            self.check_secrets()
            self._show_update(spec)

    def check_secrets(self) -> None:
        """Say which of the server's secrets the keyring lacks (asked off the loop)."""
        names = sorted(set(self.form.secrets.pairs().values()))
        if not names:
            self.form.show_missing_secrets([])
            return

        async def check() -> None:
            missing = await self.bridge.missing_secrets(names)
            self.form.show_missing_secrets(missing)

        self.bridge.submit("Check secrets", check(), quiet=True)

    def _show_update(self, spec: ServerSpec) -> None:
        """A newer catalog version of the server's npm/PyPI package: offer it."""
        if self._catalog is None:
            self._update = None
            self.update_button.setVisible(False)

            async def load() -> None:
                registry = RegistryClient(self.bridge.engine.paths.cache_dir)
                self._catalog = await asyncio.to_thread(Catalog(registry).entries)
                if self.name == spec.name:
                    self._show_update(spec)

            self.bridge.submit("Check for newer versions", load(), quiet=True)
            return
        self._update = update_for(spec, self._catalog)
        self.update_button.setVisible(self._update is not None)
        if self._update is not None:
            self.update_button.setText(f"Update to {self._update.newest}")
            self.update_button.setToolTip(
                f"The catalog has {self._update.package} {self._update.newest}; it installs "
                "beside the current version and the server restarts."
            )

    def _apply_update(self) -> None:
        update = self._update
        if update is None or update.server != self.name:
            return
        try:
            spec = updated_spec(self.bridge.spec(self.name), update)
        except SwitchboardError:
            return
        self.update_button.setVisible(False)
        self.bridge.update_server(spec)

    def _on_state(self, event: StateChanged) -> None:
        if event.name == self.name:
            self.refresh()

    def _toggle(self) -> None:
        status = self.bridge.status(self.name)
        if status is not None:
            self.bridge.set_running(self.name, not status.state.is_active)

    def _form_state(self) -> None:
        dirty = self.form.is_dirty()
        self.save.setEnabled(self.form.valid and dirty)
        self.revert.setEnabled(dirty)

    def _save(self) -> None:
        try:
            spec = self.form.spec()
        except ValidationError:
            return
        task = self.bridge.update_server(spec)
        task.add_done_callback(lambda _t: self._form_state())

    def _revert(self) -> None:
        self.refresh(form=True)
