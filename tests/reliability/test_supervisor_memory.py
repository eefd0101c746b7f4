"""Long stderr lines must not grow the engine (issue 12.6): measured as the VmRSS of a
real engine process before and after a server floods its stderr."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.conftest import fixture_cmd
from tests.helpers.engine_process import serve, wait_ready
from tests.integration.test_supervisor_real import _cli, _reap

MiB = 1 << 20


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _logged(home: Path, name: str, text: str) -> bool:
    for path in (home / "logs").glob(f"{name}.log*"):
        try:
            if text in path.read_text(errors="replace"):
                return True
        except FileNotFoundError:  # rotated away meanwhile
            continue
    return False


def test_long_stderr_lines_do_not_grow_the_engine(tmp_path: Path) -> None:
    home = tmp_path / "home"
    # 150 lines of 1 MiB, then one 96 MiB line (over the old 64 MiB reader limit).
    cmd, args = fixture_cmd("rel_stderr_flood.py", "150", str(MiB), str(96 * MiB))
    proc = serve(home)
    try:
        wait_ready(proc)
        assert _cli(home, "add", "flood", "--", cmd, *args).returncode == 0
        before = _rss(proc.pid)
        assert _cli(home, "start", "flood").returncode == 0
        for _ in range(6000):
            if _logged(home, "flood", "flood done"):
                break
            time.sleep(0.05)
        assert _logged(home, "flood", "flood done")
        grown = _rss(proc.pid) - before
        print(f"engine RSS grew by {grown / MiB:.1f} MiB")
        assert grown < 40 * MiB, f"engine RSS grew by {grown / MiB:.0f} MiB"
        # The lines are kept, truncated with a marker, in memory and on disk.
        out = _cli(home, "logs", "flood", "-n", "3").stdout
        assert "[truncated 1,0" in out and "flood done" in out
        assert _logged(home, "flood", "[truncated 100,6")  # the 96 MiB line
        disk = sum(p.stat().st_size for p in (home / "logs").glob("flood.log*"))
        assert disk < 8 * MiB
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        _reap(proc)
