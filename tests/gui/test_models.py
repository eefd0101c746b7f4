"""The servers table model and the live log model/filter."""

from __future__ import annotations

import dataclasses
import time

from PySide6.QtCore import Qt

from switchboard.core.events import LogLine, Stream
from switchboard.core.paths import AppPaths
from switchboard.core.spec import RestartPolicy, ServerSpec, StartMode
from switchboard.core.state import ServerState
from switchboard.engine import Engine
from switchboard.ui.engine_bridge import EngineBridge
from switchboard.ui.icons import Overall, overall_state, summary
from switchboard.ui.models import (
    STATE_ROLE,
    URL_ROLE,
    Column,
    Level,
    LogFilter,
    LogModel,
    ServersModel,
    classify,
    format_uptime,
)
from tests.conftest import fixture_cmd
from tests.gui.conftest import running, until


def _spec(name: str, fixture: str = "echo_server.py") -> ServerSpec:
    cmd, args = fixture_cmd(fixture)
    return ServerSpec(name=name, command=cmd, args=args)


def test_uptime_format() -> None:
    assert format_uptime(5) == "5s"
    assert format_uptime(65) == "1m 05s"
    assert format_uptime(3 * 3600 + 7 * 60) == "3h 07m"
    assert format_uptime(2 * 86400 + 4 * 3600 + 1) == "2d 4h"


def test_overall_state() -> None:
    S = ServerState
    assert overall_state([]) is Overall.STOPPED
    assert overall_state([S.STOPPED, S.STOPPED]) is Overall.STOPPED
    assert overall_state([S.RUNNING, S.STOPPED]) is Overall.RUNNING
    assert overall_state([S.RUNNING, S.FAILED]) is Overall.FAILING
    assert overall_state([S.BACKOFF]) is Overall.FAILING


async def test_servers_model_follows_the_engine(paths: AppPaths) -> None:
    async with running(paths) as (engine, bridge):
        await _servers_model(engine, bridge)


async def _servers_model(engine: Engine, bridge: EngineBridge) -> None:
    now = [1000.0]
    model = ServersModel(bridge, clock=lambda: now[0], tick_ms=0, parent=bridge)
    assert model.rowCount() == 0
    await bridge.add_server(_spec("alpha"))
    await bridge.add_server(_spec("beta"))
    assert model.names() == ["alpha", "beta"]
    url = model.index(0, Column.URL).data()
    assert url == engine.server_url("alpha") and url.endswith("/servers/alpha/mcp")
    assert model.index(0, Column.URL).data(URL_ROLE) == url
    assert model.index(0, Column.STATUS).data() == "Stopped"
    assert model.index(0, Column.UPTIME).data() == "—"

    await bridge.start_server("beta")
    await until(lambda: model.index(1, 0).data(STATE_ROLE) is ServerState.RUNNING)
    status = bridge.status("beta")
    assert status is not None and status.started_at is not None
    now[0] = status.started_at + 125
    assert model.index(1, Column.UPTIME).data() == "2m 05s"
    assert model.index(1, Column.STATUS).data() == "Running"
    assert f"PID {status.pid}" in model.index(1, Column.STATUS).data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(1, Column.RESTARTS).data() == "0"
    assert summary(bridge.statuses()) == "1 of 2 servers running"

    await bridge.remove_server("alpha")
    assert model.names() == ["beta"]
    await bridge.stop_server("beta")


async def test_a_crash_looping_server_shows_failed_with_its_output(paths: AppPaths) -> None:
    async with running(paths) as (_engine, bridge):
        await _crash(bridge)


async def _crash(bridge: EngineBridge) -> None:
    model = ServersModel(bridge, tick_ms=0, parent=bridge)
    fast = ServerSpec(
        name="broken",
        command=fixture_cmd("crash_loop.py")[0],
        args=fixture_cmd("crash_loop.py")[1],
        restart=RestartPolicy(initial_delay=0.01, max_delay=0.02, max_restarts=1),
    )
    await bridge.add_server(fast, start=True)
    await until(lambda: model.index(0, 0).data(STATE_ROLE) is ServerState.FAILED)
    assert model.index(0, Column.STATUS).data() == "Failed"
    tip = model.index(0, Column.STATUS).data(Qt.ItemDataRole.ToolTipRole)
    assert "something is badly wrong" in tip


def _line(text: str, stream: Stream = Stream.STDERR, name: str = "s") -> LogLine:
    return LogLine(name, time.time(), stream, text)


def test_log_levels_are_guessed_from_the_text() -> None:
    assert classify(_line("Traceback (most recent call last):")) is Level.ERROR
    assert classify(_line("WARNING: deprecated option")) is Level.WARNING
    assert classify(_line("debug: connected")) is Level.DEBUG
    assert classify(_line("listening on stdio")) is Level.INFO
    assert classify(_line("started pid 4", Stream.SYSTEM)) is Level.INFO


async def test_log_model_shows_history_then_live_lines_with_filter_and_cap(
    paths: AppPaths,
) -> None:
    async with running(paths) as (engine, bridge):
        await _log_model(engine, bridge)


async def _log_model(engine: Engine, bridge: EngineBridge) -> None:
    await bridge.add_server(_spec("s"))
    model = LogModel(bridge, limit=50, parent=bridge)
    proxy = LogFilter(bridge)
    proxy.setSourceModel(model)
    model.set_server("s")
    start = model.rowCount()
    for text in ("hello world", "ERROR: disk on fire", "warning: low battery", "debug: tick"):
        engine.events.publish(_line(text))
    engine.events.publish(_line("other server", name="t"))
    bridge.flush()
    assert model.rowCount() == start + 4
    assert model.index(model.rowCount() - 1, 0).data().endswith("debug: tick")

    proxy.set_min_level(Level.WARNING)
    texts = [proxy.index(r, 0).data() for r in range(proxy.rowCount())]
    assert [t.split("  ", 1)[1] for t in texts] == ["ERROR: disk on fire", "warning: low battery"]
    proxy.set_min_level(Level.DEBUG)
    proxy.set_search("BATTERY")
    assert proxy.rowCount() == 1

    for i in range(120):
        engine.events.publish(_line(f"spam {i}"))
    bridge.flush()
    assert model.rowCount() == 50
    assert model.index(49, 0).data().endswith("spam 119")
    assert model.index(0, 0).data().endswith("spam 70")


async def test_a_sleeping_server_and_memory_are_shown(paths: AppPaths) -> None:
    """Issue 16.2/16.3: an on-demand server shows "Asleep" (not "Stopped"), with its own
    tooltip; a running server's tree memory fills the Memory column and the total."""
    async with running(paths) as (engine, bridge):
        model = ServersModel(bridge, tick_ms=0, parent=bridge)
        lazy = dataclasses.replace(_spec("lazy"), start=StartMode.ON_DEMAND)
        await bridge.add_server(lazy)
        await bridge.add_server(_spec("busy"), start=True)
        await until(lambda: model.index(0, 0).data(STATE_ROLE) is ServerState.SLEEPING)
        assert model.index(0, Column.STATUS).data() == "Asleep"
        tip = model.index(0, Column.STATUS).data(Qt.ItemDataRole.ToolTipRole)
        assert "wakes on the next call" in tip
        assert model.index(0, Column.MEMORY).data() == "—"
        assert summary(bridge.statuses()) == "1 of 2 servers running, 1 asleep"
        await until(lambda: model.index(1, 0).data(STATE_ROLE) is ServerState.RUNNING)
        await engine.supervisor.sample_memory()  # what the sampler task does every 5 s
        model.tick()
        shown = model.index(1, Column.MEMORY).data()
        assert shown.endswith("MiB"), shown
        total = model.total_memory()
        assert total is not None and total == engine.status("busy").rss_bytes
        await bridge.stop_server("busy")
