"""The tray icon and its menu."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QApplication, QMenu, QStyle, QSystemTrayIcon

from switchboard.engine import Engine


class TrayController:
    """Owns the QSystemTrayIcon; Quit calls ``on_quit``."""

    def __init__(self, engine: Engine, on_quit: Callable[[], None]) -> None:
        self.engine = engine
        style = QApplication.style()
        icon: QIcon = style.standardIcon(QStyle.StandardPixmap.SP_ComputerIcon)
        self.icon = QSystemTrayIcon(icon)
        self.icon.setToolTip("Switchboard")
        self.menu = QMenu()
        self.quit_action = QAction("Quit Switchboard", self.menu)
        self.quit_action.triggered.connect(on_quit)
        self.menu.addAction(self.quit_action)
        self.icon.setContextMenu(self.menu)

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()
