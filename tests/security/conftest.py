"""A real engine in a subprocess (``switchboard --home DIR serve --port 0``) for the
security tests that measure the engine process itself (its memory, its sockets)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from switchboard.core.paths import AppPaths
from tests.conftest import FIXTURES
from tests.helpers.engine_process import ENGINE_ENV

SWITCHBOARD = str(Path(sys.executable).with_name("switchboard"))


@dataclass
class EngineProcess:
    """A running ``switchboard serve``: its pid, base URL and home."""

    pid: int
    url: str
    home: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def rss_kib(self) -> int:
        """Resident set size of the engine (``VmRSS`` in /proc; psutil is not a dependency)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = ENGINE_ENV
    return subprocess.run(
        [SWITCHBOARD, "--home", str(home), *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def engine_proc(tmp_path: Path) -> Iterator[EngineProcess]:
    """``switchboard serve`` with one stdio server, ``echo`` (auth off, started)."""
    home = tmp_path / "home"
    echo = str(FIXTURES / "echo_server.py")
    cli(home, "add", "--auth", "off", "echo", "--", sys.executable, "-u", echo)
    env = ENGINE_ENV
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [SWITCHBOARD, "--home", str(home), "serve", "--port", "0", "--no-restore"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    endpoint = AppPaths.default(home).endpoint_file
    try:
        deadline = time.monotonic() + 60
        url = ""
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                data = json.loads(endpoint.read_text())
            except (OSError, ValueError):
                data = {}
            if data.get("pid") == proc.pid:
                url = data["url"]
                break
            time.sleep(0.05)
        assert url, (tmp_path / "serve.log").read_text(errors="replace")
        cli(home, "start", "echo")
        yield EngineProcess(proc.pid, url, home)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
