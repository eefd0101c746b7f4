"""Crash-safe file writes: temp file in the same directory, fsync, rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from switchboard.core.errors import StoreError


def atomic_write(path: Path, data: bytes, *, mode: int = 0o600, backup: Path | None = None) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new file, never half.

    If ``backup`` is given, the current file (when it exists) is first hard-copied there.
    On failure (disk full, permissions) the original file is untouched and a StoreError
    names the file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        try:
            _fchmod(fd, mode)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if backup is not None and path.exists():
            _copy_atomic(path, backup, mode)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise StoreError(
            f"Could not write {path}: {exc.strerror or exc}.",
            hint="Check free disk space and permissions; the previous file was kept.",
        ) from exc


def _copy_atomic(src: Path, dst: Path, mode: int) -> None:
    data = src.read_bytes()
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    try:
        _fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dst)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _fchmod(fd: int, mode: int) -> None:
    # Windows has no fchmod; there the user's profile ACLs already keep files private.
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
