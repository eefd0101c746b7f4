"""Desktop notifications over a real D-Bus (a private bus per test, see notify_bus.py),
against a small fake ``org.freedesktop.Notifications`` service (fake_notifications.py,
a process) that records the calls and emits ActionInvoked."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from switchboard.application import build_desktop
from switchboard.core.paths import AppPaths
from switchboard.core.spec import RestartPolicy, ServerSpec
from switchboard.core.state import ServerState
from switchboard.ui.notify import Channel, Notification, Notifier
from tests.conftest import fixture_cmd
from tests.gui.conftest import consent_broker, running, until
from tests.gui.notify_bus import HAVE_DBUS_DAEMON, fake_service, private_bus

pytestmark = pytest.mark.skipif(
    not HAVE_DBUS_DAEMON, reason="needs dbus-daemon (scripts/bootstrap.sh installs it)"
)


async def test_failure_and_consent_reach_the_notification_service_and_open_the_page(
    paths: AppPaths, qtbot: QtBot, tmp_path: Path
) -> None:
    async with (
        private_bus(tmp_path) as bus,
        fake_service(bus) as service,
        running(paths, with_broker=True) as (engine, _bridge),
    ):
        cmd, args = fixture_cmd("crash_loop.py")
        fast = RestartPolicy(initial_delay=0.01, max_delay=0.02, max_restarts=1)
        await engine.add_server(ServerSpec(name="broken", command=cmd, args=args, restart=fast))
        cmd, args = fixture_cmd("echo_server.py")
        await engine.add_server(ServerSpec(name="echo", command=cmd, args=args))
        desktop = build_desktop(engine, paths=paths, use_tray=False, notifications=bus)
        qtbot.addWidget(desktop.window)
        channels: list[Channel] = []
        desktop.notifier.sent.connect(lambda _n, ch: channels.append(ch))
        try:
            await engine.start_server("broken")
            await until(lambda: engine.status("broken").state is ServerState.FAILED)
            call = await service.call("broken stopped working")
            assert call["app_name"] == "Switchboard"
            assert call["replaces_id"] == 0
            assert Path(call["app_icon"]).is_file()
            assert call["body"].endswith("Open Switchboard to see its log.")
            assert call["hints"]["urgency"] == ["y", 2]  # critical, as a byte (the spec)
            assert call["hints"]["desktop-entry"] == ["s", "dev.switchboard.switchboard"]
            assert call["actions"] == ["default", "Open Switchboard", "open", "Open Switchboard"]
            await until(lambda: Channel.DESKTOP in channels, what="delivery reported")

            # Somewhere else in the window, then the person clicks the action.
            desktop.window.select("echo")
            desktop.window.pages.setCurrentWidget(desktop.window.clients)
            desktop.window.hide()
            await service.invoke(call["id"], "open")
            await until(desktop.window.isVisible, what="the window to open")
            await until(lambda: desktop.window.current_name() == "broken", what="its page")
            assert desktop.window.pages.currentIndex() == 0

            # A consent request: normal urgency, a "Review" action opening the clients page.
            desktop.window.pages.setCurrentIndex(0)
            req = consent_broker(engine).open(
                client_id="c",
                client_name="VS Code",
                redirect_uri="http://127.0.0.1:1/cb",
                redirect_host="127.0.0.1",
                server="echo",
                resource="r",
                scopes=("mcp",),
            )
            call = await service.call("A client asks for access")
            assert call["body"] == "VS Code wants to use echo. Approve or deny it in Switchboard."
            assert call["hints"]["urgency"] == ["y", 1]
            assert call["actions"] == ["default", "Review", "open", "Review"]
            await service.invoke(call["id"], "default")
            await until(
                lambda: desktop.window.pages.currentWidget() is desktop.window.clients,
                what="the clients page",
            )
            assert req.id in desktop.consent.dialogs
            consent_broker(engine).decide(req.id, approve=False)
        finally:
            await desktop.notifier.aclose()
            desktop.bridge.close()


async def test_without_a_service_on_the_bus_the_status_line_says_it(
    qtbot: QtBot, tmp_path: Path
) -> None:
    lines: list[str] = []
    opened: list[Notification] = []
    channels: list[Channel] = []
    async with private_bus(tmp_path) as bus:
        notifier = Notifier(open_target=opened.append, status_line=lines.append, service=bus)
        notifier.sent.connect(lambda _n, ch: channels.append(ch))
        try:
            notifier.send(_failure("alpha"))
            await until(lambda: channels, what="a fallback")
            assert channels == [Channel.STATUS]
            assert lines == ["alpha stopped working. It crashed. Open Switchboard to see its log."]
        finally:
            await notifier.aclose()


def _failure(server: str) -> Notification:
    from switchboard.core.events import StateChanged
    from switchboard.ui.notify import failure_notification

    return failure_notification(
        StateChanged(server, ServerState.BACKOFF, ServerState.FAILED, "It crashed.")
    )


async def test_a_service_that_goes_and_comes_back(qtbot: QtBot, tmp_path: Path) -> None:
    """Each notification asks the bus again: no service -> status line; back -> D-Bus."""
    lines: list[str] = []
    channels: list[Channel] = []
    async with private_bus(tmp_path) as bus:
        notifier = Notifier(open_target=lambda _n: None, status_line=lines.append, service=bus)
        notifier.sent.connect(lambda _n, ch: channels.append(ch))
        await _goes_and_comes_back(notifier, bus, channels, lines)


async def _goes_and_comes_back(
    notifier: Notifier, bus: str, channels: list[Channel], lines: list[str]
) -> None:
    try:
        async with fake_service(bus) as service:
            notifier.send(_failure("alpha"))
            await service.call("alpha stopped working")
            await until(lambda: channels == [Channel.DESKTOP], what="delivered")
        notifier.send(_failure("beta"))  # the service has quit
        await until(lambda: len(channels) == 2, what="a fallback")
        assert channels[1] is Channel.STATUS
        assert lines == ["beta stopped working. It crashed. Open Switchboard to see its log."]
        async with fake_service(bus) as service:
            notifier.send(_failure("gamma"))
            call = await service.call("gamma stopped working")
            assert call["hints"]["urgency"] == ["y", 2]
            await until(lambda: len(channels) == 3 and channels[2] is Channel.DESKTOP)
    finally:
        await notifier.aclose()
