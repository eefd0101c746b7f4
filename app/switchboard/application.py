"""Composition root of the desktop app: Qt application, qasync loop, engine, UI.

``run_gui`` owns the process: single-instance check, the QApplication, the qasync
loop, the engine's start and graceful stop. :class:`Desktop` is the wired UI (bridge,
window, tray, consent) around a running engine; tests and benchmarks build one
around their own engine with :func:`build_desktop`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from switchboard.core.errors import ConfigError, SwitchboardError
from switchboard.core.events import StateChanged
from switchboard.core.paths import AppPaths
from switchboard.core.state import ServerState

if TYPE_CHECKING:
    from PySide6.QtWidgets import QSystemTrayIcon

    from switchboard.auth.consent import ConsentRequest
    from switchboard.engine import Engine
    from switchboard.store.config import ConfigStore
    from switchboard.ui.consent import ConsentPresenter
    from switchboard.ui.engine_bridge import EngineBridge
    from switchboard.ui.mainwindow import MainWindow
    from switchboard.ui.notify import Notification, NotificationService, Notifier
    from switchboard.ui.tray import TrayController

log = logging.getLogger("switchboard.app")

_T0 = time.perf_counter()


class Desktop:
    """The UI wired around one running engine.

    The main window is built on first use (tray "Open", a second launch, no tray):
    most sessions live in the tray, and the window costs ~15 MiB and start-up time.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        paths: AppPaths | None = None,
        on_quit: Callable[[], None] = lambda: None,
        use_tray: bool | None = None,
        tray_icon: QSystemTrayIcon | None = None,
        notifications: NotificationService | str | bool | None = None,
    ) -> None:
        from switchboard.ui.consent import ConsentPresenter
        from switchboard.ui.engine_bridge import EngineBridge
        from switchboard.ui.notify import Notifier
        from switchboard.ui.theme import apply_theme
        from switchboard.ui.tray import TrayController, tray_available
        from switchboard.ui.windowstate import LayoutFile

        self.engine = engine
        self.paths = paths
        self.quit = on_quit
        self.has_tray = tray_available() if use_tray is None else use_tray
        apply_theme(engine.config.settings.theme)
        self.bridge: EngineBridge = EngineBridge(engine)
        self._window: MainWindow | None = None
        # The window's size/position/splitter from the last run (this home's config dir).
        self.layout_file = LayoutFile.in_dir((paths or engine.paths).config_dir)
        self.tray: TrayController | None = None
        # Desktop notifications (freedesktop service, else the tray balloon, else the
        # window's status line); ``notifications`` is the D-Bus seam (True: the session
        # bus, as run_gui asks; a string: that bus address; None, the default for tests
        # and benchmarks: no D-Bus).
        self.notifier: Notifier = Notifier(
            open_target=self.open_notification,
            balloon=lambda: self.tray.icon if self.tray is not None else None,
            status_line=self._status_line,
            service=notifications,
            approve=self._approve_from_notification,
            parent=self.bridge,
        )
        self.notifier.watch(self.bridge)
        if self.has_tray:
            self.tray = TrayController(
                self.bridge,
                open_window=self.show_window,
                on_quit=on_quit,
                icon=tray_icon,
                notifier=self.notifier,
                review=self.review_consent,
            )
        else:
            self.bridge.stateChanged.connect(self._failure_in_window)
        self.consent: ConsentPresenter = ConsentPresenter(self.bridge, parent=self.bridge)

    @property
    def window(self) -> MainWindow:
        if self._window is None:
            from switchboard.ui.mainwindow import MainWindow

            self._window = MainWindow(
                self.bridge,
                paths=self.paths,
                on_quit=self.quit,
                tray_available=self.has_tray,
                layout_file=self.layout_file,
            )
            self._window.clients.review.connect(self.consent.present)
        return self._window

    @property
    def window_built(self) -> bool:
        return self._window is not None

    def show_window(self) -> None:
        self.window.show_and_raise()

    def open_notification(self, notification: Notification) -> None:
        """What a click on a notification's action opens: the failed server's page, or
        the consent dialog (on the clients page) while the request is still pending."""
        from switchboard.ui.notify import Kind

        window = self.window
        window.show_and_raise()
        if notification.kind is Kind.FAILURE and notification.server:
            window.pages.setCurrentIndex(0)
            window.select(notification.server)
        elif notification.kind is Kind.CONSENT:
            window.pages.setCurrentWidget(window.clients)
            request = notification.request
            if request is not None and any(
                r.id == request.id for r in self.bridge.pending_consents()
            ):
                self.consent.present(request)

    def review_consent(self, request: ConsentRequest) -> None:
        """The tray's pending request: the clients page and its dialog."""
        window = self.window
        window.show_and_raise()
        window.pages.setCurrentWidget(window.clients)
        if any(r.id == request.id for r in self.bridge.pending_consents()):
            self.consent.present(request)

    def _approve_from_notification(self, request: ConsentRequest) -> bool:
        """The "Approve" action of a previously approved client's notification: one
        click re-approves (and keeps it remembered)."""
        return self.bridge.decide_consent(request.id, approve=True, remember=True)

    def _status_line(self, text: str) -> None:
        if self._window is not None:  # without a tray the window is there
            self._window.statusBar().showMessage(text, 15000)

    def _failure_in_window(self, event: StateChanged) -> None:
        if event.new is ServerState.FAILED:
            self.window.show_error(f"{event.name}", event.detail or "The server crashed.")
            self.window.show_and_raise()

    def show(self) -> None:
        """Tray icon when there is a tray (window too when nothing is configured yet);
        otherwise the window, which says why. The window's saved layout is read first (off
        the loop), so it opens where it was left."""
        layout = self.layout_file.loading()
        if self.tray is not None:
            self.tray.show()
        if self.tray is None or not self.engine.config.servers:
            if layout.done():
                self.show_window()
            else:
                layout.add_done_callback(lambda _t: self.show_window())

    async def aclose(self) -> None:
        """Stop everything gracefully: pending actions, then the engine (SIGTERM first)."""
        if self.tray is not None:
            self.tray.set_quitting()
        if self._window is not None:
            await self._window.save_layout()
            self._window.hide()
        await self.bridge.drain()
        await self.notifier.aclose()
        await self.engine.aclose()
        if self.tray is not None:
            self.tray.close()
        if self._window is not None:
            self._window.deleteLater()
        self.bridge.close()


def build_desktop(
    engine: Engine,
    *,
    paths: AppPaths | None = None,
    on_quit: Callable[[], None] = lambda: None,
    use_tray: bool | None = None,
    tray_icon: QSystemTrayIcon | None = None,
    notifications: NotificationService | str | bool | None = None,
) -> Desktop:
    return Desktop(
        engine,
        paths=paths,
        on_quit=on_quit,
        use_tray=use_tray,
        tray_icon=tray_icon,
        notifications=notifications,
    )


def run_gui(
    paths: AppPaths,
    *,
    engine_factory: Callable[[AppPaths], Engine] | None = None,
    on_ready: Callable[[Desktop], object] | None = None,
    on_tray: Callable[[QSystemTrayIcon], object] | None = None,
) -> int:
    """Run the desktop app until the person quits. Returns the exit code.

    The tray icon appears first (``on_tray``), then the engine starts and the UI is
    wired (``on_ready``): the tray test and the start-up benchmark use these hooks.
    """
    import qasync
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from switchboard.ui.gui_thread_gc import GuiThreadGC
    from switchboard.ui.icons import app_icon
    from switchboard.ui.single_instance import SingleInstance, instance_key
    from switchboard.ui.style import apply_style

    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("Switchboard")
    app.setApplicationDisplayName("Switchboard")
    # Matches the installed desktop entry (packaging: bundle + app name), so Wayland docks
    # pair the window with its icon.
    app.setDesktopFileName("dev.switchboard.switchboard")
    app.setQuitOnLastWindowClosed(False)
    apply_style(app)
    app.setWindowIcon(app_icon())

    single = SingleInstance(instance_key(paths))
    if not single.claim():
        return 0
    collector = GuiThreadGC()
    from switchboard.ui.tray import early_tray_icon, tray_available

    early = early_tray_icon() if tray_available() else None
    if early is not None and on_tray is not None:
        on_tray(early)

    async def main() -> int:
        await asyncio.sleep(0.005)  # let Qt put the icon up before the heavy imports
        from switchboard.composition import build_engine

        quit_event = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal(_sig: int, _frame: object) -> None:
            loop.call_soon_threadsafe(quit_event.set)

        old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        # Python runs signal handlers only when it gets control; Qt's loop is C++.
        wake = QTimer()
        wake.start(300)
        wake.timeout.connect(lambda: None)

        engine = (engine_factory or build_engine)(paths)
        while True:
            try:
                await engine.start()
                break
            except SwitchboardError as exc:
                if early is not None:
                    early.hide()
                damaged = isinstance(exc, ConfigError) and engine.store.path.exists()
                if not await _startup_error(exc, engine.store if damaged else None):
                    return 1
                engine = (engine_factory or build_engine)(paths)  # restored: try again
                if early is not None:
                    early.show()
        desktop = build_desktop(
            engine, paths=paths, on_quit=quit_event.set, tray_icon=early, notifications=True
        )
        single.activated.connect(desktop.show_window)
        desktop.show()
        log.info("ready in %.0f ms", (time.perf_counter() - _T0) * 1e3)
        if on_ready is not None:
            on_ready(desktop)
        try:
            await quit_event.wait()
        finally:
            await desktop.aclose()
            single.release()
            wake.stop()
            for sig, handler in old.items():
                signal.signal(sig, handler)
        return 0

    try:
        return int(qasync.run(main()))
    finally:
        collector.stop()


async def _startup_error(exc: SwitchboardError, store: ConfigStore | None = None) -> bool:
    """Tell the person why Switchboard cannot start, without blocking the loop.

    With ``store`` (the config file is damaged) and a good backup, the box offers to put
    that backup back; returns True when it did (the caller then starts again)."""
    from PySide6.QtWidgets import QMessageBox

    from switchboard.ui.icons import app_icon

    log.error("cannot start: %s", exc)
    box = QMessageBox(QMessageBox.Icon.Critical, "Switchboard cannot start", exc.message)
    box.setObjectName("startup-error")
    box.setWindowIcon(app_icon())
    if exc.hint:
        box.setInformativeText(exc.hint)
    restore = None
    if store is not None and any(b.exists() for b in store.backups):
        restore = box.addButton("Restore last good version", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Close)
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def finished(_result: int) -> None:
        if not done.done():
            done.set_result(None)

    box.finished.connect(finished)
    box.open()
    await done
    if restore is None or box.clickedButton() is not restore:
        return False
    assert store is not None
    try:
        used = await asyncio.to_thread(store.restore)
    except SwitchboardError as again:
        return await _startup_error(again)
    log.warning("restored %s from %s", store.path, used)
    return True
