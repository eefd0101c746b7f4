"""Resident memory of each server's whole process tree (issue 16.3), from ``/proc``.

One pass over ``/proc`` serves every server: a server's processes are its leader (with
the start time it was spawned with, so a recycled PID is never counted), the members
of the leader's process group and session, their descendants, and the processes that
escaped and were re-parented to the engine (its child subreaper; ``tree.py``) whose
environment carries the server's ``SWITCHBOARD_SCOPE`` entry. Each process counts its
resident set (``/proc/PID/statm`` field 2, proc(5)); pages shared between processes of
one tree (a runtime's libraries) are counted once per process, as ``ps``/``top`` do.

Linux only; elsewhere :func:`sample` returns nothing and the UI shows no figure.
Blocking file reads: call it from a thread (the supervisor does, every few seconds).
"""

from __future__ import annotations

import dataclasses
import os

from switchboard.supervisor import tree

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """One running server: its leader PID and start time, and its scope entry
    (``SWITCHBOARD_SCOPE=<scope>\\0`` as bytes)."""

    leader: int
    start: int | None
    scope: bytes


def rss_of(pid: int) -> int:
    """Resident bytes of one process (0 when it is gone or unreadable)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            fields = fh.read().split()
        return int(fields[1]) * PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0


def sample(targets: dict[str, Target]) -> dict[str, int]:
    """Resident bytes per server name, for every target whose leader is alive."""
    if not targets or not tree.supported():
        return {}
    procs = tree.snapshot()
    me = os.getpid()
    children: dict[int, list[int]] = {}
    grouped: dict[int, list[int]] = {}  # process group or session id -> live members
    for st in procs.values():
        children.setdefault(st.ppid, []).append(st.pid)
        if st.state != "Z":
            grouped.setdefault(st.pgid, []).append(st.pid)
            if st.sid != st.pgid:
                grouped.setdefault(st.sid, []).append(st.pid)
    leaders = {t.leader for t in targets.values()}
    # Escaped processes re-parented to the engine: attributed by their scope entry.
    adopted = [
        pid for pid in children.get(me, ()) if pid not in leaders and procs[pid].state != "Z"
    ]
    out: dict[str, int] = {}
    for name, target in targets.items():
        lead = procs.get(target.leader)
        if (
            lead is None
            or lead.state == "Z"
            or (target.start is not None and lead.start != target.start)
        ):
            continue
        found = {target.leader, *grouped.get(target.leader, ())}
        found.update(pid for pid in adopted if tree.has_scope(pid, target.scope))
        todo = list(found)
        while todo:
            for child in children.get(todo.pop(), ()):
                if child not in found and child != me and procs[child].state != "Z":
                    found.add(child)
                    todo.append(child)
        found.discard(me)
        out[name] = sum(rss_of(pid) for pid in found)
    return out
