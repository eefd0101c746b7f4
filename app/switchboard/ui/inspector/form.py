"""The "Try it" form: one editor per field of a tool's input schema, or raw JSON.

The model is :mod:`switchboard.inspector.schema_form` (Qt-free): each editor writes what
the person does into its :class:`Node` (typing marks a field as given; defaults are
shown, not sent), and :meth:`ArgumentsForm.problems` validates the whole value with the
schema before anything is sent; each problem is shown under its field. "Edit as JSON"
switches to a text editor holding the same value; switching back loads it into the form
when the form can show it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from switchboard.inspector.schema_form import (
    MISSING,
    Node,
    Path,
    Problem,
    SchemaForm,
    validate,
)

NOT_SET = "(not set)"


def _enum_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


class _JsonEdit(QPlainTextEdit):
    """A small monospace JSON editor whose edits (not programmatic sets) are reported."""

    edited = Signal(str)

    def __init__(self, text: str = "", lines: int = 4) -> None:
        super().__init__()
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setTabChangesFocus(True)
        self.setPlainText(text)
        self.setMinimumHeight(self.fontMetrics().lineSpacing() * lines + 12)
        self._quiet = False
        self.textChanged.connect(self._changed)

    def set_quietly(self, text: str) -> None:
        self._quiet = True
        try:
            self.setPlainText(text)
        finally:
            self._quiet = False

    def _changed(self) -> None:
        if not self._quiet:
            self.edited.emit(self.toPlainText())


class ArgumentsForm(QWidget):
    """Editors generated from a schema (see the module doc)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = SchemaForm({})
        self.editors: dict[Path, QWidget] = {}
        """The editor of each field by its path (tests and problem display use it)."""
        self._errors: dict[Path, QLabel] = {}
        self.fields = QWidget()
        self._fields_layout = QVBoxLayout(self.fields)
        self._fields_layout.setContentsMargins(0, 0, 0, 0)
        self.raw = _JsonEdit(lines=8)
        self.raw.setAccessibleName("Arguments as JSON")
        self.raw.edited.connect(lambda _t: self.changed.emit())
        self.raw.hide()
        self.as_json = QCheckBox("Edit as &JSON")
        self.as_json.setAccessibleName("Edit the arguments as JSON")
        self.as_json.toggled.connect(self._toggle_json)
        self.note = QLabel()
        self.note.setObjectName("error")
        self.note.setWordWrap(True)
        self.note.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.fields)
        layout.addWidget(self.raw)
        row = QHBoxLayout()
        row.addWidget(self.as_json)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(self.note)

    # -- building -------------------------------------------------------------------
    def set_schema(self, schema: Mapping[str, Any] | None) -> None:
        self.model = SchemaForm(schema)
        self.as_json.blockSignals(True)
        self.as_json.setChecked(self.model.root.kind != "object")
        self.as_json.setEnabled(self.model.root.kind == "object")
        self.as_json.blockSignals(False)
        self._show_raw(self.as_json.isChecked())
        self.raw.set_quietly("{}")
        self.note.hide()
        self._rebuild()

    def _rebuild(self) -> None:
        while self._fields_layout.count():
            item = self._fields_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()
                widget.setParent(None)  # gone from the tree now, deleted by Qt later
                widget.deleteLater()
        self.editors.clear()
        self._errors.clear()
        root = self.model.root
        if root.kind == "object" and not root.children:
            empty = QLabel("This tool takes no arguments.")
            empty.setObjectName("secondary")
            self._fields_layout.addWidget(empty)
            return
        if root.kind == "object":
            self._fields_layout.addWidget(self._object_box(root, None))

    def _object_box(self, node: Node, title: str | None) -> QWidget:
        box: QWidget = QGroupBox(title) if title is not None else QWidget()
        form = QFormLayout(box)
        if title is None:
            form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for key, child in node.children.items():
            label = QLabel(f"{key}{' *' if child.spec.required else ''}")
            label.setToolTip(child.spec.description or key)
            form.addRow(label, self._field(child))
        return box

    def _field(self, node: Node) -> QWidget:
        """The editor of one field with its description and error line under it."""
        holder = QWidget()
        col = QVBoxLayout(holder)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        editor = self._editor(node)
        self.editors[node.path] = editor
        col.addWidget(editor)
        if node.spec.description and node.kind != "object":
            desc = QLabel(node.spec.description)
            desc.setObjectName("secondary")
            desc.setWordWrap(True)
            col.addWidget(desc)
        error = QLabel()
        error.setObjectName("error")
        error.setWordWrap(True)
        error.hide()
        self._errors[node.path] = error
        col.addWidget(error)
        return holder

    def _editor(self, node: Node) -> QWidget:
        kind = node.kind
        name = "/".join(map(str, node.path)) or "arguments"
        if kind in ("string", "number", "integer"):
            edit = QLineEdit(node.text)
            edit.setAccessibleName(name)
            if kind != "string":
                edit.setPlaceholderText("a whole number" if kind == "integer" else "a number")
            elif node.spec.format:
                edit.setPlaceholderText(node.spec.format)
            edit.textEdited.connect(self._typed(node))
            return edit
        if kind == "boolean":
            box = QCheckBox()
            box.setAccessibleName(name)
            box.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            box.setChecked(node.value is True)
            box.clicked.connect(lambda on, n=node: self._set(n, bool(on)))
            return box
        if kind == "enum":
            combo = QComboBox()
            combo.setAccessibleName(name)
            choices: list[Any] = [] if node.spec.required else [MISSING]
            choices += list(node.spec.enum)
            for value in choices:
                combo.addItem(NOT_SET if value is MISSING else _enum_text(value))
            current = node.value if node.value is not MISSING else MISSING
            for i, value in enumerate(choices):
                if value is current or (value is not MISSING and value == current):
                    combo.setCurrentIndex(i)
            combo.activated.connect(lambda i, n=node, c=choices: self._set(n, c[i]))
            return combo
        if kind == "array":
            return self._array(node)
        if kind == "object":
            return self._object_box(node, node.spec.title or str(node.path[-1]))
        raw = _JsonEdit(node.text, lines=3)
        raw.setAccessibleName(f"{name} (JSON)")
        raw.setPlaceholderText("JSON")
        raw.edited.connect(self._typed(node))
        return raw

    def _array(self, node: Node) -> QWidget:
        frame = QFrame()
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        col = QVBoxLayout(frame)
        col.setContentsMargins(6, 6, 6, 6)
        for i, item in enumerate(node.items):
            row = QHBoxLayout()
            row.addWidget(self._field(item), 1)
            remove = QToolButton()
            remove.setText("−")
            remove.setToolTip("Remove this item")
            remove.setAccessibleName(f"Remove item {i + 1}")
            remove.clicked.connect(lambda _c=False, n=node, k=i: self._remove(n, k))
            row.addWidget(remove)
            col.addLayout(row)
        add = QPushButton("Add item")
        add.setAccessibleName(f"Add an item to {'/'.join(map(str, node.path))}")
        add.clicked.connect(lambda _c=False, n=node: self._add(n))
        col.addWidget(add)
        return frame

    def _typed(self, node: Node) -> Callable[[str], None]:
        def on_text(text: str) -> None:
            node.set_text(text)
            self._clear_error(node.path)
            self.changed.emit()

        return on_text

    def _set(self, node: Node, value: Any) -> None:
        node.set_value(value)
        self._clear_error(node.path)
        self.changed.emit()

    def _add(self, node: Node) -> None:
        node.add_item()
        self._rebuild()
        self.changed.emit()

    def _remove(self, node: Node, index: int) -> None:
        node.remove_item(index)
        self._rebuild()
        self.changed.emit()

    def _clear_error(self, path: Path) -> None:
        label = self._errors.get(path)
        if label is not None:
            label.hide()

    # -- raw JSON -------------------------------------------------------------------
    def _toggle_json(self, on: bool) -> None:
        self.note.hide()
        if on:
            self.raw.set_quietly(json.dumps(self.model.value(), indent=2, ensure_ascii=False))
            self._show_raw(True)
            return
        try:
            value = json.loads(self.raw.toPlainText() or "{}")
        except ValueError as exc:
            self._stay_json(f"The JSON is not valid ({exc}); fix it to go back to the form.")
            return
        if not self.model.load(value):
            self._stay_json(
                "The form cannot show this value (a field it does not have, or of another "
                "type); keep editing it as JSON, or remove those parts to go back."
            )
            return
        self._rebuild()
        self._show_raw(False)
        self.changed.emit()

    def _show_raw(self, on: bool) -> None:
        self.raw.setVisible(on)
        self.fields.setVisible(not on)

    def _stay_json(self, why: str) -> None:
        self.as_json.blockSignals(True)
        self.as_json.setChecked(True)
        self.as_json.blockSignals(False)
        self.note.setText(why)
        self.note.show()

    # -- the value ------------------------------------------------------------------
    @property
    def raw_mode(self) -> bool:
        return self.as_json.isChecked()

    def value(self) -> Any:
        """The arguments as they would be sent (raw mode: the parsed text, or None)."""
        if self.raw_mode:
            try:
                return json.loads(self.raw.toPlainText() or "{}")
            except ValueError:
                return None
        return self.model.value()

    def problems(self) -> list[Problem]:
        """What stops sending, each shown under its field (or below the JSON)."""
        for shown in self._errors.values():
            shown.hide()
        self.note.hide()
        if self.raw_mode:
            try:
                value = json.loads(self.raw.toPlainText() or "{}")
            except ValueError as exc:
                problems = [Problem((), f"Not valid JSON: {exc}.")]
            else:
                problems = (
                    validate(self.model.schema, value)
                    if isinstance(value, dict)
                    else [Problem((), "The arguments must be a JSON object.")]
                )
        else:
            problems = self.model.problems()
        unplaced: list[str] = []
        for problem in problems:
            label: QLabel | None = None if self.raw_mode else self._errors.get(problem.path)
            if label is None:
                unplaced.append(str(problem))
                continue
            label.setText(problem.message)
            label.show()
        if unplaced:
            self.note.setText("\n".join(unplaced))
            self.note.show()
        return problems


__all__ = ["ArgumentsForm"]
