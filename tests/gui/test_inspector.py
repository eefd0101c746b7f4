"""The Tools tab (ui/inspector/): the form generated for every tool of server-everything
filled through its widgets, the raw-JSON fallback, result rendering, and the whole
path in the main window against a real engine serving the real server-everything:
fill and submit a form, see the result, watch progress, Cancel."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QPushButton, QSplitter, QToolButton
from pytestqt.qtbot import QtBot

from switchboard.core.group import GroupSpec
from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, ServerSpec
from switchboard.inspector.results import Block, Outcome, tool_result
from switchboard.inspector.schema_form import example_value, validate
from switchboard.inspector.uri_template import expand_template, template_variables
from switchboard.ui.inspector.form import NOT_SET, ArgumentsForm
from switchboard.ui.inspector.panel import InspectorPanel
from switchboard.ui.inspector.result import ResultView
from switchboard.ui.mainwindow import MainWindow
from tests.conftest import fixture_cmd
from tests.gui.conftest import running, until
from tests.interop.conftest import NpmKit
from tests.interop.conftest import npm_kit as _npm_kit

npm_kit = _npm_kit  # the session fixture of tests/interop (the pinned npm packages)
FIXTURE = Path(__file__).parents[1] / "fixtures" / "inspector" / "everything-2026.8.31.json"
TOOLS = {t["name"]: t for t in json.loads(FIXTURE.read_text("utf-8"))["tools"]}


def type_into(qtbot: QtBot, editor: Any, value: Any) -> None:
    """What a person does in each kind of editor to enter ``value``."""
    if isinstance(editor, QLineEdit):
        editor.selectAll()
        text = value if isinstance(value, str) else json.dumps(value)
        if text:
            qtbot.keyClicks(editor, text)
        else:
            qtbot.keyClick(editor, Qt.Key.Key_Delete)
    elif isinstance(editor, QCheckBox):
        qtbot.mouseClick(editor, Qt.MouseButton.LeftButton)
        if editor.isChecked() is not value:
            qtbot.mouseClick(editor, Qt.MouseButton.LeftButton)
    elif isinstance(editor, QComboBox):
        texts = [editor.itemText(i) for i in range(editor.count())]
        index = texts.index(value if isinstance(value, str) else json.dumps(value))
        editor.setCurrentIndex(index)
        editor.activated.emit(index)
    else:
        raise AssertionError(f"no way to type into {editor!r}")


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_form_of_every_everything_tool_filled_in_its_widgets(qtbot: QtBot, name: str) -> None:
    schema = TOOLS[name]["inputSchema"]
    form = ArgumentsForm()
    qtbot.addWidget(form)
    form.set_schema(schema)
    form.show()
    example = example_value(form.model.root.spec)
    for key, value in example.items():
        type_into(qtbot, form.editors[(key,)], value)
    assert form.value() == example
    assert form.problems() == []
    assert validate(schema, form.value()) == []


def test_required_fields_and_bad_numbers_are_shown_not_sent(qtbot: QtBot) -> None:
    form = ArgumentsForm()
    qtbot.addWidget(form)
    form.set_schema(TOOLS["get-sum"]["inputSchema"])
    form.show()
    type_into(qtbot, form.editors[("a",)], "two")
    problems = form.problems()
    assert {p.path for p in problems} == {("a",)}  # a typing error first
    assert form._errors[("a",)].isVisible() and "not a number" in form._errors[("a",)].text()
    type_into(qtbot, form.editors[("a",)], 2)
    assert [(p.path, p.message) for p in form.problems()] == [(("b",), "Required.")]
    assert form._errors[("b",)].text() == "Required."
    # An optional enum offers "(not set)"; a required one does not.
    form.set_schema(TOOLS["get-resource-reference"]["inputSchema"])
    combo = form.editors[("resourceType",)]
    assert isinstance(combo, QComboBox) and combo.itemText(0) == NOT_SET
    form.set_schema(TOOLS["get-structured-content"]["inputSchema"])
    combo = form.editors[("location",)]
    assert isinstance(combo, QComboBox) and combo.itemText(0) == "New York"


def test_raw_json_fallback_round_trip(qtbot: QtBot) -> None:
    form = ArgumentsForm()
    qtbot.addWidget(form)
    form.set_schema(TOOLS["get-sum"]["inputSchema"])
    form.show()
    type_into(qtbot, form.editors[("a",)], 4)
    form.as_json.setChecked(True)
    assert json.loads(form.raw.toPlainText()) == {"a": 4}
    form.raw.setPlainText('{"a": 1, "b": ')
    assert "Not valid JSON" in str(form.problems()[0])
    form.as_json.setChecked(False)  # cannot go back with broken JSON
    assert form.raw_mode and form.note.isVisible()
    form.raw.setPlainText('{"a": 1, "b": 2.5}')
    assert form.problems() == [] and form.value() == {"a": 1, "b": 2.5}
    form.as_json.setChecked(False)
    assert not form.raw_mode
    edit_b = form.editors[("b",)]
    assert isinstance(edit_b, QLineEdit) and edit_b.text() == "2.5"
    assert form.value() == {"a": 1, "b": 2.5}
    # A value the form has no field for stays in the JSON editor.
    form.as_json.setChecked(True)
    form.raw.setPlainText('{"a": 1, "b": 2, "c": 3}')
    form.as_json.setChecked(False)
    assert form.raw_mode and "cannot show" in form.note.text()


def test_nested_objects_and_arrays_in_widgets(qtbot: QtBot) -> None:
    schema = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}},
            "owner": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "admin": {"type": "boolean"}},
                "required": ["name"],
            },
        },
        "required": ["owner"],
    }
    form = ArgumentsForm()
    qtbot.addWidget(form)
    form.set_schema(schema)
    form.show()

    def click_add() -> None:
        (add,) = [b for b in form.findChildren(QPushButton) if b.text() == "Add item"]
        qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
        qtbot.wait(20)  # the rebuilt editors get laid out

    click_add()
    click_add()
    type_into(qtbot, form.editors[("tags", 0)], "x")
    type_into(qtbot, form.editors[("tags", 1)], "y")
    type_into(qtbot, form.editors[("owner", "name")], "Ann")
    type_into(qtbot, form.editors[("owner", "admin")], True)
    assert form.value() == {"tags": ["x", "y"], "owner": {"name": "Ann", "admin": True}}
    assert form.problems() == []
    remove = [b for b in form.findChildren(QToolButton) if b.accessibleName() == "Remove item 1"]
    qtbot.mouseClick(remove[0], Qt.MouseButton.LeftButton)
    assert form.value()["tags"] == ["y"]


def _png(where: Path) -> bytes:
    image = QImage(4, 3, QImage.Format.Format_RGB32)
    image.fill(QColor("red"))
    assert image.save(str(where / "red.png"))
    return (where / "red.png").read_bytes()


def test_result_rendering(qtbot: QtBot, tmp_path: Path) -> None:
    import base64

    view = ResultView()
    qtbot.addWidget(view)
    png = base64.b64encode(_png(tmp_path)).decode()
    result = {
        "content": [
            {"type": "text", "text": "hello"},
            {"type": "image", "data": png, "mimeType": "image/png"},
            {
                "type": "resource",
                "resource": {"uri": "demo://a", "mimeType": "text/plain", "text": "inside"},
            },
            {
                "type": "resource",
                "resource": {"uri": "demo://b", "blob": png, "mimeType": "image/png"},
            },
            {"type": "resource_link", "uri": "demo://c", "name": "c"},
            {"type": "audio", "data": "AAAA", "mimeType": "audio/wav"},
        ],
        "structuredContent": {"temperature": 21, "hourly": [1, 2]},
    }
    view.show_outcome(tool_result(result))
    texts = view.texts()
    assert "hello" in texts and "inside" in texts
    assert any("Resource demo://a (text/plain)" in t for t in texts)
    assert any("resource link demo://c" in t for t in texts)
    assert any("audio audio/wav, 3 bytes" in t for t in texts)
    sizes = [(p.width(), p.height()) for p in view.images()]
    assert sizes == [(4, 3), (4, 3)]  # the image block and the embedded image resource
    assert view.tree is not None
    root = view.tree.topLevelItem(0)
    assert root is not None
    rows = {root.child(i).text(0): root.child(i).text(1) for i in range(root.childCount())}  # type: ignore[union-attr]
    assert rows == {"temperature": "21", "hourly": "2 item(s)"}
    assert not view.is_error

    view.show_outcome(tool_result({"content": [{"type": "text", "text": "boom"}], "isError": True}))
    assert view.is_error
    assert view.heading.objectName() == "errorBox" and view.heading.isVisibleTo(view)
    red = [w for w in view.findChildren(type(view.heading)) if w.text() == "boom"]
    assert red and red[0].objectName() == "error"

    view.show_outcome(Outcome((Block("text", "hi", role="user"),), description="A prompt"))
    assert view.texts() == ["A prompt", "user: hi"]
    view.show_outcome(tool_result({"content": []}))
    assert view.texts() == ["The result is empty."]


def test_uri_templates() -> None:
    assert template_variables("demo://resource/dynamic/text/{resourceId}") == ["resourceId"]
    assert template_variables("file:///{+path}") == ["path"]
    assert template_variables("x://{?a,b}") is None
    assert expand_template("demo://t/{id}", {"id": "a b/c"}) == "demo://t/a%20b%2Fc"
    assert expand_template("file:///{+path}", {"path": "a b/c"}) == "file:///a%20b/c"


@pytest.mark.npm
async def test_tools_tab_fills_submits_renders_and_cancels(
    paths: AppPaths, qtbot: QtBot, npm_kit: NpmKit
) -> None:
    async with running(paths) as (engine, bridge):
        await engine.add_server(
            ServerSpec(
                name="everything",
                command=npm_kit.node,
                args=(str(npm_kit.everything), "stdio"),
                auth=AuthMode.SWITCHBOARD,
            )
        )
        await engine.start_server("everything")
        win = MainWindow(bridge)  # no layout file: nothing saved at close
        qtbot.addWidget(win)
        win.resize(1100, 760)
        win.show()
        win.select("everything")
        panel: InspectorPanel = win.detail.inspector
        win.detail.tabs.setCurrentWidget(panel)
        await until(lambda: panel.select("tool", "get-sum"), what="the tools list")
        assert "tools" in panel.status.text()
        hints = {
            b.text() for b in panel.findChildren(type(panel.title)) if b.objectName() == "badge"
        }
        assert "read-only" in hints

        # Fill the generated form as a person does and submit it.
        type_into(qtbot, panel.form.editors[("a",)], "x")
        qtbot.mouseClick(panel.run, Qt.MouseButton.LeftButton)
        assert panel.result.is_error is False and "Not sent" in panel.result.heading.text()
        type_into(qtbot, panel.form.editors[("a",)], 2)
        type_into(qtbot, panel.form.editors[("b",)], 3)
        qtbot.mouseClick(panel.run, Qt.MouseButton.LeftButton)
        await until(
            lambda: any("5" in t and "sum" in t.lower() for t in panel.result.texts()),
            what="the tool's result",
        )
        assert panel.run.isEnabled() and not panel.cancel.isEnabled()

        # Structured content as a tree.
        assert panel.select("tool", "get-structured-content")
        qtbot.mouseClick(panel.run, Qt.MouseButton.LeftButton)
        await until(lambda: panel.result.tree is not None, what="the structured content tree")
        shot = os.environ.get("SWITCHBOARD_INSPECTOR_SHOT")
        if shot:  # for a person to look at (scripts/screenshots.py has the demo ones)
            main = win.findChild(QSplitter)
            assert main is not None
            main.setSizes([90, 700])
            await asyncio.sleep(0.3)
            win.grab().save(shot)

        # A long call: progress shown while it runs, Cancel stops it on the server.
        assert panel.select("tool", "trigger-long-running-operation")
        type_into(qtbot, panel.form.editors[("duration",)], 60)
        type_into(qtbot, panel.form.editors[("steps",)], 60)
        qtbot.mouseClick(panel.run, Qt.MouseButton.LeftButton)
        await until(
            lambda: panel.progress.maximum() == 1000 and panel.progress.value() > 0,
            timeout=30,
            what="progress",
        )
        assert panel.progress.isVisible() and panel.cancel.isEnabled()
        mux = engine.gateway.mux_of("everything")
        assert mux is not None and mux.pending
        qtbot.mouseClick(panel.cancel, Qt.MouseButton.LeftButton)
        await until(lambda: "Cancelled" in panel.result.heading.text(), what="cancelled")
        assert not mux.pending and panel.run.isEnabled() and not panel.progress.isVisible()

        # A prompt with arguments, and a resource read.
        assert panel.select("prompt", "args-prompt")
        type_into(qtbot, panel.form.editors[("city",)], "Oslo")
        qtbot.mouseClick(panel.run, Qt.MouseButton.LeftButton)
        await until(lambda: any("Oslo" in t for t in panel.result.texts()), what="the prompt")
        assert any(t.startswith("user: ") for t in panel.result.texts())
        listing = panel.listing
        assert listing is not None
        first = listing["resources"][0]
        assert panel.select("resource", first["name"])
        qtbot.mouseClick(panel.run, Qt.MouseButton.LeftButton)
        await until(
            lambda: any(first["uri"] in t for t in panel.result.texts()), what="the resource"
        )

        assert panel.select("template", "Dynamic Text Resource")
        type_into(qtbot, panel.form.editors[("resourceId",)], "3")
        qtbot.mouseClick(panel.run, Qt.MouseButton.LeftButton)
        await until(
            lambda: any("demo://resource/dynamic/text/3" in t for t in panel.result.texts()),
            what="the template's resource",
        )

        # Stopped: the tab says so instead of listing.
        await engine.stop_server("everything")
        await until(lambda: "Start it" in panel.status.text(), what="the stopped note")


async def test_a_groups_try_tools_tab_calls_the_exposed_tool(paths: AppPaths, qtbot: QtBot) -> None:
    async with running(paths) as (engine, bridge):
        cmd, args = fixture_cmd("echo_server.py")
        for name in ("alpha", "beta"):
            await engine.add_server(ServerSpec(name=name, command=cmd, args=args))
            await engine.start_server(name)
        await engine.add_group(GroupSpec(name="work", servers=("alpha", "beta")))
        win = MainWindow(bridge)
        qtbot.addWidget(win)
        win.show()
        page = win.groups
        win.pages.setCurrentWidget(page)
        await until(lambda: page.current == "work", what="the group selected")
        panel: InspectorPanel = page.inspector
        page.tabs.setCurrentWidget(panel)
        await until(lambda: panel.select("tool", "beta__echo"), what="the group's tools")
        assert panel.select("tool", "alpha__echo")
        assert panel.status.text() == "Group 'work': 6 tools exposed."
        type_into(qtbot, panel.form.editors[("text",)], "through the group")
        qtbot.mouseClick(panel.run, Qt.MouseButton.LeftButton)
        await until(
            lambda: "through the group" in panel.result.texts(), what="the group call's result"
        )
        # A member stopped: its tools leave the list, the note says why.
        await engine.stop_server("beta")
        await until(lambda: not panel.select("tool", "beta__echo"), what="beta's tools gone")
        assert panel.select("tool", "alpha__echo")
