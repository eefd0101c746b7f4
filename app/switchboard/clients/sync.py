"""Keeps connected clients' configs in step with the engine's servers and groups.

Subscribed to the engine's events: every ConfigChanged (a server added, removed or
renamed) and GroupsChanged (a group added, renamed or removed) reconciles each
connected client in a worker thread, so removing a server removes it from Cursor, VS
Code, ... as well; a client connected to groups keeps one entry per group of its that
still exists. A reconcile also runs when the engine starts, which catches changes made
with the CLI while it was not running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Protocol

from switchboard.clients.manager import ClientManager, SyncReport
from switchboard.core.events import ConfigChanged, Event, GroupsChanged
from switchboard.core.paths import AppPaths
from switchboard.store.config import Config

log = logging.getLogger("switchboard.clients")


class SyncHost(Protocol):
    """What client sync needs from the engine (the Engine is one)."""

    paths: AppPaths
    config: Config

    def subscribe(self, observer: Callable[[Event], None]) -> Callable[[], None]: ...

    def server_url(self, name: str) -> str: ...


class ClientSync:
    """Debounced, single-flight reconcile of client configs on config changes."""

    def __init__(
        self,
        engine: SyncHost,
        manager: ClientManager | None = None,
        *,
        groups: Callable[[], Mapping[str, str]] = dict,
    ) -> None:
        """``groups``: {group name: its MCP URL} for every group now."""
        self._engine = engine
        self._manager = manager
        self._groups = groups
        self._renames: list[tuple[str, str]] = []
        self._task: asyncio.Task[None] | None = None
        self._dirty = False
        self._running = False
        self._unsubscribe = engine.subscribe(self._on_event)
        self.runs = 0
        """How many reconciles ran (for tests and diagnostics)."""
        self.last_reports: list[SyncReport] = []
        """What the last reconcile did per client (``error`` set for a failed one)."""

    @property
    def manager(self) -> ClientManager:
        if self._manager is None:
            self._manager = ClientManager(self._engine.paths)
        return self._manager

    def start(self) -> None:
        """Begin following changes; reconciles once right away."""
        self._running = True
        self._schedule()

    def _on_event(self, event: Event) -> None:
        if isinstance(event, GroupsChanged) and len(event.names) == 2:
            # A rename names (old, new): clients connected to the old name follow it.
            old, new = event.names
            current = self._groups()
            if old not in current and new in current:
                self._renames.append((old, new))
        if isinstance(event, ConfigChanged | GroupsChanged) and self._running:
            self._schedule()

    def _schedule(self) -> None:
        self._dirty = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def servers(self) -> dict[str, str]:
        return {s.name: self._engine.server_url(s.name) for s in self._engine.config.servers}

    def groups(self) -> dict[str, str]:
        return dict(self._groups())

    async def _run(self) -> None:
        while self._dirty:
            self._dirty = False
            renames, self._renames = self._renames, []
            try:
                for old, new in renames:
                    await asyncio.to_thread(self.manager.rename_group, old, new)
                self.last_reports = await asyncio.to_thread(
                    self.manager.sync, self.servers(), self.groups()
                )
            except Exception:
                log.exception("updating MCP client configs failed")
            self.runs += 1

    async def idle(self) -> None:
        """Wait until no reconcile is pending."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def aclose(self) -> None:
        self._running = False
        self._unsubscribe()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
