"""The Notifier's logic with fakes: folding repeated failures, the tray balloon and the
status line when there is no notification service, and which clicks open what."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from switchboard.core.events import Notice, StateChanged
from switchboard.core.paths import AppPaths
from switchboard.core.state import ServerState
from switchboard.ui.notify import (
    Channel,
    Kind,
    Notification,
    Notifier,
    ServiceError,
    Urgency,
    consent_notification,
    failure_notification,
)
from tests.gui.conftest import until
from tests.gui.notify_bus import consent_request
from tests.helpers.clocks import ManualClock


class FakeService:
    """Records (notification, replaces_id); ids count from 1; can refuse (no service)."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.calls: list[tuple[Notification, int]] = []
        self.refuse = refuse
        self.closed = False

    async def notify(self, notification: Notification, replaces_id: int) -> int:
        if self.refuse:
            raise ServiceError("org.freedesktop.DBus.Error.ServiceUnknown: no service")
        self.calls.append((notification, replaces_id))
        return len(self.calls)

    async def aclose(self) -> None:
        self.closed = True


class FakeIcon(QSystemTrayIcon):
    """A tray icon that is 'shown' and records balloons (no tray host offscreen)."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[tuple[str, str, QSystemTrayIcon.MessageIcon]] = []

    def isVisible(self) -> bool:
        return True

    def showMessage(self, title: str, msg: str, icon: object, msecs: int = 10000) -> None:  # type: ignore[override]
        assert isinstance(icon, QSystemTrayIcon.MessageIcon)
        self.messages.append((title, msg, icon))


def failed(server: str, detail: str = "Exited with code 1.") -> StateChanged:
    return StateChanged(server, ServerState.BACKOFF, ServerState.FAILED, detail)


def test_what_each_notification_says() -> None:
    n = failure_notification(failed("alpha"))
    assert (n.kind, n.urgency, n.action_label) == (
        Kind.FAILURE,
        Urgency.CRITICAL,
        "Open Switchboard",
    )
    assert n.title == "alpha stopped working"
    assert n.body == "Exited with code 1. Open Switchboard to see its log."
    c = consent_notification(consent_request())
    assert (c.kind, c.urgency, c.action_label) == (Kind.CONSENT, Urgency.NORMAL, "Review")
    assert c.body == "Cursor wants to use echo. Approve or deny it in Switchboard."


class Later:
    """The ``later`` seam: records (delay, fn); the test runs them when it moves time."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, Callable[[], None]]] = []

    def __call__(self, delay: float, fn: Callable[[], None]) -> None:
        self.pending.append((delay, fn))

    def run(self) -> list[float]:
        due, self.pending = self.pending, []
        for _delay, fn in due:
            fn()
        return [d for d, _ in due]


async def test_repeated_failures_of_one_server_are_folded_per_minute(qtbot: QtBot) -> None:
    service, clock, later = FakeService(), ManualClock(1000.0), Later()
    notifier = Notifier(open_target=lambda _n: None, service=service, clock=clock, later=later)
    channels: list[tuple[str, Channel]] = []
    notifier.sent.connect(lambda n, ch: channels.append((n.server, ch)))
    notifier.send(failure_notification(failed("alpha")))
    await until(lambda: len(service.calls) == 1)
    assert later.pending == []  # nothing folded yet, nothing to say later
    for dt, code in ((5, 2), (20, 3), (45, 4)):  # within the minute: folded
        clock.now = 1000.0 + dt
        notifier.send(failure_notification(failed("alpha", f"Exited with code {code}.")))
    notifier.send(failure_notification(failed("beta")))  # another server: its own
    await until(lambda: len(service.calls) == 2)
    assert [n.server for n, _ in service.calls] == ["alpha", "beta"]
    assert channels.count(("alpha", Channel.FOLDED)) == 3

    # The minute ends: the latest is shown once, replacing the first bubble.
    clock.now = 1060.0
    assert later.run() == [55.0]  # scheduled at the first fold (t=5) for t=60
    await until(lambda: len(service.calls) == 3)
    summary, replaces = service.calls[2]
    assert summary.body == (
        "Exited with code 4. Open Switchboard to see its log. It failed 2 more times "
        "since the last notification (folded into this one)."
    )
    assert replaces == 1

    # That started a new minute: one more failure in it is folded, then said alone.
    clock.now = 1070.0
    notifier.send(failure_notification(failed("alpha", "Exited with code 5.")))
    assert later.pending and later.pending[0][0] == 50.0
    clock.now = 1120.0
    later.run()
    await until(lambda: len(service.calls) == 4)
    assert service.calls[3] == (failure_notification(failed("alpha", "Exited with code 5.")), 3)

    # Quiet for over a minute: the next failure is shown at once, nothing folded.
    clock.now = 1300.0
    notifier.send(failure_notification(failed("alpha")))
    await until(lambda: len(service.calls) == 5)
    assert "folded" not in service.calls[4][0].body
    assert later.pending == []
    await notifier.aclose()
    assert service.closed


async def test_folding_uses_the_loop_timer_by_default(qtbot: QtBot) -> None:
    service = FakeService()
    # A stopped clock: the three sends are in one window whatever the machine's speed;
    # the loop's timer (real time) ends it.
    notifier = Notifier(
        open_target=lambda _n: None, service=service, clock=lambda: 0.0, fold_seconds=0.05
    )
    for code in (1, 2, 3):
        notifier.send(failure_notification(failed("alpha", f"Exited with code {code}.")))
    await until(lambda: len(service.calls) == 2, what="the folded summary")
    assert service.calls[1][0].body.startswith("Exited with code 3.")
    assert "1 more time since" in service.calls[1][0].body
    await notifier.aclose()


async def test_no_service_falls_back_to_the_tray_balloon(qtbot: QtBot) -> None:
    icon = FakeIcon()
    opened: list[Notification] = []
    notifier = Notifier(
        open_target=opened.append, balloon=lambda: icon, service=FakeService(refuse=True)
    )
    notifier.attach_balloon(icon)
    notifier.send(failure_notification(failed("alpha")))
    await until(lambda: icon.messages, what="a balloon")
    assert icon.messages == [
        (
            "alpha stopped working",
            "Exited with code 1. Open Switchboard to see its log.",
            QSystemTrayIcon.MessageIcon.Warning,
        )
    ]
    icon.messageClicked.emit()  # the person clicks the balloon
    assert [n.server for n in opened] == ["alpha"]
    await notifier.aclose()
    icon.deleteLater()


async def test_neither_service_nor_tray_uses_the_status_line(qtbot: QtBot) -> None:
    lines: list[str] = []
    notifier = Notifier(open_target=lambda _n: None, status_line=lines.append, service=None)
    notifier.send(consent_notification(consent_request()))
    assert lines == [
        "A client asks for access. Cursor wants to use echo. Approve or deny it in Switchboard."
    ]
    await notifier.aclose()


async def test_only_our_notifications_and_offered_actions_open_a_page(qtbot: QtBot) -> None:
    service = FakeService()
    opened: list[Notification] = []
    notifier = Notifier(open_target=opened.append, service=service)
    notifier.send(consent_notification(consent_request()))
    await until(lambda: service.calls)
    notifier._action_invoked(99, "open")  # another app's notification
    notifier._action_invoked(1, "snooze")  # an action we never offered
    assert opened == []
    notifier._action_invoked(1, "default")
    assert [n.kind for n in opened] == [Kind.CONSENT]
    notifier._closed(1)  # closed: a late click does nothing
    notifier._action_invoked(1, "open")
    assert len(opened) == 1
    await notifier.aclose()


async def test_watch_notices_but_not_consent_notices(qtbot: QtBot) -> None:
    from PySide6.QtCore import QObject, Signal

    class Bridge(QObject):
        stateChanged = Signal(object)
        consentRequested = Signal(object)
        notice = Signal(object)

    bridge = Bridge()
    lines: list[str] = []
    notifier = Notifier(open_target=lambda _n: None, status_line=lines.append, service=None)
    notifier.watch(bridge)
    bridge.notice.emit(Notice("keyring", "Keyring locked", "Unlock it and restart."))
    bridge.notice.emit(Notice("consent", "Consent", "announced by consentRequested"))
    bridge.stateChanged.emit(StateChanged("a", ServerState.RUNNING, ServerState.STOPPED))
    bridge.stateChanged.emit(failed("a"))
    assert lines == [
        "Keyring locked. Unlock it and restart.",
        "a stopped working. Exited with code 1. Open Switchboard to see its log.",
    ]
    await notifier.aclose()


async def test_the_tray_hands_notifications_to_the_notifier(paths: AppPaths) -> None:
    """With a notifier (the app), a real failure is announced once, through it, and the
    tray's ``notified`` still reports it; the balloon is the notifier's fallback."""
    from switchboard.core.spec import RestartPolicy, ServerSpec
    from switchboard.ui.tray import TrayController
    from tests.conftest import fixture_cmd
    from tests.gui.conftest import running

    async with running(paths) as (engine, bridge):
        cmd, args = fixture_cmd("crash_loop.py")
        fast = RestartPolicy(initial_delay=0.01, max_delay=0.02, max_restarts=1)
        await engine.add_server(ServerSpec(name="broken", command=cmd, args=args, restart=fast))
        icon = FakeIcon()
        service = FakeService(refuse=True)
        notifier = Notifier(open_target=lambda _n: None, balloon=lambda: icon, service=service)
        notifier.watch(bridge)
        tray = TrayController(
            bridge, open_window=lambda: None, on_quit=lambda: None, icon=icon, notifier=notifier
        )
        notes: list[str] = []
        tray.notified.connect(lambda title, _text: notes.append(title))
        channels: list[Channel] = []
        notifier.sent.connect(lambda _n, ch: channels.append(ch))
        await engine.start_server("broken")
        await until(lambda: notes, what="a failure notification")
        assert notes == ["broken stopped working"]
        assert [m[0] for m in icon.messages] == ["broken stopped working"]  # once, not twice
        assert channels == [Channel.BALLOON]  # sent once (a second send would be FOLDED)
        await notifier.aclose()
        tray.close()
