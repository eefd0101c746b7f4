"""The editor for one server's settings, with inline validation.

Every edit builds a :class:`ServerSpec`; its :class:`ValidationError` (what is wrong and
what to do) is shown under the form and the Save button stays disabled until the
spec is valid. The same form serves the add-server dialog and the detail pane.
"""

from __future__ import annotations

import dataclasses
import shlex

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from switchboard.core.errors import ValidationError
from switchboard.core.spec import (
    DEFAULT_SLEEP_AFTER,
    MAX_SLEEP_AFTER,
    AuthMode,
    Isolation,
    ServerSpec,
    StartMode,
    Transport,
)

AUTH_LABELS = {
    AuthMode.SWITCHBOARD: "Switchboard sign-in (recommended)",
    AuthMode.EXTERNAL: "External identity provider",
    AuthMode.OFF: "No sign-in (any local program)",
}
AUTH_OFF_MEANS = (
    "Anyone on this computer, including any local program, can call this server; web pages cannot."
)
TRANSPORT_LABELS = {
    Transport.STDIO: "Command (stdio)",
    Transport.STREAMABLE_HTTP: "Local Streamable HTTP URL",
    Transport.SSE: "Local SSE URL",
}
START_LABELS = {
    StartMode.MANUAL: "When I start it",
    StartMode.ALWAYS: "Always (when Switchboard starts)",
    StartMode.ON_DEMAND: "On demand (asleep until a client calls it)",
}
START_HELP = (
    "On demand: no process until a client calls the server; the call waits for it to "
    "start. After the idle minutes below with no call it is stopped and sleeps again "
    "(clients stay connected)."
)

ISOLATION_LABELS = {
    Isolation.AUTO: "Automatic (recommended)",
    Isolation.SERIAL: "One request at a time",
    Isolation.SHARED: "Always concurrent",
}
ISOLATION_HELP = (
    "Clients share one process of this server. When the server asks a client something "
    "(an LLM completion, a question to the user, its folders), the gateway must know "
    "which client's request caused it. Automatic: requests run side by side until the "
    "server first asks without saying for whom, then one at a time. One request at a "
    "time: from the start. Always concurrent: never wait; such questions are refused."
)


class PairTable(QWidget):
    """An editable two-column table (environment variables, secret references)."""

    changed = Signal()

    def __init__(
        self, key_label: str, value_label: str, accessible: str, extra: QPushButton | None = None
    ) -> None:
        super().__init__()
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels([key_label, value_label])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAccessibleName(accessible)
        self.table.setTabKeyNavigation(False)
        self.table.setMinimumHeight(76)
        self.table.setMaximumHeight(104)
        self.table.itemChanged.connect(lambda _item: self.changed.emit())
        add = QPushButton("Add")
        add.setAccessibleName(f"Add to {accessible}")
        add.clicked.connect(self.add_row)
        remove = QPushButton("Remove")
        remove.setAccessibleName(f"Remove from {accessible}")
        remove.clicked.connect(self.remove_selected)
        buttons = QVBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        if extra is not None:
            buttons.addWidget(extra)
        buttons.addStretch(1)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.table, 1)
        row.addLayout(buttons)

    def add_row(self, key: str = "", value: str = "") -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        self.table.setItem(r, 0, QTableWidgetItem(key))
        self.table.setItem(r, 1, QTableWidgetItem(value))
        item = self.table.item(r, 0)
        if not key and item is not None:
            self.table.setCurrentCell(r, 0)
            self.table.editItem(item)
        self.changed.emit()

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        for r in rows:
            self.table.removeRow(r)
        self.changed.emit()

    def set_pairs(self, pairs: dict[str, str]) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for key, value in pairs.items():
            r = self.table.rowCount()
            self.table.insertRow(r)
            self.table.setItem(r, 0, QTableWidgetItem(key))
            self.table.setItem(r, 1, QTableWidgetItem(value))
        self.table.blockSignals(False)

    def current_value(self) -> str:
        row = self.table.currentRow()
        item = self.table.item(row, 1) if row >= 0 else None
        return item.text().strip() if item is not None else ""

    def pairs(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for r in range(self.table.rowCount()):
            key_item, value_item = self.table.item(r, 0), self.table.item(r, 1)
            key = key_item.text().strip() if key_item else ""
            value = value_item.text() if value_item else ""
            if key:
                out[key] = value
        return out


class ServerForm(QWidget):
    """Fields of a :class:`ServerSpec`. ``validity`` tells whether it builds;
    ``setSecretRequested(name)`` asks the owner to store that secret's value."""

    validity = Signal(bool)
    setSecretRequested = Signal(str)

    def __init__(self, *, name_editable: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._base: ServerSpec | None = None
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. github")
        self.name.setAccessibleName("Server name")
        self.name.setReadOnly(not name_editable)
        self.transport = QComboBox()
        self.transport.setAccessibleName("How Switchboard reaches the server")
        for t, label in TRANSPORT_LABELS.items():
            self.transport.addItem(label, t)
        self.command = QLineEdit()
        self.command.setPlaceholderText("npx")
        self.command.setAccessibleName("Command")
        self.args = QLineEdit()
        self.args.setPlaceholderText("-y @modelcontextprotocol/server-everything stdio")
        self.args.setAccessibleName("Arguments")
        self.args.setToolTip("Arguments as you would type them in a shell (quotes work).")
        self.url = QLineEdit()
        self.url.setPlaceholderText("http://127.0.0.1:3001/mcp")
        self.url.setAccessibleName("Server URL")
        self.remote = QCheckBox("Remote server: Switchboard signs in to it (https)")
        self.remote.setAccessibleName("Remote server")
        self.remote.setToolTip(
            "On: the URL is a server on the internet; you sign in once in Switchboard and "
            "every client uses it through the gateway (the provider's token stays here).\n"
            "Off: a local server listening on this computer; requests are passed through."
        )
        self.cwd = QLineEdit()
        self.cwd.setPlaceholderText("(home folder)")
        self.cwd.setAccessibleName("Working directory")
        self.env = PairTable("Variable", "Value", "Environment variables")
        self.set_secret = QPushButton("Set value…")
        self.set_secret.setAccessibleName("Store the selected secret's value in the keyring")
        self.set_secret.setToolTip("Store the value in the system keyring (never in the config)")
        self.secrets = PairTable(
            "Variable", "Secret name", "Secret references", extra=self.set_secret
        )
        self.set_secret.clicked.connect(self._request_secret)
        self.secrets_note = QLabel()
        self.secrets_note.setObjectName("warning")
        self.secrets_note.setWordWrap(True)
        self.secrets_note.hide()
        self.secrets.setToolTip(
            "The value comes from the system keyring entry of that name; "
            "set it with 'switchboard secret set NAME'."
        )
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(0, 86400)
        self.timeout.setDecimals(0)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(600)
        self.timeout.setAccessibleName("Request timeout in seconds")
        self.auth = QComboBox()
        self.auth.setAccessibleName("Who may connect")
        for mode, label in AUTH_LABELS.items():
            self.auth.addItem(label, mode)
        self.isolation = QComboBox()
        self.isolation.setAccessibleName("How clients share the server")
        for isolation, label in ISOLATION_LABELS.items():
            self.isolation.addItem(label, isolation)
        self.isolation.setToolTip(ISOLATION_HELP)
        self.start_mode = QComboBox()
        self.start_mode.setAccessibleName("When the server runs")
        for start, label in START_LABELS.items():
            self.start_mode.addItem(label, start)
        self.start_mode.setToolTip(START_HELP)
        self.sleep_after = QDoubleSpinBox()
        self.sleep_after.setRange(0.01, MAX_SLEEP_AFTER)
        self.sleep_after.setDecimals(2)
        self.sleep_after.setSuffix(" min idle")
        self.sleep_after.setValue(DEFAULT_SLEEP_AFTER)
        self.sleep_after.setAccessibleName("Minutes without a call before it sleeps")
        self.issuer = QLineEdit()
        self.issuer.setPlaceholderText("https://login.example.com/")
        self.issuer.setAccessibleName("External issuer URL")
        self.description = QLineEdit()
        self.description.setAccessibleName("Description")
        self.record_arguments = QCheckBox("Keep arguments and results in Activity")
        self.record_arguments.setToolTip(
            "Off: Activity records who called what, when, and how it went, never the\n"
            "arguments or results (they can hold personal data). On: they are kept too,\n"
            "with the server's secrets and anything that looks like a token redacted."
        )
        self.auth.setToolTip(
            "Switchboard sign-in: each client asks you once, in this app.\n"
            "External: tokens from your identity provider.\n"
            f"No sign-in: {AUTH_OFF_MEANS}"
        )
        self.auth_warning = QLabel(
            f"Without sign-in, {AUTH_OFF_MEANS[0].lower()}{AUTH_OFF_MEANS[1:]}"
        )
        self.auth_warning.setObjectName("warning")
        self.auth_warning.setWordWrap(True)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setAccessibleName("Validation message")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(8)
        self._form = form
        form.addRow("&Name", self.name)
        form.addRow("&Runs as", self.transport)
        form.addRow("&Command", self.command)
        form.addRow("&Arguments", self.args)
        form.addRow("&URL", self.url)
        form.addRow("", self.remote)
        form.addRow("&Working folder", self.cwd)
        form.addRow("&Environment", self.env)
        form.addRow("&Secrets", self.secrets)
        form.addRow("", self.secrets_note)
        form.addRow("&Timeout", self.timeout)
        form.addRow("S&haring", self.isolation)
        form.addRow("Runs &when", self.start_mode)
        form.addRow("S&leeps after", self.sleep_after)
        form.addRow("Sign-&in", self.auth)
        form.addRow("&Issuer", self.issuer)
        form.addRow("", self.auth_warning)
        form.addRow("&Description", self.description)
        form.addRow("Acti&vity", self.record_arguments)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(form)
        outer.addWidget(self.error)
        outer.addStretch(1)

        for line in (self.name, self.command, self.args, self.url, self.cwd, self.issuer):
            line.textChanged.connect(self.revalidate)
        self.description.textChanged.connect(self.revalidate)
        self.record_arguments.toggled.connect(self.revalidate)
        self.transport.currentIndexChanged.connect(self.revalidate)
        self.remote.toggled.connect(self.revalidate)
        self.auth.currentIndexChanged.connect(self.revalidate)
        self.isolation.currentIndexChanged.connect(self.revalidate)
        self.timeout.valueChanged.connect(self.revalidate)
        self.start_mode.currentIndexChanged.connect(self.revalidate)
        self.sleep_after.valueChanged.connect(self.revalidate)
        self.env.changed.connect(self.revalidate)
        self.secrets.changed.connect(self.revalidate)
        self._valid = False
        self.revalidate()

    def _request_secret(self) -> None:
        name = self.secrets.current_value()
        if name:
            self.setSecretRequested.emit(name)

    def show_missing_secrets(self, names: list[str]) -> None:
        self.secrets_note.setText(
            "Not in the keyring yet: " + ", ".join(names) + ". Select it and click Set value…."
            if names
            else ""
        )
        self.secrets_note.setVisible(bool(names))

    # -- values ------------------------------------------------------------------------
    def set_spec(self, spec: ServerSpec) -> None:
        self._base = spec
        widgets = (self.name, self.command, self.args, self.url, self.cwd, self.issuer)
        for w in widgets:
            w.blockSignals(True)
        self.name.setText(spec.name)
        self.command.setText(spec.command)
        self.args.setText(shlex.join(spec.args))
        self.url.setText(spec.url or "")
        self.cwd.setText(spec.cwd or "")
        self.issuer.setText(spec.external_issuer or "")
        self.description.setText(spec.description)
        self.transport.setCurrentIndex(self.transport.findData(spec.transport))
        self.remote.setChecked(spec.remote)
        self.auth.setCurrentIndex(self.auth.findData(spec.auth))
        self.isolation.setCurrentIndex(self.isolation.findData(spec.isolation))
        self.timeout.setValue(spec.request_timeout)
        self.record_arguments.setChecked(spec.record_arguments)
        self.start_mode.setCurrentIndex(self.start_mode.findData(spec.start))
        self.sleep_after.setValue(spec.sleep_after)
        self.env.set_pairs(dict(spec.env))
        self.secrets.set_pairs(dict(spec.secrets))
        for w in widgets:
            w.blockSignals(False)
        self.revalidate()

    def spec(self) -> ServerSpec:
        """Build the spec from the fields; raises :class:`ValidationError`."""
        try:
            args = tuple(shlex.split(self.args.text()))
        except ValueError as exc:
            raise ValidationError(
                f"The arguments cannot be read: {exc}.", hint="Close every quote you open."
            ) from None
        transport: Transport = self.transport.currentData()
        auth: AuthMode = self.auth.currentData()
        values = {
            "name": self.name.text().strip(),
            "command": self.command.text().strip() if transport is Transport.STDIO else "",
            "args": args if transport is Transport.STDIO else (),
            "env": self.env.pairs(),
            "secrets": self.secrets.pairs(),
            "cwd": self.cwd.text().strip() or None,
            "transport": transport,
            "url": self.url.text().strip() or None if transport is not Transport.STDIO else None,
            "request_timeout": float(self.timeout.value()),
            "auth": auth,
            "isolation": self.isolation.currentData(),
            "external_issuer": self.issuer.text().strip() or None
            if auth is AuthMode.EXTERNAL
            else None,
            "description": self.description.text().strip(),
            "record_arguments": self.record_arguments.isChecked(),
            "start": self.start_mode.currentData(),
            "sleep_after": float(self.sleep_after.value()),
        }
        remote = self.remote.isChecked() and transport is not Transport.STDIO
        base = self._base
        values["remote"] = remote
        values["headers"] = dict(base.headers) if remote and base is not None else {}
        values["oauth_client_id"] = base.oauth_client_id if remote and base is not None else None
        if self._base is not None:
            return dataclasses.replace(self._base, **values)
        return ServerSpec(**values)

    @property
    def valid(self) -> bool:
        return self._valid

    def revalidate(self) -> None:
        transport: Transport | None = self.transport.currentData()
        stdio = transport is Transport.STDIO
        for w in (self.command, self.args):
            self._form.setRowVisible(w, stdio)
        self._form.setRowVisible(self.url, not stdio)
        self._form.setRowVisible(self.remote, not stdio)
        self._form.setRowVisible(self.isolation, stdio)
        on_demand = self.start_mode.currentData() is StartMode.ON_DEMAND
        self._form.setRowVisible(self.sleep_after, on_demand)
        auth: AuthMode | None = self.auth.currentData()
        self._form.setRowVisible(self.issuer, auth is AuthMode.EXTERNAL)
        self._form.setRowVisible(self.auth_warning, auth is AuthMode.OFF)
        try:
            self.spec()
        except ValidationError as exc:
            message = exc.message + (f"\n{exc.hint}" if exc.hint else "")
            # An empty new form is not an error yet: say what to do, quietly.
            pristine = self._base is None and not self.name.text() and not self.command.text()
            self.error.setProperty("quiet", pristine)
            self.error.setText("Give the server a name and a command." if pristine else message)
            self.error.style().unpolish(self.error)
            self.error.style().polish(self.error)
            self._set_valid(False)
        else:
            self.error.setText("")
            self._set_valid(True)

    def _set_valid(self, valid: bool) -> None:
        if valid != self._valid:
            self._valid = valid
        self.validity.emit(valid)

    def is_dirty(self) -> bool:
        if self._base is None:
            return True
        try:
            return self.spec() != self._base
        except ValidationError:
            return True
