"""Request timeouts of a stdio server's requests in flight (MCP 2025-11-25
basic/lifecycle, "Timeouts": a request SHOULD time out, and MAY have its clock reset by
progress notifications).

Each request carries its own deadline (``Pending.deadline``, pushed back on progress);
one timer per mux wakes at the earliest one, not one timer per request: call_later +
cancel for every request showed up in the profile (the cancelled handles stay in the
loop's heap until it is rebuilt).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from switchboard.gateway.channels import Pending


class Deadlines:
    """Calls ``expire(upstream_id)`` for each request of ``pending`` past its deadline."""

    __slots__ = ("_at", "_expire", "_handle", "_loop", "_pending")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        pending: Mapping[int, Pending],
        expire: Callable[[int], None],
    ) -> None:
        self._loop = loop
        self._pending = pending
        self._expire = expire
        self._handle: asyncio.TimerHandle | None = None
        self._at = 0.0

    def watch(self, deadline: float) -> None:
        """A request due at ``deadline`` (loop time) is in flight."""
        if self._handle is None or deadline < self._at:
            self._arm(deadline)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _arm(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._at = when
        self._handle = self._loop.call_at(when, self._sweep)

    def _sweep(self) -> None:
        """Time out what is due; sleep until the next deadline."""
        self._handle = None
        now = self._loop.time() + 0.001  # the loop may run a timer a hair early
        pending = self._pending
        due = []
        upcoming: float | None = None
        for upstream_id, p in pending.items():
            if p.deadline <= now:
                due.append(upstream_id)
            elif upcoming is None or p.deadline < upcoming:
                upcoming = p.deadline
        # Those still in line first: a running one's end would start them otherwise.
        due.sort(key=lambda i: pending[i].line is None)
        for upstream_id in due:
            self._expire(upstream_id)
        if upcoming is not None and self._handle is None:
            self._arm(upcoming)
