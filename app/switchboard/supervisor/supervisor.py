"""The Supervisor: every configured server's :class:`ManagedServer`, and the watchdog."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from switchboard.core.errors import ServerExists, ServerNotFound
from switchboard.core.events import EventBus
from switchboard.core.paths import AppPaths
from switchboard.core.spec import ServerSpec
from switchboard.core.state import ServerState
from switchboard.supervisor import memory, tree
from switchboard.supervisor.clock import Clock
from switchboard.supervisor.environment import login_shell_path
from switchboard.supervisor.process import READY_WINDOW, STREAM_LIMIT, ManagedServer, ServerStatus
from switchboard.supervisor.spawning import (
    CommandResolver,
    SecretResolver,
    Spawner,
    no_secrets,
    spawn_process,
)
from switchboard.supervisor.watchdog import Watchdog

log = logging.getLogger("switchboard.supervisor")

RemoteFactory = Callable[[ServerSpec, EventBus, Any], ManagedServer]
"""Builds the supervisor's object for a remote server (``remote/``; spec, events, log file)."""

REAP_INTERVAL = 5.0
"""Seconds between sweeps for adopted descendants that exited (tree.py)."""
MEMORY_INTERVAL = 5.0
"""Seconds between samples of every server's resident memory (memory.py)."""


class Supervisor:
    """Owns the server processes. ``start()`` resolves PATH; ``aclose()`` stops all."""

    def __init__(
        self,
        events: EventBus,
        paths: AppPaths | None = None,
        *,
        spawner: Spawner = spawn_process,
        clock: Clock | None = None,
        secrets: SecretResolver = no_secrets,
        path_resolver: Callable[[], str] = login_shell_path,
        stop_grace: float = 5.0,
        watchdog: bool = True,
        rand: Callable[[], float] | None = None,
        ready_window: float = READY_WINDOW,
        stdout_limit: int = STREAM_LIMIT,
        reap_interval: float = REAP_INTERVAL,
        remote_factory: RemoteFactory | None = None,
        resolver: CommandResolver | None = None,
        memory_interval: float = MEMORY_INTERVAL,
    ) -> None:
        self._resolver = resolver
        self._events = events
        self._paths = paths
        self._spawner = spawner
        self._clock = clock
        self._secrets = secrets
        self._path_resolver = path_resolver
        self._stop_grace = stop_grace
        self._rand = rand
        self._watchdog = Watchdog() if watchdog else None
        self._servers: dict[str, ManagedServer] = {}
        self._ready_window = ready_window
        self._stdout_limit = stdout_limit
        self.scope = uuid.uuid4().hex
        """Every server process (and descendant) has SWITCHBOARD_SCOPE=<scope>:...."""
        self._leaders: set[int] = set()
        self._adopted: set[int] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._reap_interval = reap_interval
        self._memory_interval = memory_interval
        self._sampler: asyncio.Task[None] | None = None
        self._remote_factory = remote_factory
        self.subreaper = False
        self.path = ""

    async def start(self) -> None:
        self.path = await asyncio.to_thread(self._path_resolver)
        if tree.supported():
            # Orphaned descendants of our servers come to us, not to init (tree.py).
            self.subreaper = tree.set_subreaper()
            log.info(
                "process containment: process groups%s, /proc scope walk, watchdog",
                " + child subreaper" if self.subreaper else "",
            )
            if self.subreaper and self._reaper is None:
                self._reaper = asyncio.get_running_loop().create_task(
                    self._reap_adopted(), name="switchboard-reaper"
                )
        if self._watchdog is not None:
            await self._watchdog.ensure_started()
            self._watchdog.set_scope(self.scope)
        if tree.supported() and self._memory_interval > 0 and self._sampler is None:
            self._sampler = asyncio.get_running_loop().create_task(
                self._sample_memory(), name="switchboard-memory"
            )

    @property
    def watchdog_pid(self) -> int | None:
        return self._watchdog.pid if self._watchdog else None

    def add(self, spec: ServerSpec) -> ManagedServer:
        if spec.name in self._servers:
            raise ServerExists(spec.name)
        log_file = self._paths.server_log(spec.name) if self._paths else None
        if spec.remote and self._remote_factory is not None:
            remote = self._remote_factory(spec, self._events, log_file)
            self._servers[spec.name] = remote
            return remote
        server = ManagedServer(
            spec,
            events=self._events,
            path=self.path,
            log_file=log_file,
            spawner=self._spawner,
            clock=self._clock,
            secrets=self._secrets,
            stop_grace=self._stop_grace,
            on_pgid=self._on_pgid,
            rand=self._rand,
            ready_window=self._ready_window,
            stdout_limit=self._stdout_limit,
            scope=self.scope,
            resolver=self._resolver,
        )
        self._servers[spec.name] = server
        return server

    async def remove(self, name: str) -> None:
        server = self.get(name)
        await server.stop()
        server.log.close()
        del self._servers[name]

    def get(self, name: str) -> ManagedServer:
        try:
            return self._servers[name]
        except KeyError:
            raise ServerNotFound(name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._servers

    def servers(self) -> Iterable[ManagedServer]:
        return tuple(self._servers.values())

    def statuses(self) -> list[ServerStatus]:
        return [s.status() for s in self._servers.values()]

    def running_names(self) -> list[str]:
        return [s.name for s in self._servers.values() if s.state.is_active]

    async def stop_all(self) -> None:
        await asyncio.gather(*(s.stop() for s in self._servers.values()), return_exceptions=True)

    async def aclose(self) -> None:
        await self.stop_all()
        for s in self._servers.values():
            s.log.close()
        for task in (self._reaper, self._sampler):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._reaper = self._sampler = None
        if self._watchdog is not None:
            await self._watchdog.aclose()

    def total_rss(self) -> int:
        """Resident bytes of every server's process tree, as last sampled."""
        return sum(s.rss_bytes or 0 for s in self._servers.values())

    async def sample_memory(self) -> None:
        """Sample every running server's tree RSS now (off the event loop's thread)."""
        servers = list(self._servers.values())
        targets = {s.name: t for s in servers if (t := s.memory_target()) is not None}
        found = await asyncio.to_thread(memory.sample, targets) if targets else {}
        for server in servers:
            # A process that ended meanwhile has no memory; one started meanwhile waits.
            now = server.memory_target()
            server.rss_bytes = found.get(server.name) if now == targets.get(server.name) else None

    async def _sample_memory(self) -> None:
        while True:
            try:
                await self.sample_memory()
            except Exception:  # a /proc surprise must not end sampling for good
                log.exception("could not sample server memory")
            await asyncio.sleep(self._memory_interval)

    async def _reap_adopted(self) -> None:
        """Reap descendants of our servers that were re-parented to us (we are their
        subreaper) and exited on their own while their server kept running. Only PIDs
        seen alive with our scope are reaped: never a child asyncio waits for."""
        entry = f"{tree.SCOPE_VAR}={self.scope}:".encode()
        while True:
            await asyncio.sleep(self._reap_interval)
            for st in tree.own_children():
                if st.pid in self._leaders:
                    continue
                if st.state == "Z":
                    if st.pid in self._adopted:
                        tree.reap([st.pid])
                        self._adopted.discard(st.pid)
                elif st.pid not in self._adopted and tree.has_scope(st.pid, entry):
                    self._adopted.add(st.pid)

    def _on_pgid(self, pgid: int, alive: bool) -> None:
        if alive:
            self._leaders.add(pgid)
        else:
            self._leaders.discard(pgid)
        if self._watchdog is None:
            return
        if alive:
            self._watchdog.watch(pgid)
        else:
            self._watchdog.unwatch(pgid)


__all__ = ["ManagedServer", "ServerState", "ServerStatus", "Supervisor"]
