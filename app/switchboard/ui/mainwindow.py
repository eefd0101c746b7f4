"""The main window: servers (table + detail with log and settings), clients, settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QItemSelection,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QCloseEvent,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from switchboard.core.errors import ValidationError
from switchboard.core.events import StateChanged
from switchboard.core.paths import AppPaths
from switchboard.core.spec import ServerSpec
from switchboard.core.state import ServerState
from switchboard.ui.bridge import EngineBridge
from switchboard.ui.dialogs import AddServerDialog
from switchboard.ui.icons import action_icon, app_icon, state_icon, summary
from switchboard.ui.logview import LogView
from switchboard.ui.models import STATE_LABELS, URL_ROLE, Column, ServersModel
from switchboard.ui.pages import ClientsPage, SettingsPage
from switchboard.ui.serverform import ServerForm
from switchboard.ui.windowstate import (
    LayoutFile,
    WindowLayout,
    available_geometry_for,
    clamp_rect,
)

log = logging.getLogger("switchboard.ui")


class UrlDelegate(QStyledItemDelegate):
    """Draws the MCP URL with a copy icon at the right; a click on it copies."""

    def __init__(self, on_copy: Callable[[str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._on_copy = on_copy
        self._icon = action_icon("copy")

    def _icon_rect(self, rect: QRect) -> QRect:
        size = 16
        return QRect(rect.right() - size - 8, rect.center().y() - size // 2 + 1, size, size)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        opt = QStyleOptionViewItem(option)
        opt.rect = option.rect.adjusted(0, 0, -30, 0)
        super().paint(painter, opt, index)
        if index.data(URL_ROLE):
            self._icon.paint(painter, self._icon_rect(option.rect))

    def editorEvent(
        self,
        event: QEvent,
        model: QAbstractItemModel,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> bool:
        rect: QRect = option.rect
        if (
            event.type() == QEvent.Type.MouseButtonRelease
            and isinstance(event, QMouseEvent)
            and self._icon_rect(rect).contains(event.position().toPoint())
        ):
            url = index.data(URL_ROLE)
            if url:
                self._on_copy(str(url))
            return True
        return super().editorEvent(event, model, option, index)


def ask_secret(parent: QWidget, bridge: EngineBridge, name: str) -> QInputDialog:
    """Ask for a secret's value (masked) and store it in the keyring."""
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
            if isinstance(parent, ServerDetail):
                task.add_done_callback(lambda _t: parent.check_secrets())

    dialog.textValueSelected.connect(store)
    dialog.open()
    return dialog


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


class ServersTable(QTableView):
    """The servers table; Space or Enter toggles the current server, Ctrl+C copies its URL."""

    toggleRequested = Signal(int)
    copyRequested = Signal(int)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        row = self.currentIndex().row()
        if row >= 0 and event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.toggleRequested.emit(row)
            event.accept()
        elif row >= 0 and event.matches(QKeySequence.StandardKey.Copy):
            self.copyRequested.emit(row)
            event.accept()
        else:
            super().keyPressEvent(event)


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

        head = QHBoxLayout()
        head.setSpacing(8)
        head.addWidget(self.title)
        head.addSpacing(6)
        head.addWidget(self.state_icon)
        head.addWidget(self.state_text)
        head.addStretch(1)
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
        self.form.setSecretRequested.connect(lambda name: ask_secret(self, bridge, name))
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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(8)
        layout.addLayout(head)
        layout.addLayout(url_row)
        layout.addWidget(self.failure)
        layout.addWidget(self.tabs, 1)
        bridge.stateChanged.connect(self._on_state)
        bridge.configChanged.connect(lambda _e: self.refresh(form=not self.form.is_dirty()))

    def show_server(self, name: str) -> None:
        if name == self.name:
            return
        self.name = name
        self.log_view.set_server(name)
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
        active = status.state.is_active
        self.toggle.setText("&Stop" if active else "&Start")
        self.toggle.setIcon(action_icon("stop" if active else "start"))
        self.restart.setEnabled(active)
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

        # -- message bar (errors, no-tray notice) --
        self.banner = QLabel()
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.setAccessibleName("Message")
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner_close = QToolButton()
        self.banner_close.setText("✕")
        self.banner_close.setAccessibleName("Dismiss message")
        self.banner_close.setAutoRaise(True)
        self.banner_close.clicked.connect(self.hide_banner)
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
        if not tray_available:
            self.notice.setText(
                "No system tray was found on this desktop, so Switchboard runs in this "
                "window. Closing it quits Switchboard and stops your servers."
            )
        self.notice.setVisible(not tray_available)

        # -- servers page --
        self.model = ServersModel(bridge, parent=self)
        self.table = ServersTable()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Servers")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setTabKeyNavigation(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(30)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        # Fixed, measured-once widths: ResizeToContents would re-measure every row on
        # every change (a 50-server table then costs a full column scan per update).
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        metrics = self.table.fontMetrics()
        header.resizeSection(Column.NAME, 170)
        header.resizeSection(Column.STATUS, 130)
        header.resizeSection(Column.UPTIME, metrics.horizontalAdvance("Uptime") + 48)
        header.resizeSection(Column.RESTARTS, metrics.horizontalAdvance("Restarts") + 36)
        self.table.setItemDelegateForColumn(Column.URL, UrlDelegate(self.copy_url, self.table))
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self.table.doubleClicked.connect(lambda i: self._toggle_row(i.row()))
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.model.modelReset.connect(self._after_reset)

        self.add_button = QPushButton(action_icon("add"), "&Add server…")
        self.add_button.setObjectName("primary")
        self.add_button.setAccessibleName("Add a server")
        self.add_button.clicked.connect(self.open_add_dialog)
        self.start_all_button = QPushButton(action_icon("start"), "Start all")
        self.start_all_button.setAccessibleName("Start all servers")
        self.start_all_button.clicked.connect(lambda: self.bridge.start_all())
        self.stop_all_button = QPushButton(action_icon("stop"), "Stop all")
        self.stop_all_button.setAccessibleName("Stop all servers")
        self.stop_all_button.clicked.connect(lambda: self.bridge.stop_all())
        bar = QHBoxLayout()
        bar.setSpacing(8)
        bar.addWidget(self.add_button)
        bar.addStretch(1)
        bar.addWidget(self.start_all_button)
        bar.addWidget(self.stop_all_button)

        self.detail = ServerDetail(bridge, self.copy_url)
        self.detail.remove.clicked.connect(self.confirm_remove)
        self.empty = QLabel(
            "<p style='font-size:15px'><b>No servers yet</b></p>"
            "<p>Add an MCP server with <b>Add server…</b>. Switchboard runs it, restarts it "
            "if it crashes and serves it to your MCP clients at one local address.</p>"
        )
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
        self.splitter = split

        self.clients = ClientsPage(bridge)
        self.settings = SettingsPage(bridge, paths)
        self.pages = QTabWidget()
        self.pages.setObjectName("pages")
        self.pages.setDocumentMode(True)
        self.pages.addTab(split, action_icon("servers"), "Servers")
        self.pages.addTab(self.clients, action_icon("clients"), "Clients && access")
        self.pages.addTab(self.settings, action_icon("settings"), "Settings")
        self.pages.currentChanged.connect(self._page_changed)

        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        cl.addWidget(self.notice)
        cl.addWidget(self.banner_frame)
        cl.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        self.status_text = QLabel()
        self.status_text.setObjectName("secondary")
        self.statusBar().addPermanentWidget(self.status_text)
        self.statusBar().setSizeGripEnabled(False)
        self.statusBar().setContentsMargins(8, 0, 12, 2)

        bridge.actionFailed.connect(self.show_error)
        bridge.actionDone.connect(lambda what: self.statusBar().showMessage(f"{what}: done", 4000))
        bridge.stateChanged.connect(lambda _e: self._update_status())
        bridge.configChanged.connect(lambda _e: self._update_status())
        self._shortcuts()
        self._after_reset()
        if layout_file is None and paths is not None:
            layout_file = LayoutFile.in_dir(paths.config_dir)
        self.layout_file = layout_file
        self._restore_saved_layout()

    # -- keyboard ----------------------------------------------------------------------
    def _shortcuts(self) -> None:
        def add(
            seq: QKeySequence | QKeySequence.StandardKey | str, fn: Callable[[], object]
        ) -> None:
            sc = QShortcut(QKeySequence(seq), self)
            sc.activated.connect(fn)

        add(QKeySequence.StandardKey.New, self.open_add_dialog)
        add("Ctrl+1", lambda: self.pages.setCurrentIndex(0))
        add("Ctrl+2", lambda: self.pages.setCurrentIndex(1))
        add("Ctrl+3", lambda: self.pages.setCurrentIndex(2))
        add("Ctrl+L", self.focus_log_search)
        add(QKeySequence.StandardKey.Quit, self.on_quit)
        add("Ctrl+W", self.close)
        self.table.copyRequested.connect(
            lambda row: self.copy_url(self.bridge.server_url(self.model.name_at(row)))
        )
        self.table.toggleRequested.connect(self._toggle_row)
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
        if _has_catalog():
            from switchboard.ui.catalogtab import CatalogTab

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


def _has_catalog() -> bool:
    try:
        import switchboard.catalog.catalog  # noqa: F401
    except ImportError:
        return False
    return True


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
