"""The Groups page and the tray's group toggles against a real engine, real server
processes (tests/fixtures/echo_server.py) and the gateway's live group listing."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from switchboard.core.group import GroupSpec, Naming
from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, ServerSpec
from switchboard.core.state import ServerState
from switchboard.ui.mainwindow import MainWindow
from switchboard.ui.tray import TrayController
from tests.conftest import fixture_cmd
from tests.gui.conftest import running, until


async def _two_echoes(engine: object) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    for name in ("alpha", "beta"):
        await engine.add_server(  # type: ignore[attr-defined]
            ServerSpec(name=name, command=cmd, args=args, auth=AuthMode.OFF)
        )
        await engine.start_server(name)  # type: ignore[attr-defined]


async def test_make_a_group_switch_a_tool_off_rename_one_and_copy_its_url(
    paths: AppPaths, qtbot: QtBot
) -> None:
    async with running(paths) as (engine, bridge):
        await _two_echoes(engine)
        win = MainWindow(bridge, paths=paths)
        qtbot.addWidget(win)
        win.show()
        page = win.groups
        win.pages.setCurrentWidget(page)
        assert page.stack.currentWidget() is page.empty

        await page.create_group("work")
        await until(lambda: page.current == "work" and page.list.count() == 1)
        assert engine.group("work").servers == ("alpha", "beta")
        assert page.url.text() == engine.group_url("work")
        assert page.url.text().endswith("/groups/work/mcp")

        # The tree shows both members' tools from the live servers, prefixed.
        await until(lambda: page.tree.leaf("tool", "beta", "echo") is not None, what="tools")
        item = page.tree.leaf("tool", "alpha", "echo")
        assert item is not None and item.text(1) == "alpha__echo"
        assert item.checkState(0) == Qt.CheckState.Checked

        # Uncheck alpha's echo: saved in the config, absent from the group's tools.
        item.setCheckState(0, Qt.CheckState.Unchecked)
        await until(lambda: not engine.group("work").member("alpha").tool("echo").enabled)
        await until(
            lambda: (
                (i := page.tree.leaf("tool", "alpha", "echo")) is not None
                and i.checkState(0) == Qt.CheckState.Unchecked
            ),
            what="the tree reloaded with echo off",
        )
        listing = await bridge.group_listing("work")
        alpha = next(m for m in listing["members"] if m["server"] == "alpha")
        echo = next(t for t in alpha["tools"] if t["name"] == "echo")
        assert echo["exposed"] is None and echo["hidden_by"] == "filter"

        # Rename beta's echo and override its description by editing the tree.
        beta_echo = page.tree.leaf("tool", "beta", "echo")
        assert beta_echo is not None
        beta_echo.setText(1, "say")
        await until(lambda: engine.group("work").member("beta").tool("echo").rename == "say")
        beta_echo = page.tree.leaf("tool", "beta", "echo")
        assert beta_echo is not None
        beta_echo.setText(2, "Repeats what you say.")
        await until(
            lambda: (
                engine.group("work").member("beta").tool("echo").description
                == "Repeats what you say."
            )
        )

        # Naming and lean are saved from the controls.
        page.naming.setCurrentIndex(page.naming.findData(Naming.PRIORITY.value))
        await until(lambda: engine.group("work").naming is Naming.PRIORITY)
        page.lean.setChecked(True)
        await until(lambda: engine.group("work").lean)

        # Members: uncheck beta.
        for i in range(page.members.count()):
            if page.members.item(i).data(Qt.ItemDataRole.UserRole) == "beta":
                page.members.item(i).setCheckState(Qt.CheckState.Unchecked)
        await until(lambda: engine.group("work").servers == ("alpha",))

        qtbot.mouseClick(page.copy_button, Qt.MouseButton.LeftButton)
        assert QGuiApplication.clipboard().text() == engine.group_url("work")

        # Stop and start the members from the page.
        qtbot.mouseClick(page.stop_button, Qt.MouseButton.LeftButton)
        await until(lambda: bridge.status("alpha").state is ServerState.STOPPED)  # type: ignore[union-attr]
        assert bridge.status("beta").state is ServerState.RUNNING  # type: ignore[union-attr]
        qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
        await until(lambda: bridge.status("alpha").state is ServerState.RUNNING)  # type: ignore[union-attr]

        await bridge.rename_group("work", "play")
        await until(lambda: page.list.count() == 1 and page.list.item(0).text() == "play")
        await bridge.remove_group("play")
        await until(lambda: page.stack.currentWidget() is page.empty)
        if os.environ.get("SWITCHBOARD_SCREENSHOTS"):
            win.grab().save(os.path.join(os.environ["SWITCHBOARD_SCREENSHOTS"], "groups.png"))


async def test_a_stopped_member_is_shown_as_down_and_its_tools_absent(
    paths: AppPaths, qtbot: QtBot
) -> None:
    async with running(paths) as (engine, bridge):
        await _two_echoes(engine)
        await engine.add_group(GroupSpec(name="g", servers=("alpha", "beta")))
        await engine.stop_server("beta")
        win = MainWindow(bridge, paths=paths)
        qtbot.addWidget(win)
        page = win.groups
        await until(lambda: page.tree.leaf("tool", "alpha", "echo") is not None, what="tools")
        assert page.tree.leaf("tool", "beta", "echo") is None
        await until(lambda: "Not running: beta" in page.summary.text(), what="the summary")


async def test_the_tray_toggles_a_group_s_servers(paths: AppPaths, qtbot: QtBot) -> None:
    async with running(paths) as (engine, bridge):
        await _two_echoes(engine)
        await engine.add_group(GroupSpec(name="g", servers=("alpha", "beta")))
        tray = TrayController(bridge, open_window=lambda: None, on_quit=lambda: None)
        try:
            await until(lambda: "g" in tray.group_actions, what="the group in the tray menu")
            action = tray.group_actions["g"]
            assert action.isChecked() and "2/2 running" in action.text()
            action.trigger()  # unchecks: stop the members
            await until(
                lambda: all(
                    bridge.status(n).state is ServerState.STOPPED  # type: ignore[union-attr]
                    for n in ("alpha", "beta")
                )
            )
            await until(lambda: not tray.group_actions["g"].isChecked())
            assert "0/2 running" in tray.group_actions["g"].text()
            tray.group_actions["g"].trigger()
            await until(
                lambda: all(
                    bridge.status(n).state is ServerState.RUNNING  # type: ignore[union-attr]
                    for n in ("alpha", "beta")
                )
            )
            await engine.remove_group("g")
            await until(lambda: "g" not in tray.group_actions)
        finally:
            tray.close()


async def test_export_a_group_for_a_team_cluster_from_the_window(
    paths: AppPaths, qtbot: QtBot, tmp_path: object
) -> None:
    from pathlib import Path

    async with running(paths) as (engine, bridge):
        await _two_echoes(engine)
        await engine.add_group(
            GroupSpec(name="g", servers=("alpha", "beta")).with_tool(
                "alpha", "sleep", enabled=False
            )
        )
        win = MainWindow(bridge, paths=paths)
        qtbot.addWidget(win)
        page = win.groups
        await until(lambda: page.current == "g")
        target = Path(str(tmp_path)) / "k8s"
        await page.export_to(target)
        manifests = page.last_export
        # The echo fixtures run a local script: not exportable, and said so.
        assert [s for s, _ in manifests.skipped] == ["alpha", "beta"]
        assert (target / "README.md").is_file() and (target / "group-g.yaml").is_file()
        assert "Not exported" in (target / "README.md").read_text()
