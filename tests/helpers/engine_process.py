"""``switchboard serve`` as a separate process, for tests that kill, squat or race it.

Its environment never reaches the person's keyring (the fail backend: the engine keeps
its keys and first-party secret in owner-only files, as on a machine without one) and
never asks a login shell for PATH.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ENGINE_ENV = {
    **os.environ,
    "SWITCHBOARD_NO_LOGIN_SHELL": "1",
    "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
}
"""For the engine and CLI processes of a test."""


def serve(home: Path) -> subprocess.Popen[str]:
    """Start ``switchboard --home HOME serve --port 0`` (stdout and stderr in one pipe)."""
    return subprocess.Popen(
        [sys.executable, "-m", "switchboard", "--home", str(home), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENGINE_ENV,
    )


def wait_ready(proc: subprocess.Popen[str]) -> str:
    """The engine's URL once it says it is ready; AssertionError if it exits first."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if "ready at" in line:
            return line.split("ready at ", 1)[1].split()[0]
    raise AssertionError(f"engine did not start: exit {proc.wait()}")


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` (SIGKILL after 30 s) and reap the process."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


__all__ = ["ENGINE_ENV", "serve", "stop", "wait_ready"]
