"""The Groups page: make a group of servers, choose its tools, connect a client to it.

Left, the groups (New, Rename, Delete). Right, the selected group: its URL (Copy),
Start/Stop its members, Connect a client; how it names tools (naming) and lean mode;
which servers are members (check boxes); and the tool tree (``tree.py``) from the live
servers, where each tool, prompt and resource is switched on or off, a tool renamed or
its description overridden. Every change is saved at once (``engine.update_group``:
the config file, then the group's client sessions hear ``list_changed``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from switchboard.core.errors import ValidationError
from switchboard.core.group import GroupSpec, Naming
from switchboard.core.spec import validate_name
from switchboard.ui.engine_bridge import EngineBridge
from switchboard.ui.groups.tree import ToolTree
from switchboard.ui.icons import action_icon
from switchboard.ui.inspector.panel import InspectorPanel

log = logging.getLogger("switchboard.ui")

NAMING_LABELS = {
    Naming.PREFIX: "Prefix every name with its server (time__get_current_time)",
    Naming.PRIORITY: "Keep the servers' names; on a clash the first server wins",
    Naming.MANUAL: "Keep the servers' names; hide clashes until you rename one",
}
EMPTY_TEXT = (
    "<p style='font-size:15px'><b>No groups yet</b></p>"
    "<p>A group serves several servers at one URL, with only the tools you choose. "
    "Connect a client to the group instead of to each server, and its model sees "
    "fewer, chosen tools.</p><p>Click <b>New group…</b> to make one.</p>"
)


class GroupsPage(QWidget):
    """The window's Groups page (see the module docstring)."""

    def __init__(self, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.current: str = ""
        self._loading: asyncio.Task[None] | None = None
        self._filling = False
        self.last_export: Any = None
        """The manifests of the last export from this page (tests read it)."""

        self.list = QListWidget()
        self.list.setAccessibleName("Groups")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.new_button = QPushButton(action_icon("add"), "&New group…")
        self.new_button.setObjectName("primary")
        self.rename_button = QPushButton("Rename…")
        self.delete_button = QPushButton(action_icon("remove"), "Delete…")
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(16, 14, 8, 14)
        ll.addWidget(self.new_button)
        ll.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addWidget(self.rename_button)
        row.addWidget(self.delete_button)
        ll.addLayout(row)

        self.title = QLabel()
        self.title.setObjectName("title")
        self.url = QLineEdit()
        self.url.setReadOnly(True)
        self.url.setAccessibleName("Group MCP URL")
        self.copy_button = QPushButton(action_icon("copy"), "Copy URL")
        self.connect_button = QPushButton(action_icon("clients"), "Connect a client…")
        self.start_button = QPushButton(action_icon("start"), "Start")
        self.stop_button = QPushButton(action_icon("stop"), "Stop")
        self.export_button = QPushButton("Team cluster export…")
        self.start_button.setToolTip("Start the group's servers")
        self.stop_button.setToolTip("Stop the group's servers")
        self.export_button.setToolTip(
            "Write Kubernetes manifests (ToolHive operator) for this group and its servers; "
            "secrets stay in your keyring. See docs/team-cluster.md."
        )
        self.naming = QComboBox()
        self.naming.setAccessibleName("Tool names")
        for naming, label in NAMING_LABELS.items():
            self.naming.addItem(label, naming.value)
        # Long labels must not set the window's minimum width (the popup shows them whole).
        self.naming.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.naming.setMinimumContentsLength(16)
        self.lean = QCheckBox("Lean: two tools (search, call)")
        self.lean.setToolTip(
            "For big groups: instead of every tool's schema, clients see two tools; the "
            "model searches the group's tools by words and calls one by name, so it does "
            "not load every schema up front."
        )
        self.members = QListWidget()
        self.members.setAccessibleName("Member servers")
        self.members.setMaximumHeight(140)
        self.tree = ToolTree()
        self.refresh_button = QPushButton(action_icon("restart"), "Refresh tools")
        self.summary = QLabel()
        self.summary.setObjectName("secondary")

        editor = QWidget()
        el = QVBoxLayout(editor)
        el.setContentsMargins(8, 14, 16, 14)
        el.setSpacing(8)
        el.addWidget(self.title)
        url_row = QHBoxLayout()
        url_row.addWidget(self.url, 1)
        url_row.addWidget(self.copy_button)
        url_row.addWidget(self.connect_button)
        el.addLayout(url_row)
        run_row = QHBoxLayout()
        run_row.addWidget(self.start_button)
        run_row.addWidget(self.stop_button)
        run_row.addStretch(1)
        run_row.addWidget(self.export_button)
        el.addLayout(run_row)
        el.addWidget(QLabel("Tool names:"))
        el.addWidget(self.naming)
        el.addWidget(self.lean)
        el.addWidget(QLabel("Servers in this group:"))
        el.addWidget(self.members)
        tools_row = QHBoxLayout()
        offered = QLabel("Tools, prompts and resources (uncheck to hide):")
        offered.setWordWrap(True)
        tools_row.addWidget(offered, 1)
        tools_row.addWidget(self.refresh_button)
        el.addLayout(tools_row)
        el.addWidget(self.tree, 1)
        el.addWidget(self.summary)

        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setObjectName("empty")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setMargin(40)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        # Scrolls when the window is short: the page never sets the window's minimum height.
        scroll = QScrollArea()
        scroll.setWidget(editor)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.tabs.addTab(scroll, "&Members and tools")
        self.inspector = InspectorPanel(bridge)  # ui/inspector: try the exposed tools
        self.tabs.addTab(self.inspector, "T&ry tools")
        self.stack.addWidget(self.tabs)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        split.addWidget(left)
        split.addWidget(self.stack)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 4)
        split.setSizes([200, 760])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        self._connect_signals()
        self.reload()

    def _connect_signals(self) -> None:
        self.list.currentTextChanged.connect(self._selected)
        self.new_button.clicked.connect(self.ask_new)
        self.rename_button.clicked.connect(self.ask_rename)
        self.delete_button.clicked.connect(self.confirm_delete)
        self.copy_button.clicked.connect(self.copy_url)
        self.connect_button.clicked.connect(self._connect_menu)
        self.start_button.clicked.connect(lambda: self._run(True))
        self.stop_button.clicked.connect(lambda: self._run(False))
        self.naming.currentIndexChanged.connect(self._naming_changed)
        self.lean.toggled.connect(self._lean_changed)
        self.members.itemChanged.connect(self._members_changed)
        self.refresh_button.clicked.connect(self.load_tools)
        self.export_button.clicked.connect(self.ask_export)
        self.tree.toolToggled.connect(
            lambda server, tool, on: self._edit(lambda g: g.with_tool(server, tool, enabled=on))
        )
        self.tree.toolRenamed.connect(
            lambda server, tool, new: self._edit(
                lambda g: g.with_tool(server, tool, rename=new or None)
            )
        )
        self.tree.toolDescribed.connect(
            lambda server, tool, text: self._edit(
                lambda g: g.with_tool(server, tool, description=text or None)
            )
        )
        self.tree.promptToggled.connect(
            lambda server, name, on: self._edit(lambda g: g.with_prompt(server, name, on))
        )
        self.tree.resourceToggled.connect(
            lambda server, uri, on: self._edit(lambda g: g.with_resource(server, uri, on))
        )
        self.bridge.groupsChanged.connect(lambda _e: self.reload())
        self.bridge.configChanged.connect(lambda _e: self._show_members())
        self.bridge.stateChanged.connect(self._state_changed)

    # -- the list ----------------------------------------------------------------------
    def group(self) -> GroupSpec | None:
        for spec in self.bridge.groups():
            if spec.name == self.current:
                return spec
        return None

    def reload(self) -> None:
        """Show the engine's groups; keep the selection when it still exists."""
        names = [g.name for g in self.bridge.groups()]
        keep = self.current if self.current in names else (names[0] if names else "")
        self.list.blockSignals(True)
        self.list.clear()
        self.list.addItems(names)
        self.list.blockSignals(False)
        self.rename_button.setEnabled(bool(names))
        self.delete_button.setEnabled(bool(names))
        if not names:
            self.current = ""
            self.stack.setCurrentWidget(self.empty)
            return
        self.stack.setCurrentIndex(1)
        self.current = keep
        self.list.setCurrentRow(names.index(keep))
        self._show_group()
        self.load_tools()

    def _selected(self, name: str) -> None:
        if name and name != self.current:
            self.current = name
            self._show_group()
            self.load_tools()

    def _show_group(self) -> None:
        spec = self.group()
        if spec is None:
            return
        self.inspector.set_group(spec.name)
        self._filling = True
        try:
            self.title.setText(f"<b style='font-size:15px'>{_esc(spec.name)}</b>")
            self.url.setText(self.bridge.group_url(spec.name))
            self.naming.setCurrentIndex(self.naming.findData(spec.naming.value))
            self.lean.setChecked(spec.lean)
        finally:
            self._filling = False
        self._show_members()

    def _show_members(self) -> None:
        spec = self.group()
        if spec is None:
            return
        configured = [s.name for s in self.bridge.specs()]
        names = list(spec.servers) + [n for n in configured if n not in spec.servers]
        self._filling = True
        try:
            self.members.clear()
            for name in names:
                missing = name not in configured
                item = QListWidgetItem(f"{name}  (not configured)" if missing else name)
                item.setData(Qt.ItemDataRole.UserRole, name)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
                checked = name in spec.servers
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
                self.members.addItem(item)
        finally:
            self._filling = False
        self._update_run_buttons()

    def _update_run_buttons(self) -> None:
        spec = self.group()
        statuses = [self.bridge.status(n) for n in spec.servers] if spec else []
        known = [s for s in statuses if s is not None]
        self.start_button.setEnabled(any(not s.state.is_active for s in known))
        self.stop_button.setEnabled(any(s.state.is_active for s in known))

    def _state_changed(self, _event: object) -> None:
        self._update_run_buttons()

    # -- the tools ---------------------------------------------------------------------
    def load_tools(self) -> asyncio.Task[None] | None:
        """Ask the live servers for the group's tools (off the GUI's way)."""
        name = self.current
        if not name:
            return None
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()

        async def load() -> None:
            listing = await self.bridge.group_listing(name)
            spec = self.group()
            if spec is None or spec.name != name:
                return
            self.show_listing(spec, listing)

        self._loading = self.bridge.submit(f"Load the tools of {name}", load(), quiet=True)
        return self._loading

    def show_listing(self, spec: GroupSpec, listing: dict[str, Any]) -> None:
        self.tree.show_listing(spec, listing)
        exposed = listing.get("exposed_tools")
        down = [m["server"] for m in listing.get("members", []) if m.get("error")]
        text = f"{exposed} tool(s) offered to clients." if exposed is not None else ""
        if spec.lean:
            text += " Lean: clients see two tools (search, call) and find these on demand."
        if down:
            text += f" Not running: {', '.join(down)} (start them to see their tools)."
        self.summary.setText(text.strip())

    # -- edits -------------------------------------------------------------------------
    def _edit(self, change: Any) -> None:
        spec = self.group()
        if spec is None or self._filling:
            return
        try:
            new = change(spec)
        except ValidationError as exc:
            self.bridge.actionFailed.emit(f"Change group {spec.name}", exc.message)
            self.load_tools()  # put the tree back as it is
            return
        if new != spec:
            self.bridge.save_group(new)

    def _naming_changed(self, _index: int) -> None:
        value = self.naming.currentData()
        self._edit(lambda g: dataclasses.replace(g, naming=Naming(value)))

    def _lean_changed(self, on: bool) -> None:
        self._edit(lambda g: dataclasses.replace(g, lean=on))

    def _members_changed(self, _item: QListWidgetItem) -> None:
        if self._filling:
            return
        checked = tuple(
            str(self.members.item(i).data(Qt.ItemDataRole.UserRole))
            for i in range(self.members.count())
            if self.members.item(i).checkState() == Qt.CheckState.Checked
        )
        self._edit(lambda g: g.with_servers(checked))

    def _run(self, on: bool) -> None:
        if self.current:
            self.bridge.set_group_running(self.current, on)

    # -- dialogs -----------------------------------------------------------------------
    def _ask_name(self, title: str, label: str, text: str = "") -> str | None:
        while True:
            name, ok = QInputDialog.getText(self, title, label, QLineEdit.EchoMode.Normal, text)
            if not ok:
                return None
            name = name.strip()
            try:
                validate_name(name)
            except ValidationError as exc:
                QMessageBox.warning(self, title, f"{exc.message}\n\n{exc.hint}")
                text = name
                continue
            if name in {g.name for g in self.bridge.groups()}:
                QMessageBox.warning(self, title, f"There is already a group named {name!r}.")
                text = name
                continue
            return name

    def ask_new(self) -> None:
        name = self._ask_name("New group", "Name of the group (used in its URL):")
        if name:
            self.create_group(name)

    def create_group(self, name: str) -> asyncio.Task[None]:
        """Make a group with every configured server (the person unchecks what to leave out)."""
        self.current = name
        servers = tuple(s.name for s in self.bridge.specs())
        return self.bridge.add_group(GroupSpec(name=name, servers=servers))

    def ask_rename(self) -> None:
        old = self.current
        if not old:
            return
        new = self._ask_name(
            "Rename group", "New name (clients using the old URL must be reconnected):", old
        )
        if new and new != old:
            self.current = new
            self.bridge.rename_group(old, new)

    def confirm_delete(self) -> None:
        name = self.current
        if not name:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Delete group",
            f"Delete the group {name}? Its servers are not touched; clients connected to "
            "the group's URL lose it.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(lambda b: self.bridge.remove_group(name) if b is delete else None)
        box.open()

    def ask_export(self) -> None:
        name = self.current
        if not name:
            return
        folder = QFileDialog.getExistingDirectory(self, f"Export {name} for a team cluster")
        if folder:
            self.export_to(Path(folder) / f"switchboard-{name}")

    def export_to(self, target: Path) -> asyncio.Task[None]:
        """Write the manifests of the current group into ``target`` and say where."""
        name = self.current

        async def run() -> None:
            manifests = await self.bridge.export_cluster(target, name)
            skipped = "".join(f"\n• {s}: {why}." for s, why in manifests.skipped)
            text = (
                f"Wrote {len(manifests.documents())} Kubernetes objects to {target}.\n\n"
                f"Read README.md there: it lists the {len(manifests.secrets)} secret(s) to "
                "create (their values stay in your keyring) and what to fill in."
            )
            if skipped:
                text += f"\n\nNot exported:{skipped}"
            box = QMessageBox(QMessageBox.Icon.Information, "Exported", text, parent=self)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
            self.last_export = manifests

        return self.bridge.submit(f"Export {name} for a team cluster", run())

    def copy_url(self) -> None:
        url = self.url.text()
        if url:
            QGuiApplication.clipboard().setText(url)
            self.bridge.actionDone.emit(f"Copied {url}")

    def _connect_menu(self) -> None:
        name = self.current
        if not name:
            return

        async def show() -> None:
            clients = await self.bridge.list_clients()
            menu = QMenu(self)
            menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            for client in clients:
                if not client.installed:
                    continue
                action = menu.addAction(f"{client.title.replace('&', '&&')}")
                action.triggered.connect(
                    lambda _c=False, c=client: self.bridge.connect_group(c.id, c.title, name)
                )
            if menu.isEmpty():
                none = menu.addAction("No MCP clients found on this computer")
                none.setEnabled(False)
            menu.popup(self.connect_button.mapToGlobal(self.connect_button.rect().bottomLeft()))

        self.bridge.submit("List MCP clients", show(), quiet=True)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
