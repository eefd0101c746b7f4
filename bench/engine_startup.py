"""Time from `switchboard serve` to ready, and the idle engine's RSS.

Baseline measured in the same run: a bare `python -c pass` start (the floor every
Python program pays). Prints absolute numbers and ratios. Not a test.

    .venv/bin/python bench/engine_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def bare_python() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - t0


def serve_once(home: str) -> tuple[float, int]:
    env = {**os.environ, "SWITCHBOARD_NO_LOGIN_SHELL": "1"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "switchboard", "--home", home, "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "ready at" in line:
            break
    ready = time.perf_counter() - t0
    time.sleep(1.0)  # let it settle to idle
    rss = rss_kib(proc.pid)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    proc.stdout.close()
    return ready, rss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    base = [bare_python() for _ in range(args.runs)]
    results = []
    with tempfile.TemporaryDirectory() as home:
        for _ in range(args.runs):
            results.append(serve_once(home))
    ready = [r for r, _ in results]
    rss = [m for _, m in results]
    b = statistics.median(base)
    r = statistics.median(ready)
    print(f"bare python start        median {b * 1e3:7.1f} ms")
    print(f"serve -> ready           median {r * 1e3:7.1f} ms  ({r / b:.1f}x bare python)")
    print(f"idle engine RSS          median {statistics.median(rss) / 1024:7.1f} MiB")


if __name__ == "__main__":
    main()
