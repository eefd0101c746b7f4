"""The tool tree of the Groups page: per member server, its tools, prompts and resources
from the live server (``Gateway.group_listing``), each with a check box (on/off in the
group), the name the group exposes, and the description (editable: an override).

The tree only shows and reports; the page turns each report into a new
:class:`~switchboard.core.group.GroupSpec` (``with_tool``/``with_prompt``/
``with_resource``) and saves it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QHeaderView,
    QStyledItemDelegate,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from switchboard.core.group import GroupSpec

COLUMNS = ("Name", "Exposed as", "Description")
KIND_ROLE = Qt.ItemDataRole.UserRole
"""(kind, server, key) on every leaf: kind is "tool", "prompt" or "resource"."""

HIDDEN_WHY = {
    "collision": "hidden: another member has a tool with this name (rename one)",
    "filter": "off in this group",
}


def _short(text: str) -> str:
    """One line (the view elides what does not fit; the tooltip has it all)."""
    return " ".join(text.split())


class ToolTree(QTreeWidget):
    """Members -> Tools / Prompts / Resources -> items with check boxes."""

    toolToggled = Signal(str, str, bool)
    """(server, tool, on)"""
    toolRenamed = Signal(str, str, str)
    """(server, tool, new exposed name; "" = back to the default)"""
    toolDescribed = Signal(str, str, str)
    """(server, tool, description; "" = the server's own)"""
    promptToggled = Signal(str, str, bool)
    resourceToggled = Signal(str, str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(len(COLUMNS))
        self.setHeaderLabels(list(COLUMNS))
        self.setAccessibleName("Tools of the group's servers")
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setEditTriggers(
            QTreeWidget.EditTrigger.DoubleClicked | QTreeWidget.EditTrigger.EditKeyPressed
        )
        header = self.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self._read_only = _ReadOnly(self)
        self.setItemDelegateForColumn(0, self._read_only)
        self._filling = False
        self._spec: GroupSpec | None = None
        self.itemChanged.connect(self._changed)

    # -- filling -----------------------------------------------------------------------
    def show_listing(self, spec: GroupSpec, listing: dict[str, Any]) -> None:
        """Rebuild from a ``group_listing`` answer, keeping which members were open."""
        expanded = {top.text(0) for top in self._tops() if top.isExpanded()}
        self._filling = True
        try:
            self._spec = spec
            self.clear()
            for member in listing.get("members", []):
                self._add_member(spec, member, expanded)
        finally:
            self._filling = False

    def _add_member(self, spec: GroupSpec, member: dict[str, Any], expanded: set[str]) -> None:
        server = str(member.get("server", ""))
        state = str(member.get("state", ""))
        top = QTreeWidgetItem([server, "", state if not member.get("error") else ""])
        top.setFlags(Qt.ItemFlag.ItemIsEnabled)
        error = member.get("error")
        if error:
            top.setText(2, _short(str(error)))
            top.setToolTip(2, str(error))
        font = QFont(top.font(0))
        font.setBold(True)
        top.setFont(0, font)
        self.addTopLevelItem(top)
        choices = spec.member(server)
        tools = member.get("tools") or []
        if tools:
            section = self._section(top, f"Tools ({len(tools)})")
            for tool in tools:
                name = str(tool.get("name", ""))
                choice = choices.tool(name)
                exposed = tool.get("exposed") or ""
                why = tool.get("hidden_by")
                item = self._leaf(section, ("tool", server, name), name, choice.enabled)
                item.setText(1, str(exposed) if exposed else "")
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
                desc = str(tool.get("description") or "")
                item.setText(2, _short(desc))
                item.setToolTip(2, desc)
                if choice.description is not None:
                    italic = QFont(item.font(2))
                    italic.setItalic(True)
                    item.setFont(2, italic)
                    item.setToolTip(2, f"{desc}\n\n(yours; clear it to use the server's)")
                if why in HIDDEN_WHY and not (why == "filter" and not choice.enabled):
                    item.setToolTip(1, HIDDEN_WHY[str(why)])
                    item.setText(1, f"— {HIDDEN_WHY[str(why)]}")
        prompts = member.get("prompts") or []
        if prompts:
            section = self._section(top, f"Prompts ({len(prompts)})")
            for prompt in prompts:
                name = str(prompt.get("name", ""))
                item = self._leaf(
                    section, ("prompt", server, name), name, name not in choices.prompts_off
                )
                item.setText(1, str(prompt.get("exposed") or ""))
                item.setText(2, _short(str(prompt.get("description") or "")))
        resources = member.get("resources") or []
        if resources:
            section = self._section(top, f"Resources ({len(resources)})")
            for res in resources:
                uri = str(res.get("uri") or res.get("uriTemplate") or "")
                label = str(res.get("name") or uri)
                item = self._leaf(
                    section, ("resource", server, uri), label, uri not in choices.resources_off
                )
                item.setText(1, uri)
                item.setText(2, _short(str(res.get("description") or "")))
        if not (tools or prompts or resources) and not error:
            empty = QTreeWidgetItem(["(nothing offered)"])
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            top.addChild(empty)
        top.setExpanded(server in expanded or not expanded)

    def _section(self, top: QTreeWidgetItem, title: str) -> QTreeWidgetItem:
        section = QTreeWidgetItem([title])
        section.setFlags(Qt.ItemFlag.ItemIsEnabled)
        top.addChild(section)
        section.setExpanded(True)
        return section

    def _leaf(
        self, parent: QTreeWidgetItem, key: tuple[str, str, str], label: str, on: bool
    ) -> QTreeWidgetItem:
        item = QTreeWidgetItem([label])
        item.setFlags(
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemIsUserCheckable
        )
        item.setCheckState(0, Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        item.setData(0, KIND_ROLE, key)
        parent.addChild(item)
        return item

    # -- what the person did -----------------------------------------------------------
    def _tops(self) -> list[QTreeWidgetItem]:
        items = (self.topLevelItem(i) for i in range(self.topLevelItemCount()))
        return [item for item in items if item is not None]

    def leaves(self) -> list[QTreeWidgetItem]:
        """Every tool, prompt and resource item."""
        out: list[QTreeWidgetItem] = []
        for top in self._tops():
            for section in _children(top):
                out.extend(item for item in _children(section) if item.data(0, KIND_ROLE))
        return out

    def leaf(self, kind: str, server: str, key: str) -> QTreeWidgetItem | None:
        for item in self.leaves():
            if tuple(item.data(0, KIND_ROLE)) == (kind, server, key):
                return item
        return None

    def _changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._filling:
            return
        data = item.data(0, KIND_ROLE)
        if not data:
            return
        kind, server, key = data
        if column == 0:
            on = item.checkState(0) == Qt.CheckState.Checked
            {"tool": self.toolToggled, "prompt": self.promptToggled}.get(
                kind, self.resourceToggled
            ).emit(server, key, on)
        elif kind == "tool" and column == 1:
            self.toolRenamed.emit(server, key, item.text(1).strip())
        elif kind == "tool" and column == 2:
            self.toolDescribed.emit(server, key, item.text(2).strip())


def _children(item: QTreeWidgetItem) -> list[QTreeWidgetItem]:
    children = (item.child(i) for i in range(item.childCount()))
    return [child for child in children if child is not None]


class _ReadOnly(QStyledItemDelegate):
    """A column that is never edited (a tool's own name: the server decides it)."""

    def createEditor(self, *_args: object) -> None:  # type: ignore[override]
        return None
