"""A tool result, prompt messages or resource contents, drawn
(:mod:`switchboard.inspector.results` says what each block is).

Text as selectable text, images as pictures, embedded resources in a titled box (their
text, a picture, or their size), structured content as a tree, and a result whose
``isError`` is true in red under a red heading (MCP 2025-11-25 ``server/tools``: a
tool's own failure is reported in the result so the model can see it).
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QGroupBox,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from switchboard.inspector.results import Block, Outcome

MAX_TEXT = 200_000
"""Longer text is cut (with a note): a label cannot lay out megabytes."""


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def fill_tree(parent: QTreeWidgetItem, value: Any) -> None:
    """Children of ``parent`` for each key/index of ``value``."""
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, sub in items:
        child = QTreeWidgetItem([f"[{key}]" if isinstance(key, int) else str(key), ""])
        if isinstance(sub, dict | list):
            child.setText(1, f"{len(sub)} item(s)" if isinstance(sub, list) else "")
            fill_tree(child, sub)
        else:
            child.setText(1, _scalar(sub))
        parent.addChild(child)


class ResultView(QWidget):
    """Draws an :class:`Outcome` (see the module doc)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        self.outcome: Outcome | None = None
        self.tree: QTreeWidget | None = None
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.heading.hide()
        self._layout.addWidget(self.heading)
        self._layout.addStretch(1)

    @property
    def is_error(self) -> bool:
        return self.outcome is not None and self.outcome.is_error

    def clear(self) -> None:
        while self._layout.count() > 2:
            item = self._layout.takeAt(1)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.heading.hide()
        self.outcome = None
        self.tree = None

    def _add(self, widget: QWidget) -> None:
        self._layout.insertWidget(self._layout.count() - 1, widget)

    def show_message(self, text: str, *, error: bool = False) -> None:
        """A line instead of a result (cancelled, failed to call, ...)."""
        self.clear()
        self.heading.setObjectName("errorBox" if error else "noteBox")
        self.heading.setText(text)
        self.heading.setStyle(self.heading.style())  # re-read the object name's style
        self.heading.show()

    def show_outcome(self, outcome: Outcome, heading: str = "") -> None:
        self.clear()
        self.outcome = outcome
        if outcome.is_error:
            self.show_message(heading or "The tool reported an error.", error=True)
            self.outcome = outcome
        elif outcome.description:
            self.show_message(outcome.description)
            self.outcome = outcome
        for block in outcome.blocks:
            self._add(self._block(block, outcome.is_error))
        if outcome.structured is not None:
            tree = QTreeWidget()
            tree.setHeaderLabels(["Structured content", "Value"])
            tree.setAccessibleName("Structured content")
            root = QTreeWidgetItem(["structuredContent", ""])
            tree.addTopLevelItem(root)
            fill_tree(root, outcome.structured)
            tree.expandAll()
            tree.resizeColumnToContents(0)
            tree.setMinimumHeight(160)
            self.tree = tree
            self._add(tree)
        if not outcome.blocks and outcome.structured is None and not outcome.is_error:
            self.show_message("The result is empty.")
            self.outcome = outcome

    def _text(self, text: str, error: bool) -> QLabel:
        if len(text) > MAX_TEXT:
            text = text[:MAX_TEXT] + f"\n… ({len(text) - MAX_TEXT} more characters not shown)"
        label = QLabel(text)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setObjectName("error" if error else "resultText")
        return label

    def _picture(self, data: bytes, mime: str) -> QLabel:
        pix = QPixmap()
        label = QLabel()
        if pix.loadFromData(data):
            label.setPixmap(pix)
            label.setToolTip(f"{mime}, {pix.width()}×{pix.height()}")
            label.setObjectName("resultImage")
        else:
            label.setText(f"[{mime or 'image'}: {len(data)} bytes that are not a picture]")
            label.setObjectName("secondary")
        return label

    def _block(self, block: Block, error: bool) -> QWidget:
        role = f"{block.role}: " if block.role else ""
        if block.kind == "text":
            return self._text(role + block.text, error)
        if block.kind == "image":
            return self._picture(block.data, block.mime)
        if block.kind == "resource":
            box = QGroupBox(
                f"{role}Resource {block.text}" + (f" ({block.mime})" if block.mime else "")
            )
            box.setObjectName("resultResource")
            col = QVBoxLayout(box)
            if block.name or not block.data:
                col.addWidget(self._text(block.name, error))
            elif block.mime.startswith("image/"):
                col.addWidget(self._picture(block.data, block.mime))
            else:
                size = QLabel(f"{len(block.data)} bytes of {block.mime or 'binary data'}")
                size.setObjectName("secondary")
                col.addWidget(size)
            return box
        label = self._text(role + block.summary(), error)
        if block.kind != "json":
            label.setObjectName("secondary")
        return label

    def texts(self) -> list[str]:
        """Every text shown (tests, copy)."""
        out = [self.heading.text()] if self.heading.isVisibleTo(self) else []
        for i in range(self._layout.count()):
            item = self._layout.itemAt(i)
            widget = item.widget() if item is not None else None
            if isinstance(widget, QLabel) and widget is not self.heading and widget.text():
                out.append(widget.text())
            elif isinstance(widget, QGroupBox):
                out.append(widget.title())
                out += [w.text() for w in widget.findChildren(QLabel) if w.text()]
        return out

    def images(self) -> list[QPixmap]:
        return [w.pixmap() for w in self.findChildren(QLabel) if w.objectName() == "resultImage"]


__all__ = ["ResultView", "fill_tree"]
