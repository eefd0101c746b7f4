"""The Tools tab of a server: its live tools, prompts, resources and resource templates
(asked of the running process through the gateway's mux; nothing else is started), and
"Try it" for each: a form from the tool's input schema (or the prompt's arguments, or
the template's variables), checked before sending, the result drawn, progress while it
runs, Cancel (MCP 2025-11-25 ``basic/utilities/cancellation``).

The engine work goes through the :class:`EngineBridge` on the shared qasync loop; the
Qt-free parts are :mod:`switchboard.inspector`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from switchboard.core.errors import SwitchboardError
from switchboard.core.events import StateChanged
from switchboard.core.state import ServerState
from switchboard.inspector.results import (
    Outcome,
    annotation_badges,
    prompt_result,
    read_result,
    tool_result,
)
from switchboard.inspector.uri_template import expand_template, template_variables
from switchboard.ui.engine_bridge import EngineBridge
from switchboard.ui.icons import action_icon
from switchboard.ui.inspector.form import ArgumentsForm
from switchboard.ui.inspector.result import ResultView

SECTIONS = (
    ("tool", "tools", "Tools"),
    ("prompt", "prompts", "Prompts"),
    ("resource", "resources", "Resources"),
    ("template", "resourceTemplates", "Resource templates"),
)
BADGE_COLORS = {
    "read-only": "rgba(26, 127, 55, 0.15)",
    "destructive": "rgba(207, 34, 46, 0.18)",
    "idempotent": "rgba(47, 111, 179, 0.15)",
    "open-world": "rgba(191, 135, 0, 0.18)",
}
KIND_ROLE = Qt.ItemDataRole.UserRole


def _badge(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("badge")
    label.setAccessibleName(f"Hint: {text}")
    label.setStyleSheet(
        f"QLabel#badge {{ background: {BADGE_COLORS.get(text, 'palette(midlight)')};"
        " border-radius: 8px; padding: 1px 8px; font-size: 11px; }"
    )
    return label


class InspectorPanel(QWidget):
    """The Tools tab (see the module doc)."""

    def __init__(self, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.server = ""
        self.group = ""
        """Set (instead of :attr:`server`) when the tab shows the tools a group exposes."""
        self.listing: dict[str, Any] | None = None
        self._stale = True
        self._loading: asyncio.Task[None] | None = None
        self.running: asyncio.Task[None] | None = None
        self.current: tuple[str, dict[str, Any]] | None = None

        self.refresh = QToolButton()
        self.refresh.setIcon(action_icon("restart"))
        self.refresh.setToolTip("Ask the server again")
        self.refresh.setAccessibleName("Refresh the tools list")
        self.refresh.clicked.connect(self.load)
        self.status = QLabel()
        self.status.setObjectName("secondary")
        self.status.setWordWrap(True)
        self.items = QTreeWidget()
        self.items.setHeaderLabels(["Name", "Hints"])
        self.items.setAccessibleName("Tools, prompts and resources")
        self.items.setRootIsDecorated(True)
        self.items.currentItemChanged.connect(lambda cur, _prev: self._selected(cur))

        # The selected item's detail.
        self.title = QLabel()
        self.title.setObjectName("detailTitle")
        self.title.setWordWrap(True)
        self.badges = QHBoxLayout()
        self.badges.setSpacing(4)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.schema_toggle = QToolButton()
        self.schema_toggle.setText("Show the input schema")
        self.schema_toggle.setCheckable(True)
        self.schema_view = QPlainTextEdit()
        self.schema_view.setReadOnly(True)
        self.schema_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.schema_view.setAccessibleName("Input schema")
        self.schema_view.setMinimumHeight(140)
        self.schema_view.hide()
        self.schema_toggle.toggled.connect(self.schema_view.setVisible)
        self.form = ArgumentsForm()
        self.run = QPushButton(action_icon("start"), "&Run")
        self.run.setObjectName("primary")
        self.run.setAccessibleName("Run")
        self.run.clicked.connect(self.submit)
        self.cancel = QPushButton(action_icon("stop"), "&Cancel")
        self.cancel.setAccessibleName("Cancel the running request")
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(self.cancel_running)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Progress")
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.progress_text = QLabel()
        self.progress_text.setObjectName("secondary")
        self.progress_text.hide()
        self.result = ResultView()

        detail = QWidget()
        col = QVBoxLayout(detail)
        col.setContentsMargins(12, 4, 4, 4)
        col.setSpacing(6)
        col.addWidget(self.title)
        col.addLayout(self.badges)
        col.addWidget(self.description)
        col.addWidget(self.schema_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        col.addWidget(self.schema_view)
        col.addWidget(self.form)
        row = QHBoxLayout()
        row.addWidget(self.run)
        row.addWidget(self.cancel)
        row.addWidget(self.progress, 1)
        row.addStretch(1)
        col.addLayout(row)
        col.addWidget(self.progress_text)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        col.addWidget(line)
        col.addWidget(self.result, 1)
        self.detail = QScrollArea()
        self.detail.setWidgetResizable(True)
        self.detail.setFrameShape(QFrame.Shape.NoFrame)
        self.detail.setWidget(detail)

        split = QSplitter()
        split.addWidget(self.items)
        split.addWidget(self.detail)
        split.setStretchFactor(1, 3)
        split.setSizes([330, 560])
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.refresh)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 8, 4, 4)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self._show_detail(False)
        bridge.stateChanged.connect(self._on_state)

    # -- loading ----------------------------------------------------------------------
    def set_server(self, name: str) -> None:
        if name == self.server and not self.group:
            return
        self.cancel_running()
        self.server, self.group = name, ""
        self._reset()

    def set_group(self, name: str) -> None:
        """Show the tools group ``name`` exposes (named as its clients see them); a
        call goes to the member server through the group."""
        if name == self.group:
            return
        self.cancel_running()
        self.server, self.group = "", name
        self._reset()

    def _reset(self) -> None:
        self.listing = None
        self.current = None
        self.items.clear()
        self._show_detail(False)
        self._stale = True
        if self.isVisible():
            self.load()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._stale and (self.server or self.group):
            self.load()

    def _on_state(self, event: StateChanged) -> None:
        if self.group:
            members = [m.get("server") for m in (self.listing or {}).get("members") or []]
            settled = event.new is ServerState.RUNNING or not event.new.is_active
            if event.name in members and settled:
                self._stale = True
                if self.isVisible():
                    self.load()
            return
        if event.name != self.server:
            return
        if event.new is ServerState.RUNNING:
            self._stale = True
            if self.isVisible():
                self.load()
        elif not event.new.is_active:
            self._stale = True
            self._down()

    def _down(self) -> None:
        status = self.bridge.status(self.server)
        state = status.state.value if status is not None else "gone"
        self.status.setText(
            f"'{self.server}' is {state}. Start it to see its tools, prompts and resources."
        )

    def load(self) -> None:
        """Ask the running server what it offers (a stopped one is not started)."""
        if self.group:
            self._load_group()
            return
        name = self.server
        if not name:
            return
        status = self.bridge.status(name)
        if status is None or status.state is not ServerState.RUNNING:
            self._stale = True
            self._down()
            return
        self._stale = False
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
        self.status.setText(f"Asking '{name}'…")

        async def work() -> None:
            try:
                listing = await self.bridge.inspector.listing(name)
            except SwitchboardError as exc:
                if name == self.server:
                    self._stale = True
                    self.status.setText(str(exc))
                return
            if name == self.server:
                self._fill(listing)

        self._loading = self.bridge.submit(f"List the tools of {name}", work(), quiet=True)

    def _load_group(self) -> None:
        group = self.group
        self._stale = False
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
        self.status.setText(f"Asking the members of group '{group}'…")

        async def work() -> None:
            try:
                listing = await self.bridge.inspector.group_tools(group)
            except SwitchboardError as exc:
                if group == self.group:
                    self._stale = True
                    self.status.setText(str(exc))
                return
            if group == self.group:
                self._fill(listing)
                notes = [
                    f"'{m['server']}': {m['error']}" for m in listing["members"] if m.get("error")
                ]
                self.status.setText(
                    f"Group '{group}': {len(listing['tools'])} tools exposed"
                    + (f" (not listed: {'; '.join(notes)})" if notes else ".")
                )

        self._loading = self.bridge.submit(f"List the tools of group {group}", work(), quiet=True)

    def _fill(self, listing: dict[str, Any]) -> None:
        keep = self.current
        self.listing = listing
        self.items.clear()
        counts = []
        again: QTreeWidgetItem | None = None
        for kind, key, label in SECTIONS:
            entries = [e for e in listing.get(key) or [] if isinstance(e, dict)]
            counts.append(f"{len(entries)} {label.lower()}")
            if not entries:
                continue
            section = QTreeWidgetItem([f"{label} ({len(entries)})", ""])
            section.setFlags(section.flags() & ~Qt.ItemFlag.ItemIsSelectable)
            self.items.addTopLevelItem(section)
            for entry in entries:
                name = str(entry.get("name") or entry.get("uri") or "")
                hints = ", ".join(annotation_badges(entry)) if kind == "tool" else ""
                item = QTreeWidgetItem([name, hints])
                tip = str(entry.get("description") or name)
                if entry.get("server"):  # a group's tool: which member has it
                    tip += f"\n(tool '{entry.get('tool')}' of server '{entry['server']}')"
                item.setToolTip(0, tip)
                item.setToolTip(1, hints)
                item.setData(0, KIND_ROLE, (kind, entry))
                section.addChild(item)
                if (
                    keep is not None
                    and keep[0] == kind
                    and keep[1].get("name") == entry.get("name")
                    and keep[1].get("uri") == entry.get("uri")
                ):
                    again = item
            section.setExpanded(True)
        self.items.resizeColumnToContents(0)
        self.items.setColumnWidth(0, min(self.items.columnWidth(0), 230))
        self.items.resizeColumnToContents(1)
        info = listing.get("serverInfo") or {}
        who = f"{info.get('name', self.server)} {info.get('version', '')}".strip()
        self.status.setText(f"{who}: " + ", ".join(counts) + ".")
        if again is not None:
            self.items.setCurrentItem(again)
        else:
            self._show_detail(False)

    def select(self, kind: str, name: str) -> bool:
        """Select an entry by kind ("tool", "prompt", "resource", "template") and name."""
        for i in range(self.items.topLevelItemCount()):
            section = self.items.topLevelItem(i)
            for j in range(section.childCount() if section is not None else 0):
                item = section.child(j) if section is not None else None
                if item is None:
                    continue
                data = item.data(0, KIND_ROLE)
                if data and data[0] == kind and item.text(0) == name:
                    self.items.setCurrentItem(item)
                    return True
        return False

    # -- the selected entry -----------------------------------------------------------
    def _show_detail(self, on: bool) -> None:
        widget = self.detail.widget()
        if widget is not None:
            widget.setVisible(on)

    def _selected(self, item: QTreeWidgetItem | None) -> None:
        data = item.data(0, KIND_ROLE) if item is not None else None
        if not data:
            return
        self.cancel_running()
        kind, entry = data
        self.current = (kind, entry)
        self._show_detail(True)
        self.title.setText(str(entry.get("title") or entry.get("name") or entry.get("uri")))
        while self.badges.count():
            old = self.badges.takeAt(0)
            gone = old.widget() if old is not None else None
            if gone is not None:
                gone.deleteLater()
        for text in annotation_badges(entry) if kind == "tool" else []:
            self.badges.addWidget(_badge(text))
        if kind in ("resource", "template"):
            self.badges.addWidget(QLabel(str(entry.get("uri") or entry.get("uriTemplate") or "")))
        self.badges.addStretch(1)
        self.description.setText(str(entry.get("description") or ""))
        schema: dict[str, Any] | None = None
        if kind == "tool":
            schema = entry.get("inputSchema") if isinstance(entry.get("inputSchema"), dict) else {}
            self.run.setText("&Run")
        elif kind == "prompt":
            args = [a for a in entry.get("arguments") or [] if isinstance(a, dict)]
            schema = {
                "type": "object",
                "properties": {
                    str(a.get("name")): {"type": "string", "description": a.get("description", "")}
                    for a in args
                },
                "required": [str(a.get("name")) for a in args if a.get("required")],
            }
            self.run.setText("&Get prompt")
        elif kind == "template":
            names = template_variables(str(entry.get("uriTemplate", "")))
            props = (
                {n: {"type": "string"} for n in names}
                if names is not None
                else {"uri": {"type": "string", "default": entry.get("uriTemplate", "")}}
            )
            schema = {"type": "object", "properties": props, "required": list(props)}
            self.run.setText("&Read")
        else:
            schema = {"type": "object", "properties": {}}
            self.run.setText("&Read")
        self.schema_view.setPlainText(json.dumps(schema, indent=2, ensure_ascii=False))
        self.schema_toggle.setVisible(kind == "tool")
        self.schema_toggle.setChecked(False)
        self.form.set_schema(schema)
        self.form.setVisible(kind != "resource")
        self.result.clear()
        self.progress.hide()
        self.progress_text.clear()

    # -- running ----------------------------------------------------------------------
    def submit(self) -> None:
        """Check the form, then send: tools/call, prompts/get or resources/read."""
        if self.current is None or (self.running is not None and not self.running.done()):
            return
        kind, entry = self.current
        problems = self.form.problems()
        if problems:
            self.result.show_message(
                "Not sent: the arguments do not fit the schema (see the fields above).",
                error=True,
            )
            return
        args = self.form.value()
        name = self.server
        inspector = self.bridge.inspector
        work: Awaitable[dict[str, Any]]
        render: Callable[[dict[str, Any]], Outcome]
        if kind == "tool" and self.group:
            name = self.group
            work = inspector.call_group_tool(
                name, str(entry["name"]), args, on_progress=self._progress
            )
            render = tool_result
        elif kind == "tool":
            work = inspector.call_tool(name, str(entry["name"]), args, on_progress=self._progress)
            render = tool_result
        elif kind == "prompt":
            work = inspector.get_prompt(name, str(entry["name"]), args)
            render = prompt_result
        else:
            uri = str(entry.get("uri", ""))
            if kind == "template":
                template = str(entry.get("uriTemplate", ""))
                uri = str(args["uri"]) if "uri" in args else expand_template(template, args)
            work = inspector.read_resource(name, uri)
            render = read_result
        self._busy(True)
        self.result.show_message("Running…")

        async def run() -> None:
            try:
                result = await work
            except asyncio.CancelledError:
                self.result.show_message("Cancelled: the server was told to stop.")
                raise
            except SwitchboardError as exc:
                self.result.show_message(str(exc), error=True)
                return
            except Exception as exc:  # a bug: said here, logged by the bridge
                self.result.show_message(f"Unexpected error: {exc!r}.", error=True)
                raise
            finally:
                self._busy(False)
            self.result.show_outcome(render(result))

        self.running = self.bridge.submit(f"{self.run.text().strip('&')} {name}", run(), quiet=True)

    def cancel_running(self) -> None:
        if self.running is not None and not self.running.done():
            self.running.cancel()

    def _busy(self, on: bool) -> None:
        self.run.setEnabled(not on)
        self.cancel.setEnabled(on)
        self.progress.setVisible(on)
        self.progress.setRange(0, 0)  # busy until the server says how far it is
        if on:
            self.progress_text.clear()
            self.progress_text.hide()

    def _progress(self, done: float, total: float | None, message: str) -> None:
        self.progress_text.setVisible(bool(message))
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(min(done / total, 1.0) * 1000))
            self.progress.setFormat(f"{done:g} of {total:g}")
        else:
            self.progress.setRange(0, 0)
        self.progress_text.setText(message)


__all__ = ["InspectorPanel"]
