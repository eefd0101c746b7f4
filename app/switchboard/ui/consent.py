"""The consent dialog: the GUI side of the auth service's :class:`ConsentBroker`.

The authorization endpoint never approves by itself; it opens a request on the broker
and waits. :class:`ConsentPresenter` shows one dialog per request and passes the
person's decision back with ``broker.decide``. Deny is the default button, so an
accidental Enter never grants access.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from switchboard.auth.consent import ConsentRequest
from switchboard.ui.bridge import EngineBridge
from switchboard.ui.icons import app_icon

log = logging.getLogger("switchboard.ui")

SCOPE_LABELS = {
    "mcp": "Use the server's tools, prompts and resources",
    "mcp:tools": "Call the server's tools",
    "mcp:read": "Read the server's resources and prompts",
    "offline_access": "Stay connected without asking again (refresh tokens)",
}


def describe_scope(scope: str) -> str:
    return SCOPE_LABELS.get(scope, scope)


class ConsentDialog(QDialog):
    """Asks whether a client may use a server. ``decided(approve, remember)``."""

    decided = Signal(bool, bool)

    def __init__(self, request: ConsentRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.request = request
        self.setWindowTitle("Allow access? — Switchboard")
        self.setWindowIcon(app_icon())
        self.setModal(False)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setMinimumWidth(440)

        client = request.client_name or request.client_id
        title = QLabel(f"<b>{_esc(client)}</b> wants to use <b>{_esc(request.server)}</b>")
        title.setObjectName("dialogTitle")
        title.setWordWrap(True)
        title.setTextFormat(Qt.TextFormat.RichText)
        intro = QLabel(
            "A program on this computer asked Switchboard for access. "
            "Approve only if you just connected this client."
        )
        intro.setWordWrap(True)
        intro.setObjectName("secondary")

        form = QFormLayout()
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(6)
        self.client_label = _value(client, "Client name")
        self.host_label = _value(request.redirect_host, "Redirect host")
        self.server_label = _value(request.server, "Server")
        scopes = request.scopes or ("mcp",)
        self.scopes_label = _value(
            "\n".join(f"• {describe_scope(s)}" for s in scopes), "Requested access"
        )
        form.addRow("Client:", self.client_label)
        form.addRow("Returns to:", self.host_label)
        form.addRow("Server:", self.server_label)
        form.addRow("Access:", self.scopes_label)
        if request.client_id and request.client_id != client:
            form.addRow("Client ID:", _value(request.client_id, "Client ID"))
        form.addRow(
            "Asked at:",
            _value(datetime.datetime.fromtimestamp(request.created_at).strftime("%H:%M:%S"), ""),
        )
        self.remote_warning: QLabel | None = None
        if not is_loopback(request.redirect_host):
            warn = QLabel(
                f"The answer goes to {_esc(request.redirect_host)}, which is not this computer."
            )
            warn.setObjectName("warning")
            warn.setWordWrap(True)
            form.addRow("", warn)
            self.remote_warning = warn

        self.remember = QCheckBox(f"&Remember my decision for {client}")
        self.remember.setAccessibleName("Remember this decision")

        buttons = QDialogButtonBox()
        self.approve_button = QPushButton("&Approve")
        self.approve_button.setAccessibleName(f"Approve access for {client}")
        self.deny_button = QPushButton("&Deny")
        self.deny_button.setAccessibleName(f"Deny access for {client}")
        buttons.addButton(self.deny_button, QDialogButtonBox.ButtonRole.RejectRole)
        buttons.addButton(self.approve_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.deny_button.setDefault(True)
        self.deny_button.setAutoDefault(True)
        self.approve_button.setAutoDefault(False)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(22, 20, 22, 16)
        layout.setSpacing(12)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.remember)
        layout.addWidget(buttons)
        self._sent = False
        self.finished.connect(self._on_finished)
        self.deny_button.setFocus()

    def _on_finished(self, result: int) -> None:
        if not self._sent:
            self._sent = True
            self.decided.emit(result == QDialog.DialogCode.Accepted, self.remember.isChecked())


def is_loopback(host: str) -> bool:
    """``host`` (``name``, ``name:port``, ``v6`` or ``[v6]:port``) names this computer."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        name = urlsplit(f"//{host}").hostname or ""
    except ValueError:
        return False
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _value(text: str, accessible: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if accessible:
        label.setAccessibleName(accessible)
    return label


class ConsentPresenter(QObject):
    """Shows a :class:`ConsentDialog` per pending request and reports the decision."""

    shown = Signal(object)
    """the :class:`ConsentDialog` just shown"""

    def __init__(
        self,
        bridge: EngineBridge,
        *,
        parent_widget: Callable[[], QWidget | None] = lambda: None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self._parent_widget = parent_widget
        self.dialogs: dict[str, ConsentDialog] = {}
        bridge.consentRequested.connect(self.present)
        # Requests opened before the window existed (e.g. a client connecting at launch).
        QTimer.singleShot(0, self._present_pending)

    def _present_pending(self) -> None:
        for request in self.bridge.pending_consents():
            self.present(request)

    def present(self, request: ConsentRequest) -> ConsentDialog:
        existing = self.dialogs.get(request.id)
        if existing is not None:
            existing.raise_()
            existing.activateWindow()
            return existing
        dialog = ConsentDialog(request, self._parent_widget())
        dialog.decided.connect(lambda approve, remember: self._decide(request, approve, remember))
        self.dialogs[request.id] = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        self.shown.emit(dialog)
        return dialog

    def _decide(self, request: ConsentRequest, approve: bool, remember: bool) -> None:
        self.dialogs.pop(request.id, None)
        if not self.bridge.decide_consent(request.id, approve, remember):
            log.info("consent request %s had expired before the decision", request.id)
        else:
            log.info(
                "consent for %s on %s: %s",
                request.client_name,
                request.server,
                "approved" if approve else "denied",
            )
