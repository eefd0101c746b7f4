"""The audit log writer: one JSON object a line, rotated by size, written off the loop.

Format (``docs/audit-log.md``): every line has ``ts`` (RFC 3339, UTC, microseconds),
``event``, and, when they apply, ``actor``, ``target``, ``outcome``, ``reason``, then
the event's own fields. Lines are appended to ``<log dir>/audit.jsonl`` (mode 0600);
when a line would take the file past ``max_bytes`` it becomes ``audit.jsonl.1`` (and
``.1`` becomes ``.2``, ... up to ``backups`` files kept), like
``logging.handlers.RotatingFileHandler``.

:meth:`AuditLog.emit` only puts the event on a queue; one daemon thread serialises and
writes (``sync=True``: written in the caller, for the short-lived CLI).
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import json
import logging
import os
import queue
import threading
from pathlib import Path
from typing import Any

from switchboard.core.paths import AppPaths

log = logging.getLogger("switchboard.audit")

FILE_NAME = "audit.jsonl"
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5

_STOP = object()


def audit_path(paths: AppPaths) -> Path:
    """Where the audit log of a home lives (never clashes with ``<server>.log``)."""
    return paths.log_dir / FILE_NAME


def rfc3339(ts: float) -> str:
    """``2026-11-30T01:33:13.123456Z`` (RFC 3339 §5.6, UTC)."""
    when = datetime.datetime.fromtimestamp(ts, datetime.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def line_of(ts: float, event: str, fields: dict[str, Any]) -> bytes:
    """One event as a line: stable keys first, then the event's own, None left out."""
    record: dict[str, Any] = {"ts": rfc3339(ts), "event": event}
    for key, value in fields.items():
        if value is not None:
            record[key] = value
    return (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode("utf-8")


class AuditLog:
    """An :class:`~switchboard.core.audit.AuditSink` writing :data:`FILE_NAME`."""

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = MAX_BYTES,
        backups: int = BACKUPS,
        sync: bool = False,
        clock: Any = None,
    ) -> None:
        import time

        self.path = path
        self.max_bytes = max_bytes
        self.backups = max(1, backups)
        self._clock = clock or time.time
        self._sync = sync
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._atexit = False
        self.failed = False
        """Set when a write failed (logged once); later events are still tried."""

    @classmethod
    def for_paths(cls, paths: AppPaths, **kwargs: Any) -> AuditLog:
        return cls(audit_path(paths), **kwargs)

    # -- the sink ------------------------------------------------------------------------
    def emit(
        self,
        event: str,
        *,
        actor: str | None = None,
        target: str | None = None,
        outcome: str | None = None,
        reason: str | None = None,
        **fields: Any,
    ) -> None:
        item = (
            self._clock(),
            event,
            {"actor": actor, "target": target, "outcome": outcome, "reason": reason, **fields},
        )
        if self._sync:
            self._write([item])
            return
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="switchboard-audit", daemon=True
                    )
                    self._thread.start()
                    if not self._atexit:
                        self._atexit = True
                        atexit.register(self.close)
        self._queue.put(item)

    # -- lifecycle -----------------------------------------------------------------------
    def flush(self) -> None:
        """Blocking: wait until every event emitted so far is written."""
        if self._thread is not None:
            done = threading.Event()
            self._queue.put(done)
            done.wait(timeout=30)

    def close(self) -> None:
        """Blocking: write what is queued and stop the thread (emit restarts it)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(timeout=10)

    # -- the writer thread ---------------------------------------------------------------
    def _run(self) -> None:
        """Write what is queued in batches (one ``write`` each); wake flushers after."""
        while True:
            item = self._queue.get()
            batch = []
            waiters: list[threading.Event] = []
            stop = False
            while True:
                if item is _STOP:
                    stop = True
                elif isinstance(item, threading.Event):
                    waiters.append(item)
                else:
                    batch.append(item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            try:
                if batch:
                    self._write(batch)
            finally:
                for waiter in waiters:
                    waiter.set()
            if stop:
                return

    def _write(self, batch: list[tuple[float, str, dict[str, Any]]]) -> None:
        data = b"".join(line_of(ts, event, fields) for ts, event, fields in batch)
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    size = os.fstat(fd).st_size
                    if size and size + len(data) > self.max_bytes:
                        os.close(fd)
                        fd = -1
                        self._rotate()
                        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                    os.write(fd, data)
                finally:
                    if fd >= 0:
                        os.close(fd)
            self.failed = False
        except OSError as exc:
            if not self.failed:
                log.error("cannot write the audit log %s: %s", self.path, exc.strerror or exc)
            self.failed = True

    def _rotate(self) -> None:
        """``audit.jsonl`` -> ``.1`` -> ``.2`` ...; the oldest beyond ``backups`` goes."""
        for n in range(self.backups - 1, 0, -1):
            src = self.path.with_name(f"{self.path.name}.{n}")
            if src.exists():
                os.replace(src, self.path.with_name(f"{self.path.name}.{n + 1}"))
        with contextlib.suppress(FileNotFoundError):
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))


__all__ = ["BACKUPS", "FILE_NAME", "MAX_BYTES", "AuditLog", "audit_path", "line_of", "rfc3339"]
