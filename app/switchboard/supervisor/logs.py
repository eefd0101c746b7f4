"""Per-server logs: an in-memory ring buffer plus a size-rotated file."""

from __future__ import annotations

import collections
import contextlib
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from switchboard.core.events import LogLine, Stream

log = logging.getLogger("switchboard.supervisor")

REDACTED = "••••••"


class Redactor:
    """Replaces known secret values in text. Values shorter than 4 chars are ignored
    (they would garble ordinary output and are not worth protecting this way)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._values = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, REDACTED)
        return text


MEMORY_BYTES = 2 * 1024 * 1024
"""In-memory log budget per server (text bytes, about the memory the lines cost)."""

LINE_OVERHEAD = 100
"""What one LogLine costs beyond its text (object, str header, deque slot), roughly."""


class ServerLog:
    """Keeps the last lines in memory, at most ``capacity`` lines and about
    ``max_memory`` bytes (the newest line is always kept), and appends every line to
    a file that rotates at ``max_bytes`` (``name.log`` -> ``name.log.1`` ...
    ``.{backups}``). Lines arrive already cut to a display length (see ``lines.py``)."""

    def __init__(
        self,
        path: Path | None,
        capacity: int = 2000,
        max_bytes: int = 2_000_000,
        backups: int = 3,
        max_memory: int = MEMORY_BYTES,
    ) -> None:
        self.path = path
        self.lines: collections.deque[LogLine] = collections.deque()
        self._capacity = capacity
        self._max_memory = max_memory
        self.memory_bytes = 0
        self._max_bytes = max_bytes
        self._backups = backups
        self._fh: IO[str] | None = None
        self._size = 0
        self._broken = False

    def append(self, line: LogLine) -> None:
        lines = self.lines
        lines.append(line)
        self.memory_bytes += len(line.text) + LINE_OVERHEAD
        while len(lines) > 1 and (
            self.memory_bytes > self._max_memory or len(lines) > self._capacity
        ):
            self.memory_bytes -= len(lines.popleft().text) + LINE_OVERHEAD
        if self.path is None or self._broken:
            return
        try:
            if self._fh is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = open(self.path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
                os.chmod(self.path, 0o600)
                self._size = self._fh.tell()
            text = f"{line.time:.3f} {line.stream.value} {line.text}\n"
            self._fh.write(text)
            self._size += len(text)
            if self._size >= self._max_bytes:
                self._rotate()
        except OSError as exc:
            # A full disk must not take the server down; say so once.
            self._broken = True
            log.error("cannot write log file %s (%s); keeping logs in memory only", self.path, exc)

    def tail(self, n: int) -> list[LogLine]:
        if n <= 0:
            return []
        return list(self.lines)[-n:]

    def last_text(self, n: int = 5, stream: Stream | None = None) -> str:
        """The last ``n`` lines (of ``stream`` only, if given) as text."""
        if stream is None:
            return "\n".join(line.text for line in self.tail(n))
        picked = [line.text for line in self.lines if line.stream is stream]
        return "\n".join(picked[-n:]) if n > 0 else ""

    def _rotate(self) -> None:
        assert self.path is not None
        self.close()
        for i in range(self._backups, 0, -1):
            src = self.path if i == 1 else self.path.with_name(f"{self.path.name}.{i - 1}")
            dst = self.path.with_name(f"{self.path.name}.{i}")
            if src.exists():
                os.replace(src, dst)
        self._size = 0

    def close(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.close()
            self._fh = None
