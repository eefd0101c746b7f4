"""A tiny separate process that kills our servers if the engine dies without cleanup.

The engine keeps a pipe to the watchdog's stdin and writes ``+PGID`` / ``-PGID``
lines as servers start and stop, and ``S<scope>`` once: the engine's scope, which
every server process and its descendants carry in their environment
(``SWITCHBOARD_SCOPE``, see tree.py). When the pipe closes (the engine exited,
crashed or got SIGKILL) the watchdog sends SIGTERM to every process group still
listed and to every process of the engine's scope (descendants that left their
group with ``setsid``; Linux, via /proc), then SIGKILL after a grace period, and
exits. It runs in its own session so a
terminal's Ctrl-C does not kill it before it has done its job. Its code is a
standalone string run with ``python -I -S -c`` so it needs no import path
(works the same from a venv, a Briefcase bundle or a .deb).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys

log = logging.getLogger("switchboard.supervisor")

SOURCE = r"""
import os, signal, sys, time
groups = set()
scopes = set()
for raw in sys.stdin.buffer:
    line = raw.strip()
    if not line:
        continue
    if line[:1] == b"S":
        scopes.add(line[1:])
        continue
    try:
        pgid = int(line[1:])
    except ValueError:
        continue
    if line[:1] == b"+":
        groups.add(pgid)
    elif line[:1] == b"-":
        groups.discard(pgid)
def alive(g):
    try:
        os.killpg(g, 0)
        return True
    except OSError:
        return False
def scoped():
    # Escaped descendants (setsid) carry SWITCHBOARD_SCOPE=<engine scope>:... in the
    # environment they started with (supervisor/tree.py).
    found = []
    if not scopes:
        return found
    me = os.getpid()
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open("/proc/" + name + "/environ", "rb") as fh:
                env = fh.read()
        except OSError:
            continue
        for s in scopes:
            entry = b"SWITCHBOARD_SCOPE=" + s + b":"
            if env.startswith(entry) or b"\0" + entry in env:
                found.append(int(name))
                break
    return found
def kill(pids, sig):
    for p in pids:
        try:
            os.kill(p, sig)
        except OSError:
            pass
for g in list(groups):
    try:
        os.killpg(g, signal.SIGTERM)
    except OSError:
        groups.discard(g)
kill(scoped(), signal.SIGTERM)
deadline = time.monotonic() + float(sys.argv[1] if len(sys.argv) > 1 else 3)
while time.monotonic() < deadline:
    groups = {g for g in groups if alive(g)}
    if not groups and not scoped():
        break
    time.sleep(0.05)
for g in groups:
    try:
        os.killpg(g, signal.SIGKILL)
    except OSError:
        pass
for _ in range(3):
    left = scoped()
    if not left:
        break
    kill(left, signal.SIGKILL)
    time.sleep(0.05)
"""


class Watchdog:
    """Engine side of the watchdog process."""

    def __init__(self, grace: float = 3.0) -> None:
        self._grace = grace
        self._proc: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    async def ensure_started(self) -> None:
        async with self._lock:
            if self._proc is not None and self._proc.returncode is None:
                return
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-I",
                "-S",
                "-c",
                SOURCE,
                str(self._grace),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )

    def set_scope(self, scope: str) -> None:
        """Processes whose environment has ``SWITCHBOARD_SCOPE=<scope>:...`` are ours."""
        self._write(f"S{scope}\n")

    def watch(self, pgid: int) -> None:
        self._write(f"+{pgid}\n")

    def unwatch(self, pgid: int) -> None:
        self._write(f"-{pgid}\n")

    def _write(self, text: str) -> None:
        if self._proc is None or self._proc.stdin is None or self._proc.returncode is not None:
            return
        try:
            self._proc.stdin.write(text.encode())
        except (BrokenPipeError, ConnectionResetError, RuntimeError):
            log.warning("watchdog pipe closed; orphan protection is off")

    async def aclose(self) -> None:
        """Stop the watchdog after the engine has stopped every server itself."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(Exception):
                proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), self._grace + 2)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, 9)
            await proc.wait()
