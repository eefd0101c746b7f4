"""Single instance: a second launch asks the running one to show its window and exits.

The running app listens on a QLocalServer whose name is derived from the user and the
config directory, so separate ``--home`` instances (tests, a second profile) coexist.
"""

from __future__ import annotations

import getpass
import hashlib
import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from switchboard.core.paths import AppPaths

log = logging.getLogger("switchboard.ui")

SHOW = b"show\n"


def instance_key(paths: AppPaths) -> str:
    digest = hashlib.sha256(f"{getpass.getuser()}\0{paths.config_dir}".encode()).hexdigest()
    return f"switchboard-{digest[:16]}"


class SingleInstance(QObject):
    """``claim()`` -> True if this process is the one; else the other one was told."""

    activated = Signal()
    """A second launch asked this instance to come forward."""

    def __init__(self, key: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.server: QLocalServer | None = None

    def notify_running(self, timeout_ms: int = 1000) -> bool:
        """Tell a running instance to show itself. False if none answered."""
        socket = QLocalSocket()
        socket.connectToServer(self.key)
        if not socket.waitForConnected(timeout_ms):
            return False
        socket.write(SHOW)
        socket.flush()
        if socket.bytesToWrite() > 0:
            socket.waitForBytesWritten(timeout_ms)
        socket.disconnectFromServer()
        return True  # someone is listening: that instance owns the engine

    def claim(self) -> bool:
        if self.notify_running():
            log.info("Switchboard is running already; asked it to show its window")
            return False
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.key):
            # A stale socket left by a crashed instance: nobody answered above, so remove it.
            QLocalServer.removeServer(self.key)
            if not server.listen(self.key):
                log.warning("single-instance socket unavailable: %s", server.errorString())
                return True
        server.newConnection.connect(self._on_connection)
        self.server = server
        return True

    def _on_connection(self) -> None:
        assert self.server is not None
        while (socket := self.server.nextPendingConnection()) is not None:
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(socket.deleteLater)
            if socket.bytesAvailable():
                self._read(socket)

    def _read(self, socket: QLocalSocket) -> None:
        data = bytes(socket.readAll().data())
        if SHOW.strip() in data:
            self.activated.emit()

    def release(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
