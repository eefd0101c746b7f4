"""Stopping one server process together with everything it started (issue 12.9).

The order matters: collect the server's processes first (while ancestry still leads
to the leader), SIGTERM the process group and every escaped process, give them the
grace period, SIGKILL what is left, then reap the processes re-parented to us (the
engine is their subreaper; tree.py). Without /proc (macOS) only the group is signalled.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from typing import Any

from switchboard.supervisor import tree


class ProcessTree:
    """One server process (the leader of its own session and group) and its tree."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        scope_entry: bytes,
        leader_start: int | None,
        grace: float,
        say: Callable[[str], None],
    ) -> None:
        self.proc = proc
        self._scope_entry = scope_entry
        self.leader_start = leader_start
        self._grace = grace
        self._say = say

    def members(self) -> tree.Members:
        """The live processes of this tree, escaped ones included (Linux)."""
        if not tree.supported():
            return {}
        return tree.members(self.proc.pid, self.leader_start, self._scope_entry)

    async def terminate(self) -> None:
        """SIGTERM the group and every escaped descendant, SIGKILL after the grace."""
        proc = self.proc
        group = self.members()  # before signalling: ancestry is still intact
        self.signal_group(signal.SIGTERM)
        tree.kill(group, signal.SIGTERM, skip_group=proc.pid)
        deadline = asyncio.get_running_loop().time() + self._grace
        try:
            await asyncio.wait_for(wait_exit(proc), self._grace)
        except TimeoutError:
            self._say(f"did not exit {self._grace:g}s after SIGTERM; sending SIGKILL")
            self.signal_group(signal.SIGKILL)
            await wait_exit(proc)
        # The group may hold children (npx -> node) that outlived the leader.
        self.signal_group(signal.SIGKILL)
        await self._finish(group, deadline)

    async def clean_up(self) -> None:
        """The leader exited on its own: stop what it left behind (before a restart)."""
        group = self.members()
        if not group:
            return
        self._say(f"stopping {len(group)} process(es) pid {self.proc.pid} left behind")
        tree.kill(group, signal.SIGTERM)
        await self._finish(group, asyncio.get_running_loop().time() + self._grace)

    async def _finish(self, group: tree.Members, deadline: float) -> None:
        """Give the rest until ``deadline`` to exit, SIGKILL them, reap the adopted."""
        if not tree.supported():
            return
        loop = asyncio.get_running_loop()
        group.update(self.members())  # started since the first look
        group.pop(self.proc.pid, None)  # asyncio reaps the leader
        while tree.alive(group) and loop.time() < deadline:
            tree.reap(group)
            await asyncio.sleep(0.02)
        left = tree.alive(group)
        if left:
            tree.kill(left, signal.SIGKILL)
        for _ in range(250):
            tree.reap(group)
            if not tree.alive(group):
                break
            await asyncio.sleep(0.02)
        tree.reap(group)

    def signal_group(self, sig: int) -> None:
        proc = self.proc
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                if proc.returncode is None:
                    proc.send_signal(sig)


async def wait_exit(proc: asyncio.subprocess.Process) -> int:
    """The exit code of ``proc`` as soon as it exits.

    ``Process.wait()`` (Python 3.11) also waits until every pipe is closed, which never
    happens while an escaped descendant holds the server's stdout or stderr. On Linux a
    pidfd (``pidfd_open``, Linux 5.3) becomes readable when the process exits; its exit
    code follows from asyncio's child watcher (which reaps it) a moment later."""
    if proc.returncode is not None:
        return proc.returncode
    wait = asyncio.ensure_future(proc.wait())
    try:
        try:
            fd = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):
            return await wait
        loop = asyncio.get_running_loop()
        gone: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            if not gone.done():
                gone.set_result(None)

        loop.add_reader(fd, readable)
        try:
            either: list[asyncio.Future[Any]] = [wait, gone]
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            loop.remove_reader(fd)
            os.close(fd)
        while proc.returncode is None:
            await asyncio.sleep(0.005)
        return proc.returncode
    finally:
        if not wait.done():
            wait.cancel()
