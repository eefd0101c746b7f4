"""Issue 12.5: one engine per home. A second ``serve`` (or the GUI's engine) on a home that
already has one exits non-zero naming the first one's PID, without starting any server a
second time or touching engine.json; the lock dies with its holder (``kill -9``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from switchboard.core.errors import EngineAlreadyRunning
from switchboard.core.paths import AppPaths
from switchboard.engine import Engine
from switchboard.homelock import HomeLock
from tests.conftest import FIXTURES, make_test_engine
from tests.helpers.engine_process import ENGINE_ENV, serve, stop, wait_ready

pytestmark = pytest.mark.timeout(120)

ENV = ENGINE_ENV


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "switchboard", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=ENV,
    )


def _spawns(record: Path) -> list[int]:
    return [int(x) for x in record.read_text().split()] if record.exists() else []


def _wait_for(cond: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_a_second_serve_on_the_same_home_refuses_and_spawns_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    record = tmp_path / "spawns"
    # Every start of the server appends its PID to ``record``, then becomes the echo server.
    script = f'echo $$ >> "{record}"; exec "{sys.executable}" -u "{FIXTURES / "echo_server.py"}"'
    assert _cli(home, "add", "echo", "--", "/bin/sh", "-c", script).returncode == 0
    first = serve(home)
    second: subprocess.Popen[str] | None = None
    try:
        url = wait_ready(first)
        assert _cli(home, "start", "echo").returncode == 0  # running, and restored on start
        _wait_for(lambda: len(_spawns(record)) == 1)
        endpoint = (home / "data" / "engine.json").read_bytes()

        second = serve(home)
        out, _ = second.communicate(timeout=60)
        assert second.returncode != 0
        assert f"PID {first.pid}" in out and "already runs" in out, out
        assert "Traceback" not in out
        # Nothing was touched: no second spawn, engine.json still the first one's.
        assert (home / "data" / "engine.json").read_bytes() == endpoint
        time.sleep(0.5)  # a second engine restoring servers would have spawned by now
        assert len(_spawns(record)) == 1
        assert json.loads(endpoint)["pid"] == first.pid and json.loads(endpoint)["url"] == url
        status = _cli(home, "status")
        assert f"pid {first.pid}" in status.stdout, status

        # The lock dies with its holder: after kill -9 a new engine starts (and restores).
        first.send_signal(signal.SIGKILL)
        first.wait()
        third = serve(home)
        try:
            wait_ready(third)
            _wait_for(lambda: len(_spawns(record)) == 2)
            status = _cli(home, "status")
            assert f"pid {third.pid}" in status.stdout, status
        finally:
            stop(third)
    finally:
        stop(first, signal.SIGKILL)
        if second is not None and second.poll() is None:
            second.kill()
            second.communicate()


async def test_a_second_engine_in_process_refuses_before_touching_anything(
    engine: Engine, paths: AppPaths
) -> None:
    # The GUI builds its engine the same way (application.run_gui -> Engine.start).
    endpoint = paths.endpoint_file.read_bytes()
    other = make_test_engine(paths)
    with pytest.raises(EngineAlreadyRunning, match=f"PID {os.getpid()}"):
        await other.start()
    assert paths.endpoint_file.read_bytes() == endpoint
    assert other.listener is None and other.state == "closed"
    await other.aclose()  # closing the refused one does not release the first one's lock
    with pytest.raises(EngineAlreadyRunning):
        HomeLock(paths.lock_file).acquire()


async def test_the_lock_is_released_on_close(paths: AppPaths) -> None:
    first = make_test_engine(paths)
    await first.start()
    await first.aclose()
    again = make_test_engine(paths)
    await again.start()
    try:
        assert paths.lock_file.read_text().strip() == str(os.getpid())
    finally:
        await again.aclose()
