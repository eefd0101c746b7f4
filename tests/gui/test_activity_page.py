"""The Activity page: live rows from the real engine's gateway, filters, details, and
lazy paging over a big log (reads off the GUI thread)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from mcp import Client
from mcp.shared.exceptions import MCPError
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from switchboard.activity import ActivityDB
from switchboard.core.paths import AppPaths
from switchboard.ui.activity.model import PAGE, Col
from switchboard.ui.activity.page import ActivityPage
from switchboard.ui.mainwindow import MainWindow
from tests.conftest import fixture_cmd
from tests.fixtures.gw_helpers import add_started
from tests.gui.conftest import running, until


async def test_live_rows_filters_and_details(paths: AppPaths, qtbot: QtBot) -> None:
    async with running(paths) as (engine, bridge):
        win = MainWindow(bridge, paths=paths, tray_available=True)
        qtbot.addWidget(win)
        win.show()
        page = win.activity
        assert win.pages.tabText(win.pages.indexOf(page)) == "Activity"
        win.pages.setCurrentWidget(page)
        model = page.model
        assert model is not None
        cmd, args = fixture_cmd("echo_server.py")
        url = await add_started(engine, "echo", cmd, args)
        async with Client(url) as mcp:
            await mcp.call_tool("echo", {"text": "hello"})
            with contextlib.suppress(MCPError):
                await mcp.get_prompt("missing")
        # Live: both requests appear on top without a refresh.
        await until(
            lambda: (
                {model.index(r, Col.TARGET).data() for r in range(model.rowCount())}
                >= {"echo", "missing"}
            ),
            what="the two requests in the table",
        )
        top = model.entry_at(0)
        assert top is not None and top.method == "prompts/get"
        assert model.index(0, Col.OUTCOME).data() == "error (-32601)"
        # Filter on the outcome: only the error is left.
        page.outcome.setCurrentIndex(page.outcome.findData("error"))
        await until(lambda: model.rowCount() == 1 and page.count.text() == "1 request")
        page.outcome.setCurrentIndex(0)
        page.tool.setText("ech")  # debounced
        await until(
            lambda: (
                model.rowCount() >= 1
                and all(
                    model.index(r, Col.TARGET).data() == "echo" for r in range(model.rowCount())
                )
                and page.model is not None
                and page.model.query.target == "ech"
            )
        )
        # Details of the selected request: arguments are not recorded by default.
        page.table.selectRow(0)
        await until(lambda: "not recorded for this server" in page.details.toPlainText())
        assert "Method:    tools/call  echo" in page.details.toPlainText()
        page.close_model()


class FileSource:
    """The recorder's reading side over a prepared database file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.listeners: list[Callable[[int], None]] = []

    def open_reader(self) -> ActivityDB:
        return ActivityDB(self.path, readonly=True)

    def subscribe(self, listener: Callable[[int], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: None


def fill(path: Path, n: int) -> None:
    db = ActivityDB(path)
    rows = []
    for i in range(n):
        outcome, code = ("error", -32602) if i % 7 == 0 else ("ok", None)
        rows.append((1.8e9 + i, 1.5, f"s{i % 3}", None, f"c{i % 5}", f"client {i % 5}",
                     "sub", "sess", "tools/call", f"tool{i % 11}", outcome, code, 100, 200,
                     None, None))  # fmt: skip
    db.insert(rows)
    db.close()


async def test_paging_and_filters_over_a_big_log(tmp_path: Path, qtbot: QtBot) -> None:
    path = tmp_path / "activity.sqlite3"
    fill(path, 3 * PAGE + 10)
    source = FileSource(path)
    page = ActivityPage(source)
    qtbot.addWidget(page)
    page.resize(900, 600)
    page.show()
    model = page.model
    assert model is not None
    await until(lambda: model.rowCount() == PAGE and model.total == 3 * PAGE + 10)
    newest = model.entry_at(0)
    assert newest is not None and newest.target == f"tool{(3 * PAGE + 9) % 11}"
    # Scrolling to the end fetches the next pages (keyset: no duplicates, no gaps).
    for _ in range(10):
        page.table.scrollToBottom()
        await until(lambda: not model._busy)
    assert model.rowCount() == 3 * PAGE + 10
    ids = [model.entry_at(r).id for r in range(model.rowCount())]  # type: ignore[union-attr]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    # Filters combine (client name, tool substring, outcome).
    page.client.setText("client 1")
    page.tool.setText("tool3")
    page.outcome.setCurrentIndex(page.outcome.findData("error"))
    await until(lambda: model.query.client == "client 1" and model.query.target == "tool3")
    await until(lambda: not model._busy)
    expected = [
        i for i in range(3 * PAGE + 10)
        if i % 5 == 1 and i % 11 == 3 and i % 7 == 0
    ]  # fmt: skip
    assert model.total == len(expected) == model.rowCount()
    # New rows written while the top is in view come in on top.
    page.client.clear()
    page.tool.clear()
    page.outcome.setCurrentIndex(0)
    await until(lambda: model.query.client is None and model.query.target is None)
    await until(lambda: not model._busy and model.rowCount() == PAGE)
    db = ActivityDB(path)
    db.insert([(2e9, 1.0, "s0", None, None, None, None, "x", "tools/call", "fresh", "ok", None,
                1, 1, None, None)])  # fmt: skip
    db.close()
    for listener in source.listeners:
        listener(0)  # what the recorder does after a write
    await until(lambda: (e := model.entry_at(0)) is not None and e.target == "fresh")
    assert model.total == 3 * PAGE + 11
    page.close_model()


async def test_servers_table_shows_last_hour_figures(paths: AppPaths, qtbot: QtBot) -> None:
    from switchboard.ui.activity.sparkline import SPARK_ROLE
    from switchboard.ui.models import Column, ServersModel

    async with running(paths) as (engine, bridge):
        model = ServersModel(bridge, tick_ms=0, parent=bridge)
        cmd, args = fixture_cmd("echo_server.py")
        url = await add_started(engine, "echo", cmd, args)
        await until(lambda: model.names() == ["echo"])
        assert model.index(0, Column.ACTIVITY).data() == "—"
        async with Client(url) as mcp:
            for i in range(9):
                await mcp.call_tool("echo", {"text": str(i)})
            with contextlib.suppress(MCPError):
                await mcp.get_prompt("missing")
        assert engine.activity is not None
        await engine.activity.flush()
        model.tick()
        text = model.index(0, Column.ACTIVITY).data()
        # initialize is answered by the gateway; the rest went to the server: at least
        # the 10 calls, one of them an error.
        calls = engine.activity.server_figures()["echo"].calls
        assert calls >= 10
        assert text.startswith(f"{calls} · ") and " err · p50 " in text and "ms" in text
        spark = model.index(0, Column.ACTIVITY).data(SPARK_ROLE)
        assert len(spark) == 60 and sum(spark) == calls
        tip = model.index(0, Column.ACTIVITY).data(Qt.ItemDataRole.ToolTipRole)
        assert "1 failed or timed out" in tip
        # The delegate paints it (smoke: a real table, offscreen).
        from switchboard.ui.servertable import ServersTable

        table = ServersTable(model, lambda url: None)
        qtbot.addWidget(table)
        table.resize(900, 200)
        table.show()
        table.grab()


async def test_settings_page_sets_the_activity_bounds(paths: AppPaths, qtbot: QtBot) -> None:
    async with running(paths) as (engine, bridge):
        win = MainWindow(bridge, paths=paths)
        qtbot.addWidget(win)
        page = win.settings
        assert page.activity_rows.value() == 100_000 and page.activity_days.value() == 30
        await bridge.drain()
        page.activity_rows.setValue(150)
        page.activity_days.setValue(7)
        await page.save()
        settings = engine.config.settings
        assert (settings.activity_max_rows, settings.activity_max_days) == (150, 7)
        # The recorder applies the new bounds (it does every 30 s; at once here).
        assert engine.activity is not None
        cmd, args = fixture_cmd("echo_server.py")
        url = await add_started(engine, "echo", cmd, args)
        async with Client(url) as mcp:
            for i in range(200):
                await mcp.call_tool("echo", {"text": str(i)})
        await engine.activity.flush()
        await engine.activity.prune()
        db = engine.activity.open_reader()
        try:
            from switchboard.activity import ActivityQuery

            assert db.count(ActivityQuery()) == 150
        finally:
            db.close()


async def test_following_keeps_the_table_bounded_and_pauses_while_hidden(
    tmp_path: Path, qtbot: QtBot
) -> None:
    from switchboard.ui.activity.model import KEEP_FOLLOWING

    path = tmp_path / "activity.sqlite3"
    fill(path, PAGE)
    source = FileSource(path)
    page = ActivityPage(source)
    qtbot.addWidget(page)
    page.show()
    model = page.model
    assert model is not None
    await until(lambda: model.rowCount() == PAGE and not model._busy)
    # A busy gateway: 1,500 new requests while the top is in view.
    fill(path, 3 * KEEP_FOLLOWING // 2)
    for listener in source.listeners:
        listener(0)
    await until(lambda: model.total == PAGE + 3 * KEEP_FOLLOWING // 2)
    assert model.rowCount() == KEEP_FOLLOWING  # the oldest dropped...
    assert model.canFetchMore()  # ...and fetched again by scrolling
    # Hidden: nothing is fetched; shown again: it catches up.
    page.hide()
    fill(path, 10)
    for listener in source.listeners:
        listener(0)
    await asyncio.sleep(0.6)
    assert model.total == PAGE + 3 * KEEP_FOLLOWING // 2
    page.show()
    await until(lambda: model.total == PAGE + 3 * KEEP_FOLLOWING // 2 + 10)
    page.close_model()
