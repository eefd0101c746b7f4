"""Single instance, and the tray controller's menu and notifications (offscreen)."""

from __future__ import annotations

import uuid

from pytestqt.qtbot import QtBot

from switchboard.core.paths import AppPaths
from switchboard.core.spec import RestartPolicy, ServerSpec, StartMode
from switchboard.core.state import ServerState
from switchboard.ui.icons import Overall
from switchboard.ui.single_instance import SingleInstance, instance_key
from switchboard.ui.tray import TrayController
from tests.conftest import fixture_cmd
from tests.gui.conftest import running, until


def test_a_second_launch_activates_the_first(qtbot: QtBot) -> None:
    key = f"switchboard-test-{uuid.uuid4().hex[:12]}"
    first = SingleInstance(key)
    assert first.claim()
    hits: list[bool] = []
    first.activated.connect(lambda: hits.append(True))
    second = SingleInstance(key)
    assert not second.claim()
    qtbot.waitUntil(lambda: hits == [True], timeout=3000)
    first.release()
    third = SingleInstance(key)  # released: the next launch is the one
    assert third.claim()
    third.release()


def test_instance_key_depends_on_the_home(tmp_path: object) -> None:
    a = instance_key(AppPaths.default("/tmp/a"))
    assert a == instance_key(AppPaths.default("/tmp/a"))
    assert a != instance_key(AppPaths.default("/tmp/b"))


async def test_tray_menu_toggles_servers_and_tracks_state(paths: AppPaths) -> None:
    async with running(paths) as (engine, bridge):
        cmd, args = fixture_cmd("echo_server.py")
        await engine.add_server(ServerSpec(name="echo", command=cmd, args=args))
        opened: list[bool] = []
        quits: list[bool] = []
        tray = TrayController(
            bridge,
            open_window=lambda: opened.append(True),
            on_quit=lambda: quits.append(True),
            parent=bridge,
        )
        assert tray.overall is Overall.STOPPED
        action = tray.server_actions["echo"]
        assert action.isCheckable() and not action.isChecked()
        assert action.text() == "echo\tStopped"
        titles = [a.text() for a in tray.menu.actions() if a.text()]
        assert titles[-4:] == ["Start all", "Stop all", "Open Switchboard", "Quit Switchboard"]

        action.trigger()  # check -> start
        await until(lambda: engine.status("echo").state is ServerState.RUNNING)
        await until(lambda: tray.overall is Overall.RUNNING)
        assert action.isChecked() and action.text() == "echo\tRunning"
        assert "1 of 1 server running" in tray.icon.toolTip()

        action.trigger()  # uncheck -> stop
        await until(lambda: engine.status("echo").state is ServerState.STOPPED)
        assert not action.isChecked() and tray.overall is Overall.STOPPED

        # The menu follows config changes.
        await engine.add_server(ServerSpec(name="other", command=cmd, args=args))
        assert list(tray.server_actions) == ["echo", "other"]
        tray.open_action.trigger()
        tray.quit_action.trigger()
        assert opened == [True] and quits == [True]
        tray.close()


async def test_tray_shows_an_asleep_server_apart_from_a_stopped_one(paths: AppPaths) -> None:
    """Issue 16.2: "Asleep" with its own tooltip, never "Stopped"; clicking starts it."""
    async with running(paths) as (engine, bridge):
        cmd, args = fixture_cmd("echo_server.py")
        await engine.add_server(
            ServerSpec(name="lazy", command=cmd, args=args, start=StartMode.ON_DEMAND)
        )
        await engine.add_server(ServerSpec(name="off", command=cmd, args=args))
        tray = TrayController(bridge, open_window=lambda: None, on_quit=lambda: None, parent=bridge)
        lazy, off = tray.server_actions["lazy"], tray.server_actions["off"]
        assert lazy.text() == "lazy\tAsleep" and off.text() == "off\tStopped"
        assert "wakes on the next call" in lazy.toolTip()
        assert "1 asleep" in tray.icon.toolTip()
        lazy.trigger()  # check -> start now (it sleeps again when idle)
        await until(lambda: engine.status("lazy").state is ServerState.RUNNING)
        await engine.stop_server("lazy")
        tray.close()


async def test_a_failing_server_turns_the_icon_and_notifies(paths: AppPaths) -> None:
    async with running(paths) as (engine, bridge):
        cmd, args = fixture_cmd("crash_loop.py")
        fast = RestartPolicy(initial_delay=0.01, max_delay=0.02, max_restarts=1)
        await engine.add_server(ServerSpec(name="broken", command=cmd, args=args, restart=fast))
        tray = TrayController(bridge, open_window=lambda: None, on_quit=lambda: None, parent=bridge)
        notes: list[tuple[str, str]] = []
        tray.notified.connect(lambda title, text: notes.append((title, text)))
        await engine.start_server("broken")
        await until(lambda: notes, what="a failure notification")
        assert notes[0][0] == "broken stopped working"
        assert tray.overall is Overall.FAILING
        tray.close()


async def test_consent_requests_are_notified(paths: AppPaths) -> None:
    from tests.gui.conftest import consent_broker

    async with running(paths, with_broker=True) as (engine, bridge):
        tray = TrayController(bridge, open_window=lambda: None, on_quit=lambda: None, parent=bridge)
        notes: list[str] = []
        tray.notified.connect(lambda title, text: notes.append(text))
        req = consent_broker(engine).open(
            client_id="c",
            client_name="VS Code",
            redirect_uri="http://127.0.0.1:1/cb",
            redirect_host="127.0.0.1",
            server="echo",
            resource="r",
            scopes=("mcp",),
        )
        assert notes == ["VS Code wants to use echo. Approve or deny it in Switchboard."]
        consent_broker(engine).decide(req.id, approve=False)
        tray.close()
