"""Containing a server's whole process tree on Linux (issue 12.9).

A server runs in its own session and process group, but any descendant can call
``setsid()`` and leave both. Three things keep track of such escapes:

* every server process gets ``SWITCHBOARD_SCOPE=<engine scope>:<server scope>`` in its
  environment; descendants inherit it (``/proc/PID/environ`` is the environment the
  process was started with), so "everything this server started" can be found again
  after re-parenting, by the engine (per server) and by the watchdog (per engine);
* the engine is a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``, Linux 3.4+,
  set in the engine itself, never in a forked child): orphaned descendants are
  re-parented to the engine instead of init, so ancestry stays visible and the
  engine reaps the ones it kills (see :func:`reap`);
* before signalling, the server's descendants are collected by walking ``/proc``
  (parent links, plus the leader's process group and session); PIDs are kept with
  their start time so a recycled PID is never signalled.

Other platforms get the process group only (see docs/ARCHITECTURE-supervision.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sys
from collections.abc import Iterable

log = logging.getLogger("switchboard.supervisor")

SCOPE_VAR = "SWITCHBOARD_SCOPE"
PR_SET_CHILD_SUBREAPER = 36

Members = dict[int, int]
"""pid -> start time (clock ticks since boot, /proc/PID/stat field 22)."""


def supported() -> bool:
    return sys.platform.startswith("linux") and os.path.isdir("/proc/self")


def set_subreaper() -> bool:
    """Make this process the child subreaper of its descendants. Linux only."""
    if not supported():
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    except (OSError, AttributeError) as exc:
        log.warning("cannot become child subreaper (%s); escaped processes go to init", exc)
        return False
    return True


class Stat:
    """The fields of /proc/PID/stat we use."""

    __slots__ = ("pgid", "pid", "ppid", "sid", "start", "state")

    def __init__(self, pid: int, fields: list[str]) -> None:
        # fields start at field 3 (state): see proc(5).
        self.pid = pid
        self.state = fields[0]
        self.ppid = int(fields[1])
        self.pgid = int(fields[2])
        self.sid = int(fields[3])
        self.start = int(fields[19])


def stat(pid: int) -> Stat | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    try:
        return Stat(pid, data[data.rindex(b")") + 2 :].decode().split())
    except (ValueError, IndexError):
        return None


def start_time(pid: int) -> int | None:
    """The start time of ``pid`` (None without /proc or when it is gone)."""
    st = stat(pid) if supported() else None
    return st.start if st is not None else None


def snapshot() -> dict[int, Stat]:
    out: dict[int, Stat] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if name.isdigit():
            st = stat(int(name))
            if st is not None:
                out[st.pid] = st
    return out


def own_children() -> list[Stat]:
    """Our direct children (any thread's), from /proc/self/task/*/children when the
    kernel has it (CONFIG_PROC_CHILDREN), else from a full /proc walk."""
    me = os.getpid()
    pids: set[int] = set()
    try:
        for tid in os.listdir(f"/proc/{me}/task"):
            with open(f"/proc/{me}/task/{tid}/children") as fh:
                pids.update(int(p) for p in fh.read().split())
    except OSError:
        return [st for st in snapshot().values() if st.ppid == me]
    return [st for st in map(stat, pids) if st is not None and st.ppid == me]


def has_scope(pid: int, needle: bytes) -> bool:
    """Does the environment ``pid`` started with contain an entry starting with needle?"""
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            env = fh.read()
    except OSError:
        return False
    return env.startswith(needle) or b"\0" + needle in env


def members(leader: int, start: int | None, scope: bytes | None) -> Members:
    """Every live process that belongs to the server whose leader is ``leader`` (started
    at ``start``; a dead or recycled leader PID is not followed): the leader and its
    descendants, the members of its process group and session (a PID is not reused
    while a group or session of that id exists), and every process whose environment
    carries ``scope`` (a whole ``SWITCHBOARD_SCOPE=...\\0`` entry), with descendants."""
    procs = snapshot()
    me = os.getpid()
    found: set[int] = set()
    for st in procs.values():
        if st.pid == me or st.state == "Z":
            continue
        if (
            (st.pid == leader and st.start == start)
            or leader in (st.pgid, st.sid)
            or (scope is not None and has_scope(st.pid, scope))
        ):
            found.add(st.pid)
    children: dict[int, list[int]] = {}
    for st in procs.values():
        children.setdefault(st.ppid, []).append(st.pid)
    todo = list(found)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found and child != me and procs[child].state != "Z":
                found.add(child)
                todo.append(child)
    return {pid: procs[pid].start for pid in found if pid in procs}


def kill(pids: Members, sig: int, skip_group: int | None = None) -> None:
    """Signal each process that still has the start time it was recorded with (except
    members of process group ``skip_group``, signalled as a group already)."""
    for pid, start in pids.items():
        st = stat(pid)
        if st is None or st.start != start or st.state == "Z" or st.pgid == skip_group:
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def alive(pids: Members) -> Members:
    out = {}
    for pid, start in pids.items():
        st = stat(pid)
        if st is not None and st.start == start and st.state != "Z":
            out[pid] = start
    return out


def reap(pids: Iterable[int]) -> None:
    """Collect the exit status of adopted children among ``pids`` that have exited.

    Only for PIDs that asyncio does not wait for (not a server's leader): those became
    our children by re-parenting (we are their subreaper). ``WNOHANG`` never blocks;
    a PID that is not our child is skipped."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG)
