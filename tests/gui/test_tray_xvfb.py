"""The real tray: the app on an X server (Xvfb) with a tray host (trayer), toggling a
real server process from the tray menu with real mouse clicks (xdotool).

The test session runs offscreen, so the app runs in a subprocess on its own Xvfb
display with ``QT_QPA_PLATFORM=xcb`` (tests/gui/tray_driver.py drives it).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from switchboard.core.paths import AppPaths
from switchboard.core.spec import ServerSpec, Settings
from switchboard.store.config import ConfigStore
from tests.conftest import fixture_cmd

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.tray,
    pytest.mark.skipif(
        not (shutil.which("Xvfb") and shutil.which("trayer")),
        reason="needs Xvfb and trayer (apt install xvfb trayer)",
    ),
]


@pytest.fixture
def tray_display() -> Iterator[str]:
    """A private Xvfb display with trayer docked on it."""
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        number = f.readline().strip()
    assert number, "Xvfb did not report a display number"
    display = f":{number}"
    env = dict(os.environ, DISPLAY=display)
    trayer = subprocess.Popen(
        [
            "trayer",
            "--edge",
            "top",
            "--align",
            "right",
            "--widthtype",
            "pixel",
            "--width",
            "120",
            "--heighttype",
            "pixel",
            "--height",
            "28",
            "--transparent",
            "false",
            "--SetDockType",
            "true",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield display
    finally:
        for proc in (trayer, xvfb):  # the tray host before its X server
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Driver:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc

    def read(self, timeout: float = 30.0) -> dict[str, Any]:
        import selectors

        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sel.select(timeout=0.2):
                line = self.proc.stdout.readline()
                if not line:
                    break
                if line.startswith("{"):
                    event: dict[str, Any] = json.loads(line)
                    assert event.get("event") != "error", event
                    return event
        raise AssertionError(f"no event from the app (exit code {self.proc.poll()})")

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _launch(tray_display: str, home: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """The app (tray_driver) on the tray display, with one echo server configured."""
    paths = AppPaths.default(home)
    paths.ensure()
    cmd, args = fixture_cmd("echo_server.py")
    spec = ServerSpec(name="echo", command=cmd, args=args)
    ConfigStore(paths.config_file).update(  # port 0: never a fixed port in tests
        lambda c: dataclasses.replace(c.with_server(spec), settings=Settings(port=0))
    )
    env = dict(
        os.environ,
        DISPLAY=tray_display,
        QT_QPA_PLATFORM="xcb",
        SWITCHBOARD_NO_LOGIN_SHELL="1",
        PYTHONPATH=str(ROOT),
    )
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.gui.tray_driver", str(home)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return proc, env


def _cleanup(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()


def test_toggle_a_real_server_from_the_tray_menu(tray_display: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    proc, env = _launch(tray_display, home)
    driver = Driver(proc)
    try:
        ready = driver.read(60)
        assert ready["event"] == "ready" and ready["available"] is True
        # Real clicks through the X server when xdotool is there (bootstrap installs it).
        assert ready["clicker"] == ("xdotool" if shutil.which("xdotool") else "qtest")
        _x, y, w, h = ready["tray"]
        assert w > 0 and h > 0 and y < 28  # docked in trayer's bar at the top

        driver.send("click echo")
        started = driver.read()
        assert started["state"] == "running"
        pid = started["pid"]
        assert pid and _alive(pid)
        assert "echo_server.py" in Path(f"/proc/{pid}/cmdline").read_text()

        driver.send("click echo")
        stopped = driver.read()
        assert stopped["state"] == "stopped" and stopped["pid"] is None
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid)

        # A second launch hands over to the running app, which shows its window.
        driver.send("window?")
        assert driver.read() == {"event": "window", "visible": False}
        second = subprocess.run(
            [sys.executable, "-m", "switchboard", "--home", str(home)],
            env=env,
            capture_output=True,
            timeout=60,
        )
        assert second.returncode == 0, second.stderr
        driver.send("window?")
        assert driver.read() == {"event": "window", "visible": True}

        driver.send("click echo")  # running again when Quit is clicked...
        pid = driver.read()["pid"]
        driver.send("quit")
        assert driver.read()["event"] == "exited"
        assert proc.wait(30) == 0
        assert not _alive(pid)  # ... and Quit stopped it gracefully
    finally:
        _cleanup(proc)


def test_sigterm_stops_the_servers_and_exits(tray_display: str, tmp_path: Path) -> None:
    proc, _env = _launch(tray_display, tmp_path / "home")
    driver = Driver(proc)
    try:
        assert driver.read(60)["event"] == "ready"
        driver.send("click echo")
        pid = driver.read()["pid"]
        assert pid and _alive(pid)
        proc.send_signal(signal.SIGTERM)
        assert driver.read()["event"] == "exited"
        assert proc.wait(30) == 0
        assert not _alive(pid)  # no server process outlives the app
    finally:
        _cleanup(proc)
