"""Per-server figures for the servers table: calls in the last hour, error rate, median
latency, and calls per minute for a sparkline.

Kept in memory by the recorder's thread as it writes (per server, one bucket per
minute, 60 of them), primed from the database at start, so the window asks for a
snapshot and never queries. The median comes from a log-scale histogram (bins
:data:`STEP` apart, about 10% resolution), so memory stays bounded whatever the load.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import math
import operator
import threading
import time
from collections.abc import Callable, Sequence

from switchboard.core.activity import ERROR, TIMEOUT, ActivityRecord

WINDOW_MINUTES = 60
STEP = 1.1
_LOG_STEP = math.log(STEP)
_PER_STEP = 1 / _LOG_STEP
_SERVER = operator.itemgetter(2)
_TS = operator.itemgetter(0)

_DURATION = operator.itemgetter(1)
_OUTCOME = operator.itemgetter(9)
_FAILED = frozenset((ERROR, TIMEOUT))


@dataclasses.dataclass(frozen=True, slots=True)
class Figures:
    """One server's last hour."""

    calls: int
    errors: int
    p50_ms: float | None
    per_minute: tuple[int, ...]
    """Calls in each of the last 60 minutes, oldest first (the sparkline)."""

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0


EMPTY = Figures(0, 0, None, (0,) * WINDOW_MINUTES)


class _Minute:
    __slots__ = ("bins", "calls", "errors")

    def __init__(self) -> None:
        self.calls = 0
        self.errors = 0
        self.bins: dict[int, int] = {}


class FigureBook:
    """The rolling figures of every server (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._servers: dict[str, dict[int, _Minute]] = {}

    def add(self, ts: float, duration_ms: float, server: str, outcome: str) -> None:
        with self._lock:
            bucket = self._bucket(server, int(ts // 60))
            _count(bucket, duration_ms, outcome)

    def add_many(self, records: Sequence[ActivityRecord]) -> None:
        """A batch as the recorder writes it, with C-level iteration only (map, zip,
        Counter): this runs for every request through the gateway."""
        minutes = map(int, map(operator.floordiv, map(_TS, records), itertools.repeat(60)))
        keys = list(zip(map(_SERVER, records), minutes, strict=True))
        calls = collections.Counter(keys)
        failed = collections.Counter(
            itertools.compress(keys, map(_FAILED.__contains__, map(_OUTCOME, records)))
        )
        # Each duration's bin, as _count computes it: int(log(max(ms, 0.01)) / log(STEP)).
        ms = map(operator.mul, map(_DURATION, records), itertools.repeat(1000.0))
        logs = map(math.log, map(max, ms, itertools.repeat(0.01)))
        bins = map(int, map(operator.mul, logs, itertools.repeat(_PER_STEP)))
        histogram = collections.Counter(zip(keys, bins, strict=False))
        with self._lock:
            for (server, minute), n in calls.items():
                bucket = self._bucket(server, minute)
                bucket.calls += n
                bucket.errors += failed.get((server, minute), 0)
            for ((server, minute), b), n in histogram.items():
                found = self._bucket(server, minute).bins
                found[b] = found.get(b, 0) + n

    def _bucket(self, server: str, minute: int) -> _Minute:
        minutes = self._servers.setdefault(server, {})
        bucket = minutes.get(minute)
        if bucket is None:
            bucket = minutes[minute] = _Minute()
            oldest = minute - WINDOW_MINUTES
            for m in [m for m in minutes if m <= oldest]:
                del minutes[m]
        return bucket

    def snapshot(self) -> dict[str, Figures]:
        now = int(self._clock() // 60)
        first = now - WINDOW_MINUTES + 1
        out: dict[str, Figures] = {}
        with self._lock:
            for server, minutes in self._servers.items():
                per_minute = [0] * WINDOW_MINUTES
                errors = 0
                bins: dict[int, int] = {}
                for m, bucket in minutes.items():
                    if first <= m <= now:
                        per_minute[m - first] += bucket.calls
                        errors += bucket.errors
                        for b, n in bucket.bins.items():
                            bins[b] = bins.get(b, 0) + n
                calls = sum(per_minute)
                out[server] = Figures(calls, errors, _median(bins, calls), tuple(per_minute))
        return out


def _count(bucket: _Minute, duration_ms: float, outcome: str) -> None:
    bucket.calls += 1
    if outcome in (ERROR, TIMEOUT):
        bucket.errors += 1
    b = int(math.log(duration_ms if duration_ms > 0.01 else 0.01) * _PER_STEP)
    bins = bucket.bins
    bins[b] = bins.get(b, 0) + 1


def _median(bins: dict[int, int], total: int) -> float | None:
    if not total:
        return None
    seen = 0
    for b in sorted(bins):
        seen += bins[b]
        if seen * 2 >= total:
            return float(STEP ** (b + 0.5))
    return None
