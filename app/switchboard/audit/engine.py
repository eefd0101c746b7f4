"""What the engine does, for the audit log: config changes and server life.

- :class:`AuditedConfigStore` sees every committed config (the engine saves before a
  change becomes current, ``Engine._commit``) and logs the difference with the
  previous one: ``server_added`` / ``server_removed`` / ``server_changed``,
  ``group_added`` / ``group_removed`` / ``group_changed``, ``settings_changed``. Only
  field names are logged, never values (an ``env`` may hold something private).
- :func:`audit_states` follows the event bus: ``server_started``, ``server_stopped``,
  ``server_failed`` (with the reason the supervisor gave).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from switchboard.core.audit import CLI, FAILURE, PERSON, SUCCESS, SWITCHBOARD, AuditSink
from switchboard.core.events import Event, EventBus, StateChanged
from switchboard.core.paths import AppPaths
from switchboard.core.spec import StartMode
from switchboard.core.state import ServerState
from switchboard.store.config import Config, ConfigStore

STARTED_STOPPED = frozenset({StartMode.ALWAYS, StartMode.MANUAL})


def _start_stop(name: str, old: Any, new: Any) -> bool:
    """Starting and stopping a server flips its ``start`` between always and manual
    (``Engine._set_autostart``): logged as server_started/stopped, not as an edit."""
    return name == "start" and {old.start, new.start} <= STARTED_STOPPED


def changed_fields(old: Any, new: Any) -> list[str]:
    """The names of the dataclass fields that differ (a start or stop left out)."""
    return [
        f.name
        for f in dataclasses.fields(new)
        if getattr(old, f.name) != getattr(new, f.name) and not _start_stop(f.name, old, new)
    ]


def _diff_named(
    audit: AuditSink, kind: str, old: Iterable[Any], new: Iterable[Any], actor: str
) -> None:
    before = {spec.name: spec for spec in old}
    after = {spec.name: spec for spec in new}
    for name in before.keys() - after.keys():
        audit.emit(f"{kind}_removed", actor=actor, target=name, outcome=SUCCESS)
    for name, spec in after.items():
        previous = before.get(name)
        if previous is None:
            audit.emit(f"{kind}_added", actor=actor, target=name, outcome=SUCCESS)
        elif previous != spec and (fields := changed_fields(previous, spec)):
            audit.emit(f"{kind}_changed", actor=actor, target=name, outcome=SUCCESS, fields=fields)


def audit_config_change(audit: AuditSink, old: Config, new: Config, actor: str = PERSON) -> None:
    """Log what ``new`` changed from ``old`` (one event per server, group, settings)."""
    _diff_named(audit, "server", old.servers, new.servers, actor)
    _diff_named(audit, "group", old.groups, new.groups, actor)
    if old.settings != new.settings:
        fields = changed_fields(old.settings, new.settings)
        audit.emit(
            "settings_changed", actor=actor, target="settings", outcome=SUCCESS, fields=fields
        )


class AuditedConfigStore(ConfigStore):
    """A :class:`ConfigStore` that logs every saved change (see the module docstring).

    Loads and saves go to ``inner``; the other methods are ConfigStore's own on the
    same file."""

    def __init__(self, inner: ConfigStore, audit: AuditSink, actor: str = PERSON) -> None:
        super().__init__(inner.path)
        self._inner = inner
        self._audit = audit
        self._actor = actor
        self._last: Config | None = None

    @property
    def inner(self) -> ConfigStore:
        """The store that reads and writes the file (e.g. one a test passed in)."""
        return self._inner

    def load(self) -> Config:
        config = self._inner.load()
        self._last = config
        return config

    def save(self, config: Config) -> None:
        self._inner.save(config)
        previous, self._last = self._last, config
        if previous is not None:
            audit_config_change(self._audit, previous, config, self._actor)


def offline_config_store(paths: AppPaths) -> ConfigStore:
    """The config file as the CLI changes it with no engine running: every saved change
    audited with the actor ``cli``, written at once (a short-lived process)."""
    from switchboard.audit.log import AuditLog

    return AuditedConfigStore(
        ConfigStore(paths.config_file), AuditLog.for_paths(paths, sync=True), actor=CLI
    )


def audit_states(audit: AuditSink, events: EventBus) -> Callable[[], None]:
    """Log servers starting, stopping and failing; returns the unsubscribe function."""

    def observe(event: Event) -> None:
        if type(event) is not StateChanged:
            return
        new = event.new
        if new is ServerState.RUNNING:
            audit.emit("server_started", target=event.name, outcome=SUCCESS)
        elif new is ServerState.STOPPED and event.old is not ServerState.STOPPED:
            audit.emit("server_stopped", target=event.name, outcome=SUCCESS)
        elif new in (ServerState.FAILED, ServerState.BACKOFF):
            audit.emit(
                "server_failed",
                actor=SWITCHBOARD,
                target=event.name,
                outcome=FAILURE,
                reason=event.detail or new.value,
                state=new.value,
            )

    return events.subscribe(observe)


__all__ = [
    "AuditedConfigStore",
    "audit_config_change",
    "audit_states",
    "changed_fields",
    "offline_config_store",
]
