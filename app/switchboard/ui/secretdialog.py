"""The "Store a secret" prompt: a server setting names a secret (``${secret:NAME}``) and
the person types its value, masked; it goes to the OS keyring, never to the config."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget

from switchboard.ui.engine_bridge import EngineBridge


def ask_secret(
    parent: QWidget,
    bridge: EngineBridge,
    name: str,
    *,
    on_stored: Callable[[], object] | None = None,
) -> QInputDialog:
    """Ask for a secret's value (masked) and store it in the keyring; ``on_stored`` runs
    once the store attempt finished (to re-check which secrets are missing)."""
    dialog = QInputDialog(parent)
    dialog.setWindowTitle("Store a secret — Switchboard")
    dialog.setLabelText(
        f"Value of the secret {name!r}. It goes to the system keyring, never to a file."
    )
    dialog.setTextEchoMode(QLineEdit.EchoMode.Password)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def store(value: str) -> None:
        if value:
            task = bridge.set_secret(name, value)
            if on_stored is not None:
                task.add_done_callback(lambda _t: on_stored())

    dialog.textValueSelected.connect(store)
    dialog.open()
    return dialog
