"""One engine per home: an OS lock on ``<data_dir>/engine.lock`` that dies with its holder.

A second engine on the same home would run every restored server a second time and take
over ``engine.json``. The engine takes this lock before it touches anything else;
``flock`` (``msvcrt.locking`` on Windows) is released by the OS when the process dies,
however it dies, so a ``kill -9`` never leaves a lock behind. The holder writes its PID
into the file so the refused one can say who holds it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path

from switchboard.core.errors import EngineAlreadyRunning, StoreError

log = logging.getLogger("switchboard.engine")

# Windows: msvcrt locks byte ranges and a locked range cannot be read; lock a byte past
# the PID so the refused engine can still read it.
_WIN_LOCK_OFFSET = 64


class HomeLock:
    """Exclusive, non-blocking, process-lifetime lock on one file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise :class:`EngineAlreadyRunning` naming the holder's PID."""
        if self._fd is not None:
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(
                f"Cannot open the lock file {self.path}: {exc.strerror}.",
                hint="Check that the data directory is yours and writable.",
            ) from exc
        if not _try_lock(fd):
            holder = _read_pid(fd)
            os.close(fd)
            who = f"PID {holder}" if holder else "another process"
            raise EngineAlreadyRunning(
                f"Switchboard already runs on this home ({who} holds {self.path}).",
                hint="Use that one (the CLI talks to it), stop it first, or pass another "
                "--home for a second instance.",
            )
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as exc:
            log.warning("could not write the PID into %s: %s", self.path, exc)
        self._fd = fd

    def release(self) -> None:
        """Let go (the OS does the same when the process dies)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        _unlock(fd)
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 32).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except (OSError, ValueError):
        return None


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
