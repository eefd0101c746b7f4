"""The tray icon: overall state at a glance, a menu of server toggles, notifications."""

from __future__ import annotations

import logging
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from switchboard.auth.consent import ConsentRequest
from switchboard.core.events import ConfigChanged, Notice, StateChanged
from switchboard.core.state import ServerState
from switchboard.ui.engine_bridge import EngineBridge
from switchboard.ui.icons import Overall, action_icon, is_dark, overall_state, state_icon, summary
from switchboard.ui.icons import tray_icon as make_tray_icon
from switchboard.ui.models import SLEEPING_TIP, STATE_LABELS
from switchboard.ui.notify import (
    Channel,
    Notification,
    Notifier,
    Urgency,
    consent_notification,
    failure_notification,
    notice_notification,
)

log = logging.getLogger("switchboard.ui")


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


def early_tray_icon() -> QSystemTrayIcon:
    """The tray icon shown at launch, before the engine has started (a person sees the
    app respond at once); :class:`TrayController` takes it over."""
    icon = QSystemTrayIcon(make_tray_icon(Overall.STOPPED, is_dark()))
    icon.setToolTip("Switchboard — starting…")
    menu = QMenu()
    starting = menu.addAction("Starting Switchboard…")
    starting.setEnabled(False)
    icon.setContextMenu(menu)
    icon._starting_menu = menu  # type: ignore[attr-defined]  # the icon does not own it
    icon.show()
    return icon


class TrayController(QObject):
    """Owns the :class:`QSystemTrayIcon` and its menu.

    ``open_window`` shows the main window; ``on_quit`` starts a graceful shutdown.
    With a ``notifier`` (the app), notifications go through it (the desktop's
    notification service, this icon's balloon as its fallback); without one, through
    this icon's balloon.
    """

    notified = Signal(str, str)
    """(title, text) of each notification shown, for tests and the window's log"""

    def __init__(
        self,
        bridge: EngineBridge,
        *,
        open_window: Callable[[], None],
        on_quit: Callable[[], None],
        icon: QSystemTrayIcon | None = None,
        notifier: Notifier | None = None,
        review: Callable[[ConsentRequest], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self._review: Callable[[ConsentRequest], None] = review or (lambda _r: open_window())
        self.consent_actions: dict[str, QAction] = {}
        self._open_window = open_window
        self._on_quit = on_quit
        self.overall = Overall.STOPPED
        self.dark = is_dark()
        # The app shows its icon before the engine is up (see early_tray_icon) and hands
        # it over here, so the icon never blinks.
        self.icon = icon if icon is not None else QSystemTrayIcon(self)
        self.menu = QMenu()
        self.menu.setAccessibleName("Switchboard")
        self.header = QAction("Switchboard", self)
        self.header.setEnabled(False)
        self.server_actions: dict[str, QAction] = {}
        self.group_actions: dict[str, QAction] = {}
        self.start_all = QAction(action_icon("start"), "Start all", self)
        self.start_all.triggered.connect(lambda: self.bridge.start_all())
        self.stop_all = QAction(action_icon("stop"), "Stop all", self)
        self.stop_all.triggered.connect(lambda: self.bridge.stop_all())
        self.open_action = QAction(action_icon("window"), "Open Switchboard", self)
        self.open_action.triggered.connect(self._open_window)
        self.quit_action = QAction(action_icon("quit"), "Quit Switchboard", self)
        self.quit_action.triggered.connect(self._on_quit)
        self.icon.setContextMenu(self.menu)
        starting = getattr(self.icon, "_starting_menu", None)
        if starting is not None:
            del self.icon._starting_menu  # type: ignore[attr-defined]
            shiboken6.delete(starting)
        self.icon.activated.connect(self._activated)
        self.notifier = notifier
        if notifier is None:
            self.icon.messageClicked.connect(self._open_window)
            bridge.consentRequested.connect(self._on_consent)
            bridge.notice.connect(self._on_notice)
        else:  # the notifier watches the bridge itself and opens the right page
            notifier.attach_balloon(self.icon)
            notifier.sent.connect(self._relay_sent)
        self.rebuild_menu()
        self.refresh()

        bridge.stateChanged.connect(self._on_state)
        bridge.configChanged.connect(self._on_config)
        bridge.groupsChanged.connect(self._on_groups)
        # Pending consent requests sit at the top of the menu until decided.
        bridge.consentRequested.connect(lambda _r: self._pending_changed())
        bridge.consentDecided.connect(lambda _id: self._pending_changed())
        QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _s: self._theme_changed())

    # -- menu --------------------------------------------------------------------------
    def rebuild_menu(self) -> None:
        self.menu.clear()  # deletes the menu-owned server actions (not the fixed ones)
        self.server_actions.clear()
        self.group_actions.clear()
        self.consent_actions.clear()
        self.menu.addAction(self.header)
        self.menu.addSeparator()
        pending = self.bridge.pending_consents()
        if pending:
            waiting = QAction("Waiting for your approval:", self.menu)
            waiting.setEnabled(False)
            self.menu.addAction(waiting)
            for request in pending:
                self.consent_actions[request.id] = self._consent_action(request)
            self.menu.addSeparator()
        specs = self.bridge.specs()
        if not specs:
            empty = QAction("No servers yet — open Switchboard to add one", self.menu)
            empty.setEnabled(False)
            self.menu.addAction(empty)
        for spec in specs:
            action = QAction(spec.name, self.menu)
            action.setCheckable(True)
            action.setData(spec.name)
            action.triggered.connect(lambda checked, name=spec.name: self.toggle(name, checked))
            self.server_actions[spec.name] = action
            self.menu.addAction(action)
            self._update_action(spec.name)
        self._add_group_actions()
        self.menu.addSeparator()
        self.menu.addAction(self.start_all)
        self.menu.addAction(self.stop_all)
        self.menu.addSeparator()
        self.menu.addAction(self.open_action)
        self.menu.addAction(self.quit_action)

    def _add_group_actions(self) -> None:
        """A check box per group: on when all its servers run; toggling starts or stops
        them (the group's own endpoint is always served)."""
        groups = self.bridge.groups()
        if not groups:
            return
        self.menu.addSeparator()
        label = QAction("Groups", self.menu)
        label.setEnabled(False)
        self.menu.addAction(label)
        for group in groups:
            action = QAction(group.name, self.menu)
            action.setCheckable(True)
            action.triggered.connect(
                lambda checked, name=group.name: self.toggle_group(name, checked)
            )
            self.group_actions[group.name] = action
            self.menu.addAction(action)
            self._update_group_action(group.name)

    def toggle_group(self, name: str, on: bool) -> None:
        task = self.bridge.set_group_running(name, on)
        task.add_done_callback(lambda _t: self._update_group_action(name))

    def _update_group_action(self, name: str) -> None:
        action = self.group_actions.get(name)
        group = next((g for g in self.bridge.groups() if g.name == name), None)
        if action is None or group is None:
            return
        statuses = [s for s in (self.bridge.status(n) for n in group.servers) if s is not None]
        running = sum(1 for s in statuses if s.state.is_active)
        action.setChecked(bool(statuses) and running == len(statuses))
        action.setText(f"{name}\t{running}/{len(group.servers)} running")
        action.setToolTip(", ".join(group.servers) or "no servers")
        action.setEnabled(bool(statuses))

    def _on_groups(self, _event: object) -> None:
        if [g.name for g in self.bridge.groups()] != list(self.group_actions):
            self.rebuild_menu()
        for name in self.group_actions:
            self._update_group_action(name)

    def _consent_action(self, request: ConsentRequest) -> QAction:
        client = (request.client_name or request.client_id).replace("&", "&&")
        again = " (approved before)" if request.previously_approved else ""
        server = request.server or "choose servers"
        action = QAction(f"Review {client} → {server}{again}…", self.menu)
        action.setIcon(action_icon("window"))
        action.triggered.connect(lambda _checked=False, r=request: self._review(r))
        self.menu.addAction(action)
        return action

    def _pending_changed(self) -> None:
        if set(self.consent_actions) != {r.id for r in self.bridge.pending_consents()}:
            self.rebuild_menu()
        self.refresh()

    def toggle(self, name: str, on: bool) -> None:
        task = self.bridge.set_running(name, on)
        # If the engine refused (no state change), put the check mark back.
        task.add_done_callback(lambda _t: self._update_action(name))

    def _update_action(self, name: str) -> None:
        action = self.server_actions.get(name)
        status = self.bridge.status(name)
        if action is None or status is None:
            return
        action.setChecked(status.state.is_active)
        action.setText(f"{name}\t{STATE_LABELS[status.state]}")
        action.setIcon(state_icon(status.state))
        tip = SLEEPING_TIP if status.state is ServerState.SLEEPING else status.detail
        action.setToolTip(tip or STATE_LABELS[status.state])
        action.setEnabled(status.state is not ServerState.STOPPING)

    def refresh(self) -> None:
        statuses = self.bridge.statuses()
        self.overall = overall_state(s.state for s in statuses)
        self.icon.setIcon(make_tray_icon(self.overall, self.dark))
        text = summary(statuses)
        waiting = len(self.bridge.pending_consents())
        if waiting:
            text += f"; {waiting} request{'s' if waiting != 1 else ''} waiting for approval"
        self.icon.setToolTip(f"Switchboard — {text}")
        self.header.setText(f"Switchboard — {text}")
        for name in self.server_actions:
            self._update_action(name)
        for name in self.group_actions:
            self._update_group_action(name)

    def _theme_changed(self) -> None:
        self.dark = is_dark()
        self.refresh()

    # -- events ------------------------------------------------------------------------
    def _on_state(self, event: StateChanged) -> None:
        self._update_action(event.name)
        self.refresh()
        if event.new is ServerState.FAILED and self.notifier is None:
            self.notify(failure_notification(event))

    def _on_config(self, event: ConfigChanged) -> None:
        if [s.name for s in self.bridge.specs()] != list(self.server_actions):
            self.rebuild_menu()
        self.refresh()

    def _on_consent(self, request: ConsentRequest) -> None:
        self.notify(consent_notification(request))

    def _on_notice(self, notice: Notice) -> None:
        if notice.kind != "consent":  # consent requests are announced by _on_consent
            self.notify(notice_notification(notice))

    def notify(self, notification: Notification) -> None:
        """Through the notifier if there is one, else this icon's balloon."""
        if self.notifier is not None:
            self.notifier.send(notification)
            return
        log.info("notification: %s: %s", notification.title, notification.body)
        if self.icon.isVisible() and QSystemTrayIcon.supportsMessages():
            kind = (
                QSystemTrayIcon.MessageIcon.Warning
                if notification.urgency is Urgency.CRITICAL
                else QSystemTrayIcon.MessageIcon.Information
            )
            self.icon.showMessage(notification.title, notification.body, kind, 8000)
        self.notified.emit(notification.title, notification.body)

    def _relay_sent(self, notification: Notification, channel: Channel) -> None:
        if channel is not Channel.FOLDED:
            self.notified.emit(notification.title, notification.body)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self._open_window()

    # -- lifecycle ---------------------------------------------------------------------
    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def close(self) -> None:
        """Remove the icon and free the menu now, in the GUI thread."""
        if not shiboken6.isValid(self.icon):
            return
        self.icon.hide()
        self.icon.setContextMenu(None)  # type: ignore[arg-type]
        shiboken6.delete(self.menu)
        shiboken6.delete(self.icon)

    def set_quitting(self) -> None:
        self.icon.setToolTip("Switchboard — stopping servers…")
        for action in self.menu.actions():
            action.setEnabled(False)
