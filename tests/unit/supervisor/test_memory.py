"""Tree RSS (supervisor/memory.py, issue 16.3) of real processes: the leader and what
it started count; a recycled leader PID does not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from switchboard.supervisor import memory, tree

PARENT = (
    "import subprocess, sys, time\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "print('ok', flush=True)\n"
    "time.sleep(60)\n"
)


def _children(pid: int) -> list[int]:
    for _ in range(200):
        kids = [p for p, st in tree.snapshot().items() if st.ppid == pid]
        if kids:
            return kids
        time.sleep(0.02)
    return []


def test_the_whole_tree_counts_and_a_recycled_pid_does_not() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, start_new_session=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ok"
        kids = _children(proc.pid)
        assert len(kids) == 1
        start = tree.start_time(proc.pid)
        target = memory.Target(proc.pid, start, b"SWITCHBOARD_SCOPE=none:none\0")
        found = memory.sample({"srv": target})
        both = memory.rss_of(proc.pid) + memory.rss_of(kids[0])
        assert memory.rss_of(kids[0]) > 0
        # Sampled a moment apart: the same within a few pages.
        assert abs(found["srv"] - both) < 2 * 1024 * 1024, (found, both)
        assert found["srv"] > memory.rss_of(proc.pid)
        assert start is not None
        stale = memory.Target(proc.pid, start + 1, target.scope)  # another process's PID
        assert memory.sample({"srv": stale}) == {}
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def test_nothing_to_sample() -> None:
    assert memory.sample({}) == {}
    assert memory.rss_of(2**22 + 12345) == 0  # no such process
