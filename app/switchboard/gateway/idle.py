"""Idle sleep of on-demand servers (issue 16.2): who has been unused for ``sleep_after``.

The gateway knows what clients do with a server: its mux holds the requests in flight
(``pending``), the requests the server made of clients and waits on
(``server_requests``), the mux's own calls (re-initialization), and every session with
the time of its last request or notification (``Session.last_active``). A server is
*busy* while any of the first three is non-empty; it is *used* whenever a session
appears, ends or makes a request. :class:`IdleSleeper` samples that every few
seconds and puts an on-demand server to sleep (``ManagedServer.sleep``) once it was
neither busy nor used for its ``sleep_after`` minutes.

Open standalone streams (a Streamable HTTP GET stream, a legacy SSE stream) do not keep
a server awake: clients hold them open for the whole life of a session, so counting
them would keep any connected server up forever. They belong to the gateway, not to
the process, so they stay open through the sleep and carry the server's messages again
after the wake; the mux re-initializes the new process and replays the live resource
subscriptions (``mux.py``). A request's own response stream is a request in flight.

Time comes from an injected :class:`~switchboard.supervisor.clock.Clock`, so tests drive
:meth:`IdleSleeper.check` without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable

from switchboard.core.spec import StartMode
from switchboard.core.state import ServerState
from switchboard.gateway.mux import StdioMux
from switchboard.supervisor.clock import Clock
from switchboard.supervisor.process import ManagedServer

log = logging.getLogger("switchboard.gateway")

MAX_INTERVAL = 30.0
"""Longest pause between checks (a server sleeps at most this late)."""
MIN_INTERVAL = 0.2


Marker = tuple[int | None, int, float]
"""What changes when a server is used: (pid, number of sessions, latest session use)."""


def activity(mux: StdioMux | None, pid: int | None) -> tuple[bool, Marker]:
    """(busy now, marker of use) of a server from its mux."""
    if mux is None:
        return False, (pid, 0, 0.0)
    busy = bool(mux.pending or mux.server_requests or mux._internal)
    sessions = mux.sessions.values()
    latest = max((s.last_active for s in sessions), default=0.0)
    return busy, (pid, len(mux.sessions), latest)


@dataclasses.dataclass(slots=True)
class _Seen:
    marker: Marker
    since: float


class IdleSleeper:
    """Puts idle on-demand servers to sleep; :meth:`run` until cancelled."""

    def __init__(
        self,
        servers: Callable[[], Iterable[ManagedServer]],
        mux: Callable[[str], StdioMux | None],
        put_to_sleep: Callable[[str], Awaitable[object]],
        clock: Clock,
    ) -> None:
        self._servers = servers
        self._mux = mux
        self._put_to_sleep = put_to_sleep
        self._clock = clock
        self._seen: dict[str, _Seen] = {}
        self._due_markers: dict[str, Marker] = {}
        self._poked = asyncio.Event()

    def poke(self) -> None:
        """The servers changed (one became on demand, a ``sleep_after`` changed): check
        now and pick the next interval again, rather than at the end of the current one."""
        self._poked.set()

    def check(self) -> list[str]:
        """The names of the on-demand servers idle for their ``sleep_after`` now."""
        now = self._clock.now()
        due: list[str] = []
        watched: set[str] = set()
        for server in self._servers():
            spec = server.spec
            if spec.start is not StartMode.ON_DEMAND or server.state is not ServerState.RUNNING:
                continue
            name = server.name
            watched.add(name)
            busy, marker = activity(self._mux(name), server.pid)
            seen = self._seen.get(name)
            if busy or seen is None or seen.marker != marker:
                self._seen[name] = _Seen(marker, now)
            elif now - seen.since >= spec.sleep_after * 60.0:
                due.append(name)
                self._due_markers[name] = marker
                del self._seen[name]
        for name in set(self._seen) - watched:
            del self._seen[name]
        return due

    def interval(self) -> float:
        """Seconds to the next check: a quarter of the shortest ``sleep_after``."""
        shortest = min(
            (s.spec.sleep_after for s in self._servers() if s.spec.start is StartMode.ON_DEMAND),
            default=MAX_INTERVAL,
        )
        return max(MIN_INTERVAL, min(MAX_INTERVAL, shortest * 60.0 / 4))

    def _still_idle(self, name: str, marker: Marker) -> bool:
        for server in self._servers():
            if server.name == name and server.state is ServerState.RUNNING:
                busy, now = activity(self._mux(name), server.pid)
                return not busy and now == marker
        return False

    async def tick(self) -> None:
        """One check, and the sleeps it calls for (each server is checked again right
        before: a call may have come in while an earlier one was being stopped)."""
        due = self.check()
        markers = {n: self._due_markers.pop(n) for n in due}
        for name in due:
            if not self._still_idle(name, markers[name]):
                continue
            log.info("server %s: idle, going to sleep", name)
            try:
                await self._put_to_sleep(name)
            except Exception:
                log.exception("could not put server %s to sleep", name)

    async def run(self) -> None:
        while True:
            pause = asyncio.ensure_future(self._clock.sleep(self.interval()))
            poked = asyncio.ensure_future(self._poked.wait())
            try:
                await asyncio.wait({pause, poked}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                pause.cancel()
                poked.cancel()
            self._poked.clear()
            await self.tick()


class SleeperTask:
    """The sleeper running as a task of the current loop (started/stopped by the engine)."""

    def __init__(self, sleeper: IdleSleeper) -> None:
        self.sleeper = sleeper
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self.sleeper.run(), name="switchboard-idle-sleep"
            )

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
