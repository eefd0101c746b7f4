"""A remote server's sign-in row in the detail pane (issue 18): signed in as / token
expiry / needs sign-in / API key headers, with Sign in and Sign out. Sign in runs the
browser flow in the engine (the app opens the browser); the row follows the server's
state events."""

from __future__ import annotations

import datetime
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from switchboard.ui.engine_bridge import EngineBridge


def sign_in_text(status: dict[str, Any]) -> str:
    """One line for a person: who is signed in and until when, or what to do."""
    if status.get("signed_in"):
        text = "Signed in"
        if status.get("account"):
            text += f" as {status['account']}"
        expires = status.get("expires_at")
        if isinstance(expires, int | float):
            when = datetime.datetime.fromtimestamp(expires).strftime("%H:%M")
            text += f" · token until {when}"
            if status.get("refreshable"):
                text += " (renewed automatically)"
    elif status.get("headers"):
        text = "Uses " + ", ".join(status["headers"]) + " from the keyring"
    else:
        text = "Not signed in"
    if status.get("needs_sign_in"):
        text += " — needs sign-in: click Sign in, then finish in your browser."
    return text


class SignInRow(QWidget):
    """Hidden for local servers; for a remote one: its state and the two buttons."""

    def __init__(self, bridge: EngineBridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.name = ""
        self.text = QLabel()
        self.text.setObjectName("secondary")
        self.text.setWordWrap(True)
        self.text.setAccessibleName("Remote sign-in state")
        self.sign_in = QPushButton("Sign &in…")
        self.sign_in.setAccessibleName("Sign in to this remote server in the browser")
        self.sign_out = QPushButton("Sign &out")
        self.sign_out.setAccessibleName("Sign out of this remote server")
        self.sign_in.clicked.connect(self._sign_in)
        self.sign_out.clicked.connect(self._sign_out)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        label = QLabel("Upstream")
        label.setObjectName("secondary")
        row.addWidget(label)
        row.addWidget(self.text, 1)
        row.addWidget(self.sign_in)
        row.addWidget(self.sign_out)
        self.hide()

    def show_server(self, name: str) -> None:
        self.name = name
        self.refresh()

    def refresh(self) -> None:
        status = self.bridge.sign_in_status(self.name) if self.name else None
        self.setVisible(status is not None)
        if status is None:
            return
        self.text.setText(sign_in_text(status))
        self.sign_out.setEnabled(bool(status.get("signed_in")))
        self.sign_in.setText("Sign &in again…" if status.get("signed_in") else "Sign &in…")

    def _sign_in(self) -> None:
        self.sign_in.setEnabled(False)
        self.text.setText("Waiting for the browser…")
        task = self.bridge.sign_in(self.name)
        task.add_done_callback(lambda _t: self._done())

    def _sign_out(self) -> None:
        task = self.bridge.sign_out(self.name)
        task.add_done_callback(lambda _t: self._done())

    def _done(self) -> None:
        self.sign_in.setEnabled(True)
        self.refresh()
