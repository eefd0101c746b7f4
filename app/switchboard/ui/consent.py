"""The consent dialog: the GUI side of the auth service's :class:`ConsentBroker`.

The authorization endpoint never approves by itself; it opens a request on the broker
and waits. :class:`ConsentPresenter` shows one dialog per request and passes the
person's decision back with ``broker.decide``. Deny is the default button, so an
accidental Enter never grants access.

A request that named no server (no RFC 8707 ``resource``, or only the gateway's origin)
shows a checklist of the servers instead: none is ticked, and Approve stays disabled
until the person ticks one (RFC 8707 §2: the picked servers are the default audience).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from switchboard.auth.consent import (
    ChoiceRequired,
    ConsentRequest,
    RedirectKind,
    RedirectTarget,
    redirect_target,
)
from switchboard.core.loopback import is_loopback_host
from switchboard.ui.engine_bridge import EngineBridge
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
    """Asks whether a client may use a server. ``decided(approve, remember)``.

    Shows the exact redirect URI and, when it does not lead to a listener on this
    computer (another host, or a private-use scheme such as ``cursor://`` that opens
    whichever app registered it), a prominent warning. A request from a client the
    person approved before with "remember" says so and has "remember" ticked: re-approval
    is one click (RFC 8252 §8.6 forbids answering it without the person).

    For a "choose servers" request (``request.choose``) the server row is a checklist
    (``server_boxes``); :attr:`picked` holds the ticked servers when it was decided."""

    decided = Signal(bool, bool)

    def __init__(self, request: ConsentRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.request = request
        self.setWindowTitle("Allow access? — Switchboard")
        self.setWindowIcon(app_icon())
        self.setModal(False)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setMinimumWidth(480)

        client = request.client_name or request.client_id
        self.picked: tuple[str, ...] = ()
        if request.choose:
            title = QLabel(f"<b>{_esc(client)}</b> wants to use servers — choose which")
        else:
            title = QLabel(f"<b>{_esc(client)}</b> wants to use <b>{_esc(request.target)}</b>")
        title.setObjectName("dialogTitle")
        title.setWordWrap(True)
        title.setTextFormat(Qt.TextFormat.RichText)
        intro = QLabel(
            "A program asked Switchboard for access. "
            "Approve only if you just connected this client."
        )
        intro.setWordWrap(True)
        intro.setObjectName("secondary")

        self.previously_note: QLabel | None = None
        if request.previously_approved:
            note = _box(
                f"You approved {client} for {request.target} before and asked Switchboard "
                "to remember it. Any program can ask in its name, so Switchboard asks "
                "again for each new sign-in: approve if you just started or reconnected "
                f"{client}.",
                "noteBox",
                "Previously approved",
            )
            self.previously_note = note

        target = redirect_target(request.redirect_uri)
        self.target = target
        form = QFormLayout()
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(6)
        self.client_label = _value(client, "Client name")
        self.redirect_label = _value(request.redirect_uri or "?", "Redirect URI")
        self.where_label = _value(_where(target), "Where the answer goes")
        self.where_label.setObjectName("secondary")
        self.server_label = _value(request.target, "Server")
        self.server_boxes: dict[str, QCheckBox] = {}
        self.choose_box: QFrame | None = None
        if request.choose:
            self.choose_box = self._checklist(client, request)
        scopes = request.scopes or ("mcp",)
        self.scopes_label = _value(
            "\n".join(f"• {describe_scope(s)}" for s in scopes), "Requested access"
        )
        form.addRow("Client:", self.client_label)
        if request.client_id and request.client_id != client:
            form.addRow("Client ID:", _value(request.client_id, "Client ID"))
        if self.choose_box is not None:
            form.addRow("Servers:", self.choose_box)
        else:
            form.addRow("Server:", self.server_label)
        form.addRow("Access:", self.scopes_label)
        form.addRow("Returns to:", self.redirect_label)
        form.addRow("", self.where_label)
        form.addRow(
            "Asked at:",
            _value(datetime.datetime.fromtimestamp(request.created_at).strftime("%H:%M:%S"), ""),
        )
        self.remote_warning: QLabel | None = None
        if target.warning:
            self.remote_warning = _box(target.warning, "errorBox", "Warning")

        self.remember = QCheckBox(f"&Keep {client.replace('&', '&&')} connected (remember)")
        self.remember.setAccessibleName("Remember this decision")
        self.remember.setToolTip(
            "The client stays signed in for 90 days after each use. A new sign-in still asks you."
        )
        self.remember.setChecked(request.previously_approved)

        buttons = QDialogButtonBox()
        self.approve_button = QPushButton(
            "&Approve again" if request.previously_approved else "&Approve"
        )
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
        if request.choose:
            self.approve_button.setEnabled(False)
            self.approve_button.setToolTip("Tick at least one server first.")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(22, 20, 22, 16)
        layout.setSpacing(12)
        layout.addWidget(title)
        if self.remote_warning is not None:
            layout.addWidget(self.remote_warning)
        if self.previously_note is not None:
            layout.addWidget(self.previously_note)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.remember)
        layout.addWidget(buttons)
        self._sent = False
        self.finished.connect(self._on_finished)
        self.deny_button.setFocus()

    def _checklist(self, client: str, request: ConsentRequest) -> QFrame:
        """One unticked box per server (and group, with its servers); ticking one
        enables Approve."""
        frame = QFrame()
        frame.setObjectName("serverChoices")
        frame.setAccessibleName("Servers the client may use")
        box_layout = QVBoxLayout(frame)
        box_layout.setContentsMargins(0, 0, 0, 0)
        box_layout.setSpacing(4)
        hint = QLabel(f"{client} did not say which server it wants. Tick the ones it may use:")
        hint.setWordWrap(True)
        hint.setObjectName("secondary")
        hint.setTextFormat(Qt.TextFormat.PlainText)
        box_layout.addWidget(hint)
        for name in request.choices:
            text = request.describe(name)
            check = QCheckBox(text.replace("&", "&&"))
            check.setAccessibleName(f"Allow {text}")
            check.setChecked(False)
            check.toggled.connect(self._choice_changed)
            self.server_boxes[name] = check
            box_layout.addWidget(check)
        return frame

    def chosen(self) -> tuple[str, ...]:
        """The servers ticked now, in the order shown."""
        return tuple(name for name, box in self.server_boxes.items() if box.isChecked())

    def _choice_changed(self) -> None:
        some = bool(self.chosen())
        self.approve_button.setEnabled(some)
        self.approve_button.setToolTip("" if some else "Tick at least one server first.")

    def _on_finished(self, result: int) -> None:
        if not self._sent:
            self._sent = True
            approve = result == QDialog.DialogCode.Accepted
            self.picked = self.chosen() if approve else ()
            self.decided.emit(approve, self.remember.isChecked())

    def close_decided(self) -> None:
        """The request was decided elsewhere (CLI, notification) or expired: close
        without deciding again."""
        self._sent = True
        self.close()


def _where(target: RedirectTarget) -> str:
    if target.kind is RedirectKind.LOOPBACK:
        return f"A program on {target.where}"
    if target.kind is RedirectKind.APP:
        return f"Opens {target.where}"
    return f"{target.where} — not this computer"


def _box(text: str, name: str, accessible: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setAccessibleName(accessible)
    return label


def is_loopback(host: str) -> bool:
    """``host`` (``name``, ``name:port``, ``v6`` or ``[v6]:port``) names this computer."""
    return is_loopback_host(host)


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


MAX_OPEN_DIALOGS = 3
"""Dialogs shown by themselves at once; more pending requests wait in the tray menu and
on the Clients page (a flood of authorization requests must not bury the screen)."""


class ConsentPresenter(QObject):
    """Shows a :class:`ConsentDialog` per pending request (at most ``max_open`` by
    themselves, the next when one closes; any on request) and reports the decision."""

    shown = Signal(object)
    """the :class:`ConsentDialog` just shown"""

    def __init__(
        self,
        bridge: EngineBridge,
        *,
        parent_widget: Callable[[], QWidget | None] = lambda: None,
        max_open: int = MAX_OPEN_DIALOGS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self._parent_widget = parent_widget
        self.max_open = max_open
        self.dialogs: dict[str, ConsentDialog] = {}
        bridge.consentRequested.connect(self._arrived)
        bridge.consentDecided.connect(self._decided_elsewhere)
        # Requests opened before the window existed (e.g. a client connecting at launch).
        QTimer.singleShot(0, self._present_pending)

    def _arrived(self, request: ConsentRequest) -> None:
        if len(self.dialogs) < self.max_open:
            self.present(request)

    def _present_pending(self) -> None:
        """Fill the free places with the oldest pending requests not shown yet."""
        for request in self.bridge.pending_consents():
            if len(self.dialogs) >= self.max_open:
                break
            if request.id not in self.dialogs:
                self.present(request)

    def present(self, request: ConsentRequest) -> ConsentDialog:
        existing = self.dialogs.get(request.id)
        if existing is not None:
            existing.raise_()
            existing.activateWindow()
            return existing
        dialog = ConsentDialog(request, self._parent_widget())
        dialog.decided.connect(
            lambda approve, remember: self._decide(request, approve, remember, dialog.picked)
        )
        self.dialogs[request.id] = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        self.shown.emit(dialog)
        return dialog

    def _decided_elsewhere(self, request_id: str) -> None:
        dialog = self.dialogs.pop(request_id, None)
        if dialog is not None:
            dialog.close_decided()
            QTimer.singleShot(0, self._present_pending)

    def _decide(
        self,
        request: ConsentRequest,
        approve: bool,
        remember: bool,
        servers: tuple[str, ...] = (),
    ) -> None:
        self.dialogs.pop(request.id, None)
        QTimer.singleShot(0, self._present_pending)
        try:
            decided = self.bridge.decide_consent(request.id, approve, remember, servers)
        except ChoiceRequired as exc:  # the dialog's Approve needs a pick; kept safe anyway
            log.warning("consent request %s not decided: %s", request.id, exc)
            return
        if not decided:
            log.info("consent request %s had expired before the decision", request.id)
        else:
            log.info(
                "consent for %s on %s: %s",
                request.client_name,
                request.server or ", ".join(servers),
                "approved" if approve else "denied",
            )
