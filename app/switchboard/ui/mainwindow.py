"""The main window: five pages (servers, groups, clients & access, settings, activity)
under a message bar, and a status bar with the gateway's address. The servers page is the
servers table (servertable.py) over the selected server's detail pane (serverdetail.py);
the window's size, position and splitter are kept between runs (windowstate.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from PySide6.QtCore import QItemSelection, QPoint, Qt
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from switchboard.core.paths import AppPaths
from switchboard.core.spec import ServerSpec
from switchboard.core.units import format_bytes
from switchboard.ui.activity.page import ActivityPage
from switchboard.ui.catalogtab import CatalogTab
from switchboard.ui.dialogs import AddServerDialog
from switchboard.ui.engine_bridge import EngineBridge
from switchboard.ui.groups.page import GroupsPage
from switchboard.ui.icons import action_icon, app_icon, summary
from switchboard.ui.models import ServersModel
from switchboard.ui.pages import ClientsPage, SettingsPage
from switchboard.ui.secretdialog import ask_secret
from switchboard.ui.serverdetail import ServerDetail
from switchboard.ui.servertable import ServersTable
from switchboard.ui.windowstate import (
    LayoutFile,
    WindowLayout,
    available_geometry_for,
    clamp_rect,
)

log = logging.getLogger("switchboard.ui")

NO_TRAY_NOTICE = (
    "No system tray was found on this desktop, so Switchboard runs in this "
    "window. Closing it quits Switchboard and stops your servers."
)
EMPTY_TEXT = (
    "<p style='font-size:15px'><b>No servers yet</b></p>"
    "<p>Add an MCP server with <b>Add server…</b>. Switchboard runs it, restarts it "
    "if it crashes and serves it to your MCP clients at one local address.</p>"
)


class MainWindow(QMainWindow):
    """Switchboard's window. Closing it hides it when a tray icon keeps the app alive."""

    def __init__(
        self,
        bridge: EngineBridge,
        *,
        paths: AppPaths | None = None,
        on_quit: Callable[[], None] = lambda: None,
        tray_available: bool = True,
        layout_file: LayoutFile | None = None,
    ) -> None:
        super().__init__()
        self.bridge = bridge
        self.on_quit = on_quit
        self.tray_available = tray_available
        self.setWindowTitle("Switchboard")
        self.setWindowIcon(app_icon())
        self.resize(980, 680)

        self._init_message_bar()
        self.model = ServersModel(bridge, parent=self)
        self.table = ServersTable(self.model, self.copy_url)
        self.detail = ServerDetail(bridge, self.copy_url)
        self.splitter = self._init_servers_page()
        self.groups = GroupsPage(bridge)
        self.clients = ClientsPage(bridge)
        self.settings = SettingsPage(bridge, paths)
        self.activity = ActivityPage(getattr(bridge.engine, "activity", None))
        self.pages = self._init_pages()
        self._init_central_widget()
        self._init_status_bar()
        self._connect_signals()
        self._init_shortcuts()
        self._after_reset()
        if layout_file is None and paths is not None:
            layout_file = LayoutFile.in_dir(paths.config_dir)
        self.layout_file = layout_file
        self._restore_saved_layout()

    # -- composition -------------------------------------------------------------------
    def _init_message_bar(self) -> None:
        """The error banner (dismissable) and the no-tray notice above the pages."""
        self.banner = QLabel()
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.setAccessibleName("Message")
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner_close = QToolButton()
        self.banner_close.setText("✕")
        self.banner_close.setAccessibleName("Dismiss message")
        self.banner_close.setAutoRaise(True)
        self.banner_frame = QFrame()
        self.banner_frame.setObjectName("bannerFrame")
        bl = QHBoxLayout(self.banner_frame)
        bl.setContentsMargins(12, 8, 8, 8)
        bl.addWidget(self.banner, 1)
        bl.addWidget(self.banner_close, 0, Qt.AlignmentFlag.AlignTop)
        self.banner_frame.hide()
        self.notice = QLabel()
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.setAccessibleName("Notice")
        if not self.tray_available:
            self.notice.setText(NO_TRAY_NOTICE)
        self.notice.setVisible(not self.tray_available)

    def _init_servers_page(self) -> QSplitter:
        """Buttons and the table above, the detail pane (or the empty hint) below."""
        self.add_button = QPushButton(action_icon("add"), "&Add server…")
        self.add_button.setObjectName("primary")
        self.add_button.setAccessibleName("Add a server")
        self.start_all_button = QPushButton(action_icon("start"), "Start all")
        self.start_all_button.setAccessibleName("Start all servers")
        self.stop_all_button = QPushButton(action_icon("stop"), "Stop all")
        self.stop_all_button.setAccessibleName("Stop all servers")
        bar = QHBoxLayout()
        bar.setSpacing(8)
        bar.addWidget(self.add_button)
        bar.addStretch(1)
        bar.addWidget(self.start_all_button)
        bar.addWidget(self.stop_all_button)

        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setObjectName("empty")
        self.empty.setMargin(40)
        self.detail_stack = QStackedWidget()
        self.detail_stack.addWidget(self.empty)
        self.detail_stack.addWidget(self.detail)

        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(16, 14, 16, 8)
        tl.setSpacing(10)
        tl.addLayout(bar)
        tl.addWidget(self.table)
        split.addWidget(top)
        split.addWidget(self.detail_stack)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([290, 380])
        return split

    def _init_pages(self) -> QTabWidget:
        pages = QTabWidget()
        pages.setObjectName("pages")
        pages.setDocumentMode(True)
        pages.addTab(self.splitter, action_icon("servers"), "Servers")
        pages.addTab(self.groups, action_icon("servers"), "Groups")
        pages.addTab(self.clients, action_icon("clients"), "Clients && access")
        pages.addTab(self.settings, action_icon("settings"), "Settings")
        pages.addTab(self.activity, action_icon("activity"), "Activity")
        return pages

    def _init_central_widget(self) -> None:
        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        cl.addWidget(self.notice)
        cl.addWidget(self.banner_frame)
        cl.addWidget(self.pages, 1)
        self.setCentralWidget(central)

    def _init_status_bar(self) -> None:
        self.status_text = QLabel()
        self.status_text.setObjectName("secondary")
        self.statusBar().addPermanentWidget(self.status_text)
        self.statusBar().setSizeGripEnabled(False)
        self.statusBar().setContentsMargins(8, 0, 12, 2)

    def _connect_signals(self) -> None:
        self.banner_close.clicked.connect(self.hide_banner)
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self.table.doubleClicked.connect(lambda i: self._toggle_row(i.row()))
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.copyRequested.connect(
            lambda row: self.copy_url(self.bridge.server_url(self.model.name_at(row)))
        )
        self.table.toggleRequested.connect(self._toggle_row)
        self.model.modelReset.connect(self._after_reset)
        self.add_button.clicked.connect(self.open_add_dialog)
        self.start_all_button.clicked.connect(lambda: self.bridge.start_all())
        self.stop_all_button.clicked.connect(lambda: self.bridge.stop_all())
        self.detail.remove.clicked.connect(self.confirm_remove)
        self.pages.currentChanged.connect(self._page_changed)
        self.bridge.actionFailed.connect(self.show_error)
        self.bridge.actionDone.connect(
            lambda what: self.statusBar().showMessage(f"{what}: done", 4000)
        )
        self.bridge.stateChanged.connect(lambda _e: self._update_status())
        self.bridge.configChanged.connect(lambda _e: self._update_status())
        self.model.memoryChanged.connect(self._update_status)

    # -- keyboard ----------------------------------------------------------------------
    def _init_shortcuts(self) -> None:
        def add(
            seq: QKeySequence | QKeySequence.StandardKey | str, fn: Callable[[], object]
        ) -> None:
            sc = QShortcut(QKeySequence(seq), self)
            sc.activated.connect(fn)

        add(QKeySequence.StandardKey.New, self.open_add_dialog)
        add("Ctrl+1", lambda: self.pages.setCurrentIndex(0))
        add("Ctrl+2", lambda: self.pages.setCurrentIndex(1))
        add("Ctrl+3", lambda: self.pages.setCurrentIndex(2))
        add("Ctrl+4", lambda: self.pages.setCurrentIndex(3))
        add("Ctrl+5", lambda: self.pages.setCurrentWidget(self.activity))
        add("Ctrl+L", self.focus_log_search)
        add(QKeySequence.StandardKey.Quit, self.on_quit)
        add("Ctrl+W", self.close)
        delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.table)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self.confirm_remove)

    def focus_log_search(self) -> None:
        self.pages.setCurrentIndex(0)
        self.detail.tabs.setCurrentIndex(0)
        self.detail.log_view.focus_search()

    # -- selection ---------------------------------------------------------------------
    def current_name(self) -> str:
        return self.model.name_at(self.table.currentIndex().row())

    def select(self, name: str) -> None:
        row = self.model.row_of(name)
        if row >= 0:
            self.table.selectRow(row)
            self.table.setCurrentIndex(self.model.index(row, 0))

    def _selected(self, _new: QItemSelection, _old: QItemSelection) -> None:
        name = self.current_name()
        if name:
            self.detail.show_server(name)
            self.detail_stack.setCurrentWidget(self.detail)

    def _after_reset(self) -> None:
        names = self.model.names()
        if not names:
            self.detail.name = ""
            self.detail_stack.setCurrentWidget(self.empty)
        else:
            keep = self.detail.name if self.detail.name in names else names[0]
            self.detail.name = ""
            self.select(keep)
            self.detail.show_server(keep)
            self.detail_stack.setCurrentWidget(self.detail)
        self._update_status()

    def _toggle_row(self, row: int) -> None:
        status = self.model.status_at(row)
        if status is not None:
            self.bridge.set_running(status.name, not status.state.is_active)

    def context_menu_for(self, row: int) -> QMenu | None:
        """Start/Stop, Restart, Copy URL, Remove for the server in ``row``."""
        status = self.model.status_at(row)
        if status is None:
            return None
        name, active = status.name, status.state.is_active
        menu = QMenu(self)
        toggle = menu.addAction(
            action_icon("stop" if active else "start"), "Stop" if active else "Start"
        )
        toggle.triggered.connect(lambda: self.bridge.set_running(name, not active))
        restart = menu.addAction(action_icon("restart"), "Restart")
        restart.setEnabled(active)
        restart.triggered.connect(lambda: self.bridge.restart_server(name))
        menu.addSeparator()
        copy = menu.addAction(action_icon("copy"), "Copy MCP URL")
        copy.triggered.connect(lambda: self.copy_url(self.bridge.server_url(name)))
        menu.addSeparator()
        remove = menu.addAction(action_icon("remove"), "Remove…")
        remove.triggered.connect(self.confirm_remove)
        return menu

    def _context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        self.table.selectRow(index.row())
        menu = self.context_menu_for(index.row())
        if menu is not None:
            menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            menu.popup(self.table.viewport().mapToGlobal(pos))

    def _page_changed(self, index: int) -> None:
        if self.pages.widget(index) is self.clients:
            self.clients.refresh()

    # -- actions -----------------------------------------------------------------------
    def copy_url(self, url: str) -> None:
        if url:
            QGuiApplication.clipboard().setText(url)
            self.statusBar().showMessage(f"Copied {url}", 4000)

    def open_add_dialog(self) -> AddServerDialog:
        dialog = AddServerDialog({s.name for s in self.bridge.specs()}, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.form.setSecretRequested.connect(lambda name: ask_secret(dialog, self.bridge, name))
        catalog = CatalogTab()
        dialog.add_source(catalog, "Catalog")
        catalog.chosen.connect(dialog.propose)
        self.bridge.submit("Load the catalog", catalog.load(), quiet=True)
        dialog.catalog = catalog  # type: ignore[attr-defined]
        dialog.accepted.connect(lambda: self._add_from(dialog))
        dialog.open()
        return dialog

    def _add_from(self, dialog: AddServerDialog) -> None:
        spec: ServerSpec | None = dialog.result_spec
        if spec is None:
            return
        task = self.bridge.add_server(spec, start=dialog.start)
        task.add_done_callback(lambda _t: self.select(spec.name))

    def confirm_remove(self) -> None:
        name = self.current_name()
        if not name:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Remove server",
            f"Remove {name}? It is stopped and its settings are deleted. "
            "Its secrets stay in the keyring.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(
            lambda b: self.bridge.remove_server(name) if b is remove else None
        )
        box.open()

    # -- messages ----------------------------------------------------------------------
    def show_error(self, what: str, message: str) -> None:
        self.banner.setText(f"<b>{_esc(what)} failed.</b> {_esc(message)}")
        self.banner_frame.show()

    def hide_banner(self) -> None:
        self.banner_frame.hide()

    def _update_status(self) -> None:
        url = self.bridge.base_url()
        text = summary(self.bridge.statuses())
        total = self.model.total_memory()
        if total is not None:
            text += f"   ·   Memory {format_bytes(total)}"
        self.status_text.setText(f"{text}   ·   Gateway {url}" if url else text)

    def show_and_raise(self) -> None:
        """Bring the window forward (tray "Open", a second launch)."""
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    # -- size, position, splitter between runs -----------------------------------------
    def _restore_saved_layout(self) -> None:
        file = self.layout_file
        if file is None:
            return
        try:
            task = file.loading()
        except RuntimeError:  # no running loop (a synchronous test): defaults
            return
        if task.done():
            self._apply_loaded(task)
        else:
            # Read at start-up by the Desktop; if not yet there, apply on arrival.
            task.add_done_callback(self._apply_loaded)

    def _apply_loaded(self, task: asyncio.Task[WindowLayout | None]) -> None:
        if task.cancelled() or task.exception() is not None:
            return
        layout = task.result()
        # Unless a save overwrote it meanwhile (the person moved on already).
        if layout is not None and self.layout_file is not None and self.layout_file.state == layout:
            with contextlib.suppress(RuntimeError):  # the window was deleted meanwhile
                self.restore_layout(layout)

    def current_layout(self) -> WindowLayout:
        """The window's normal rectangle, maximized flag and splitter sizes now."""
        maximized = self.isMaximized()
        rect = self.normalGeometry() if maximized else self.geometry()
        if not rect.isValid():
            rect = self.geometry()
        return WindowLayout(
            rect.x(),
            rect.y(),
            rect.width(),
            rect.height(),
            maximized,
            tuple(self.splitter.sizes()),
        )

    def restore_layout(self, layout: WindowLayout) -> None:
        """Apply a saved layout, clamped to the available area of its screen."""
        rect = clamp_rect(layout.rect, available_geometry_for(layout.rect))
        self.setGeometry(rect)
        if layout.maximized:
            self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)
        sizes = list(layout.splitter)
        if len(sizes) == self.splitter.count() and sum(sizes) > 0:
            self.splitter.setSizes(sizes)

    async def save_layout(self) -> None:
        """Write the current layout (off the loop) when it changed."""
        if self.layout_file is not None:
            await self.layout_file.save(self.current_layout())

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.layout_file is not None:
            # Measured now: the window may be gone by the time the save runs.
            layout = self.current_layout()
            self.bridge.submit("Save window layout", self.layout_file.save(layout), quiet=True)
        if self.tray_available:
            event.ignore()
            self.hide()
        else:
            event.accept()
            self.on_quit()


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
