"""Desktop notifications: the freedesktop Notifications service, else the tray balloon,
else the window's status line.

A :class:`Notifier` turns engine events (a server failed, a client asks for consent,
an engine notice) into one :class:`Notification` each and delivers it through the best
channel there is:

1. ``org.freedesktop.Notifications`` on the session bus (``Notify``), with the app name,
   icon, an urgency hint (critical for failures, normal otherwise) and one action
   ("Open Switchboard", or "Review" for consent; a request from a client approved
   before also gets "Approve", one-click re-approval); ``ActionInvoked`` opens the right
   page. Only signals from the service that answered our ``Notify`` count (the bus
   stamps the sender; any other program on the bus could emit ``ActionInvoked``).
2. The tray balloon (:meth:`QSystemTrayIcon.showMessage`) when no service answers.
3. The window's status line when there is neither.

The D-Bus side (jeepney on the running loop, never blocking it; bodies escaped for the
spec's markup so a client's name cannot add links or images; actions accepted only from
the service that showed the bubble) is in :mod:`switchboard.ui.freedesktop`. Summaries
carry no client-chosen text (the spec makes them plain text, not every daemon agrees).

Repeated failures of the same server, and repeated consent requests of the same client,
are folded: at most one notification per server (or client) per ``fold_seconds`` (a
minute); when the minute ends, the latest is shown once (replacing the earlier bubble)
and says how many more were folded.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import importlib.util
import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QSystemTrayIcon

from switchboard.auth.consent import ConsentRequest
from switchboard.core.events import Notice, StateChanged
from switchboard.core.state import ServerState
from switchboard.ui.freedesktop import (
    APP_NAME,
    BUS_NAME,
    CALL_TIMEOUT,
    DESKTOP_ENTRY,
    INTERFACE,
    OBJECT_PATH,
    FreedesktopService,
    NotificationService,
    ServiceError,
    markup_escape,
    notification_icon,
)

log = logging.getLogger("switchboard.ui")

__all__ = [
    "APP_NAME",
    "BUS_NAME",
    "CALL_TIMEOUT",
    "DESKTOP_ENTRY",
    "INTERFACE",
    "OBJECT_PATH",
    "FreedesktopService",
    "NotificationService",
    "ServiceError",
    "markup_escape",
    "notification_icon",
]

OPEN_ACTION = "open"
"""Action key of the one button; ``default`` (a click on the bubble) does the same."""
APPROVE_ACTION = "approve"
"""Action key of "Approve" on a request from a client approved before."""


class Kind(enum.Enum):
    """What a notification is about; decides urgency, action label and what opens."""

    FAILURE = "failure"
    CONSENT = "consent"
    NOTICE = "notice"


class Urgency(enum.IntEnum):
    """The spec's ``urgency`` hint (a byte)."""

    LOW = 0
    NORMAL = 1
    CRITICAL = 2


class Channel(enum.Enum):
    """How a notification reached the person (or that it was folded)."""

    DESKTOP = "desktop"
    BALLOON = "balloon"
    STATUS = "status"
    FOLDED = "folded"


@dataclasses.dataclass(frozen=True)
class Notification:
    """One thing to tell the person: what happened and what to do."""

    kind: Kind
    title: str
    body: str
    server: str = ""
    request: ConsentRequest | None = None
    fold_key: str = ""
    """Notifications with the same non-empty key are rate-limited together."""

    @property
    def urgency(self) -> Urgency:
        return Urgency.CRITICAL if self.kind is Kind.FAILURE else Urgency.NORMAL

    @property
    def action_label(self) -> str:
        return "Review" if self.kind is Kind.CONSENT else "Open Switchboard"

    @property
    def can_approve(self) -> bool:
        """One-click "Approve": only for a client the person approved (and asked to
        remember) before; a first request is reviewed in the dialog."""
        return self.request is not None and self.request.previously_approved

    @property
    def actions(self) -> list[str]:
        """The spec's ``actions`` (key, label, key, label, ...)."""
        label = self.action_label
        actions = ["default", label]
        if self.can_approve:
            actions += [APPROVE_ACTION, "Approve"]
        return [*actions, OPEN_ACTION, label]

    def with_folded(self, folded: int) -> Notification:
        if folded <= 0:
            return self
        if self.kind is Kind.CONSENT:
            more = "request" if folded == 1 else "requests"
            return dataclasses.replace(
                self,
                body=f"{self.body} ({folded} more {more} from this client since the last "
                "notification.)",
            )
        times = "time" if folded == 1 else "times"
        return dataclasses.replace(
            self,
            body=f"{self.body} It failed {folded} more {times} since the last notification "
            "(folded into this one).",
        )


def failure_notification(event: StateChanged) -> Notification:
    detail = event.detail or "The server crashed repeatedly and was not restarted."
    return Notification(
        Kind.FAILURE,
        f"{event.name} stopped working",
        f"{detail} Open Switchboard to see its log.",
        server=event.name,
        fold_key=f"failure:{event.name}",
    )


def sign_in_notification(event: StateChanged) -> Notification:
    """A remote server that was working lost its sign-in (revoked, expired upstream)."""
    return Notification(
        Kind.FAILURE,
        f"{event.name} needs you to sign in again",
        f"{event.detail or 'The provider no longer accepts the sign-in.'} "
        "Open Switchboard and click Sign in.",
        server=event.name,
        fold_key=f"sign-in:{event.name}",
    )


def consent_notification(request: ConsentRequest) -> Notification:
    """The body names the client (its registration chose the name: plain text here, the
    D-Bus service escapes it); the summary never does."""
    client = request.client_name or request.client_id
    if request.previously_approved:
        return Notification(
            Kind.CONSENT,
            "A client asks for access again",
            f"{client} wants to use {request.target} again. You approved it before; "
            "approve again only if you just started it.",
            server=request.server,
            request=request,
            fold_key=f"consent:{request.client_id}",
        )
    return Notification(
        Kind.CONSENT,
        "A client asks for access",
        f"{client} wants to use {request.target}. Approve or deny it in Switchboard."
        if request.server
        else f"{client} wants to use servers but did not say which. Choose them in Switchboard.",
        server=request.server,
        request=request,
        # One client asking over and over (a flood) is one bubble a minute.
        fold_key=f"consent:{request.client_id}",
    )


def notice_notification(notice: Notice) -> Notification:
    return Notification(Kind.NOTICE, notice.title, notice.text)


@dataclasses.dataclass
class _Fold:
    """Folding state of one key: when its notification was last shown, how many were
    folded since, the latest of those, and the desktop id to replace."""

    shown_at: float
    folded: int = 0
    latest: Notification | None = None
    nid: int = 0


class Notifier(QObject):
    """Delivers :class:`Notification` s through the best channel; see the module doc.

    Seams: ``service`` (``True``: the session bus; a string: that bus address; ``None``:
    no D-Bus, e.g. not Linux; or a :class:`NotificationService`), ``balloon`` (the tray icon
    if there is one), ``status_line`` (the window's), ``open_target`` (what a click on
    the action opens), ``clock`` and ``later`` (for folding: ``later(delay, fn)`` runs
    ``fn`` after ``delay`` seconds; the running loop's ``call_later`` by default).

    Folding: the first failure of a server is shown at once; more within
    ``fold_seconds`` are counted, and when that window ends the latest is shown once,
    replacing the earlier bubble and saying how many more there were.
    """

    sent = Signal(object, object)
    """(Notification as shown, Channel)"""
    opened = Signal(object)
    """the Notification whose action the person clicked"""
    approved = Signal(object)
    """the consent Notification whose "Approve" the person clicked (request approved)"""

    def __init__(
        self,
        *,
        open_target: Callable[[Notification], None],
        balloon: Callable[[], QSystemTrayIcon | None] = lambda: None,
        status_line: Callable[[str], None] = lambda _text: None,
        service: NotificationService | str | bool | None = True,
        clock: Callable[[], float] = time.monotonic,
        fold_seconds: float = 60.0,
        later: Callable[[float, Callable[[], None]], object] | None = None,
        approve: Callable[[ConsentRequest], bool] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._open_target = open_target
        self._approve = approve
        self._balloon = balloon
        self._status_line = status_line
        if service is True or isinstance(service, str):
            bus = service if isinstance(service, str) else "SESSION"
            service = _default_service(self._action_invoked, self._closed, bus)
        self.service: NotificationService | None = service or None
        self._clock = clock
        self.fold_seconds = fold_seconds
        self._later = later
        self._folds: dict[str, _Fold] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._shown: dict[int, Notification] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_balloon: Notification | None = None

    def watch(self, bridge: Any) -> None:
        """Notify on the bridge's failures, consent requests and notices."""
        bridge.stateChanged.connect(self._on_state)
        bridge.consentRequested.connect(lambda r: self.send(consent_notification(r)))
        bridge.notice.connect(self._on_notice)

    def attach_balloon(self, icon: QSystemTrayIcon) -> None:
        """A click on the balloon opens what the last balloon was about."""
        icon.messageClicked.connect(self._balloon_clicked)

    def _on_state(self, event: StateChanged) -> None:
        if event.new is ServerState.FAILED:
            self.send(failure_notification(event))
        elif event.new is ServerState.NEEDS_SIGN_IN and event.old is ServerState.RUNNING:
            self.send(sign_in_notification(event))

    def _on_notice(self, notice: Notice) -> None:
        if notice.kind != "consent":  # consent requests come as consentRequested
            self.send(notice_notification(notice))

    # -- sending -----------------------------------------------------------------------
    def send(self, notification: Notification) -> None:
        log.info("notification: %s: %s", notification.title, notification.body)
        key = notification.fold_key
        if not key:
            self._dispatch(notification, 0)
            return
        now = self._clock()
        fold = self._folds.get(key)
        if fold is not None and now - fold.shown_at < self.fold_seconds:
            if fold.folded == 0:
                self._schedule(fold.shown_at + self.fold_seconds - now, key)
            fold.folded += 1
            fold.latest = notification
            self.sent.emit(notification, Channel.FOLDED)
            return
        self._show_folded(key, notification, 0 if fold is None else fold.folded, now)

    def _schedule(self, delay: float, key: str) -> None:
        def flush() -> None:
            fold = self._folds.get(key)
            if fold is not None and fold.folded > 0 and fold.latest is not None:
                self._show_folded(key, fold.latest, fold.folded - 1, self._clock())

        if self._later is not None:
            self._later(max(delay, 0.0), flush)
            return
        with contextlib.suppress(RuntimeError):  # no loop: the next failure says it
            self._timers[key] = asyncio.get_running_loop().call_later(max(delay, 0.0), flush)

    def _show_folded(self, key: str, notification: Notification, more: int, now: float) -> None:
        previous = self._folds.get(key)
        self._folds[key] = _Fold(shown_at=now)
        self._dispatch(notification.with_folded(more), previous.nid if previous else 0)

    def _dispatch(self, notification: Notification, replaces: int) -> None:
        if self.service is None:
            self._fallback(notification)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._fallback(notification)
            return
        task = loop.create_task(self._deliver(notification, replaces))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, notification: Notification, replaces: int) -> None:
        assert self.service is not None
        try:
            nid = await self.service.notify(notification, replaces)
        except (OSError, ServiceError, ValueError, KeyError) as exc:
            # KeyError/ValueError: no DBUS_SESSION_BUS_ADDRESS, or one jeepney can't use.
            log.info("no desktop notification service (%s); using the fallback", exc)
            self._fallback(notification)
            return
        self._shown[nid] = notification
        fold = self._folds.get(notification.fold_key)
        if fold is not None:
            fold.nid = nid
        self.sent.emit(notification, Channel.DESKTOP)

    def _fallback(self, notification: Notification) -> None:
        icon = self._balloon()
        if icon is not None and icon.isVisible() and QSystemTrayIcon.supportsMessages():
            kind = (
                QSystemTrayIcon.MessageIcon.Warning
                if notification.urgency is Urgency.CRITICAL
                else QSystemTrayIcon.MessageIcon.Information
            )
            self._last_balloon = notification
            icon.showMessage(notification.title, notification.body, kind, 8000)
            self.sent.emit(notification, Channel.BALLOON)
            return
        self._status_line(f"{notification.title}. {notification.body}")
        self.sent.emit(notification, Channel.STATUS)

    # -- clicks ------------------------------------------------------------------------
    def _action_invoked(self, nid: int, key: str) -> None:
        notification = self._shown.get(nid)
        if notification is None:
            return  # another app's notification
        if key == APPROVE_ACTION and notification.can_approve and self._approve is not None:
            assert notification.request is not None
            if self._approve(notification.request):
                self.approved.emit(notification)
            return
        if key not in ("default", OPEN_ACTION):
            return  # an action we did not offer
        self._open(notification)

    def _closed(self, nid: int) -> None:
        self._shown.pop(nid, None)

    def _balloon_clicked(self) -> None:
        if self._last_balloon is not None:
            self._open(self._last_balloon)

    def _open(self, notification: Notification) -> None:
        self._open_target(notification)
        self.opened.emit(notification)

    async def aclose(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.service is not None:
            await self.service.aclose()


def _default_service(
    on_action: Callable[[int, str], None], on_closed: Callable[[int], None], bus: str
) -> NotificationService | None:
    # jeepney is Linux-only (as keyring's Secret Service dependency); imported on the
    # first notification, not at start-up.
    if importlib.util.find_spec("jeepney") is None:
        return None
    return FreedesktopService(on_action=on_action, on_closed=on_closed, bus=bus)
