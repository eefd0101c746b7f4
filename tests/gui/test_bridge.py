"""The bridge turns engine events into Qt signals and UI actions into engine calls."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from pytestqt.qtbot import QtBot

from switchboard.auth.consent import ConsentBroker, Decision
from switchboard.core.events import LogLine, Notice, Stream
from switchboard.core.paths import AppPaths
from switchboard.core.spec import ServerSpec
from switchboard.core.state import ServerState
from switchboard.engine import Engine
from switchboard.ui.engine_bridge import EngineBridge
from tests.conftest import fixture_cmd
from tests.gui.conftest import consent_broker, running, until


def _echo(name: str = "echo") -> ServerSpec:
    cmd, args = fixture_cmd("echo_server.py")
    return ServerSpec(name=name, command=cmd, args=args)


async def test_state_changes_arrive_as_signals_and_actions_run_on_the_loop(
    paths: AppPaths,
) -> None:
    async with running(paths) as (_engine, bridge):
        await _toggle_and_watch(bridge)


async def _toggle_and_watch(bridge: EngineBridge) -> None:
    states: list[tuple[str, ServerState]] = []
    bridge.stateChanged.connect(lambda e: states.append((e.name, e.new)))
    await bridge.add_server(_echo(), start=True)
    await until(lambda: ("echo", ServerState.RUNNING) in states, what="RUNNING signal")
    status = bridge.status("echo")
    assert status is not None and status.pid
    await bridge.stop_server("echo")
    assert states[-1] == ("echo", ServerState.STOPPED)
    assert bridge.status("echo").state is ServerState.STOPPED  # type: ignore[union-attr]


async def test_log_lines_are_batched(paths: AppPaths) -> None:
    async with running(paths) as (engine, bridge):
        await _batched(engine, bridge)


async def _batched(engine: Engine, bridge: EngineBridge) -> None:
    batches: list[list[LogLine]] = []
    bridge.logLines.connect(batches.append)
    now = time.time()
    for i in range(200):
        engine.events.publish(LogLine("x", now, Stream.STDERR, f"line {i}"))
    assert batches == []  # nothing delivered synchronously, per line
    await until(lambda: batches, what="a batch")
    assert len(batches) == 1
    assert [ln.text for ln in batches[0]] == [f"line {i}" for i in range(200)]


async def test_a_failed_action_reports_what_and_why(paths: AppPaths) -> None:
    failures: list[tuple[str, str]] = []
    async with running(paths) as (_engine, bridge):
        bridge.actionFailed.connect(lambda what, msg: failures.append((what, msg)))
        task = bridge.start_server("nope")
        await until(task.done)
    assert failures == [
        ("Start nope", "No server named 'nope'. Run 'switchboard list' to see configured servers.")
    ]


async def test_notices_and_consent_requests(paths: AppPaths) -> None:
    async with running(paths, with_broker=True) as (engine, _bridge):
        await _consent(engine, consent_broker(engine))


async def _consent(engine: Engine, broker: ConsentBroker) -> None:
    bridge = EngineBridge(engine)
    notices: list[Notice] = []
    requests: list[object] = []
    bridge.notice.connect(notices.append)
    bridge.consentRequested.connect(requests.append)
    engine.events.publish(Notice("keys", "Key rotated", "A new signing key is in use."))
    req = broker.open(
        client_id="c1",
        client_name="Cursor",
        redirect_uri="http://127.0.0.1:5000/cb",
        redirect_host="127.0.0.1",
        server="echo",
        resource="http://127.0.0.1/servers/echo/mcp",
        scopes=("mcp",),
    )
    assert notices[0].title == "Key rotated"
    # The auth service also announces the request as a Notice of kind "consent".
    assert all(n.kind == "consent" for n in notices[1:])
    assert requests == [req]
    assert bridge.pending_consents() == [req]
    waiting = asyncio.ensure_future(broker.wait(req.id))
    await asyncio.sleep(0)
    assert bridge.decide_consent(req.id, approve=False, remember=False)
    assert await waiting == (Decision.DENIED, False)
    assert not bridge.decide_consent(req.id, approve=True, remember=False)  # decided once
    bridge.close()


async def test_clients_page_lists_grants_and_revokes_them(paths: AppPaths, qtbot: QtBot) -> None:
    from PySide6.QtCore import Qt

    from switchboard.auth.store import GrantRecord
    from switchboard.ui.pages import ClientsPage

    async with running(paths) as (engine, bridge):
        assert bridge.grants_available  # the auth service is wired into the engine
        store = engine.auth.store
        await asyncio.to_thread(store.save_client, "cid-1", {"client_name": "Cursor"})
        grant = GrantRecord(
            id="g-1",
            client_id="cid-1",
            server="echo",
            resource=f"{engine.base_url}/servers/echo/mcp",
            scope="mcp",
            subject="local-user",
            created_at=time.time(),
        )
        await asyncio.to_thread(store.add_grant, grant)
        page = ClientsPage(bridge)
        qtbot.addWidget(page)
        task = page.refresh()
        assert task is not None
        await task
        assert [(g.client_name, g.server, g.scopes) for g in page.grants] == [
            ("Cursor", "echo", ("mcp",))
        ]
        assert page.grants_table.item(0, 0).text() == "Cursor"  # type: ignore[union-attr]
        assert not page.revoke_button.isEnabled()
        page.grants_table.selectRow(0)
        assert page.revoke_button.isEnabled()
        qtbot.mouseClick(page.revoke_button, Qt.MouseButton.LeftButton)
        await until(lambda: page.grants == [] and page.grants_table.rowCount() == 0)
        stored = await asyncio.to_thread(store.get_grant, "g-1")
        assert stored is not None and stored.revoked_at is not None


async def test_clients_page_connects_and_disconnects_an_mcp_client(
    paths: AppPaths, qtbot: QtBot
) -> None:
    import json

    from PySide6.QtCore import Qt

    from switchboard.ui.pages import ClientsPage

    async with running(paths) as (engine, bridge):
        assert bridge.clients_available
        cmd, args = fixture_cmd("echo_server.py")
        await engine.add_server(ServerSpec(name="echo", command=cmd, args=args))
        page = ClientsPage(bridge)
        qtbot.addWidget(page)
        page.refresh()
        await until(lambda: page.clients, what="the client list")
        row = next(i for i, c in enumerate(page.clients) if c.id == "cursor")
        page.clients_table.selectRow(row)
        assert page.connect_button.isEnabled() and not page.disconnect_button.isEnabled()
        qtbot.mouseClick(page.connect_button, Qt.MouseButton.LeftButton)
        cursor_file = Path(page.clients[row].config_path)
        await until(lambda: any(c.id == "cursor" and c.connected for c in page.clients))
        data = json.loads(cursor_file.read_text("utf-8"))
        assert data["mcpServers"]["echo"] == {"url": engine.server_url("echo")}
        assert str(cursor_file).startswith(str(paths.data_dir / "fakehome"))

        row = next(i for i, c in enumerate(page.clients) if c.id == "cursor")
        page.clients_table.selectRow(row)
        qtbot.mouseClick(page.disconnect_button, Qt.MouseButton.LeftButton)
        await until(lambda: any(c.id == "cursor" and not c.connected for c in page.clients))
        assert "echo" not in json.loads(cursor_file.read_text("utf-8")).get("mcpServers", {})
