"""Fake clocks for tests: time moves only when the test moves it."""

from __future__ import annotations


class ManualClock:
    """A clock to inject where the code takes ``clock: Callable[[], float]``: calling it
    gives ``t``; the test sets or advances ``t`` (``now`` is the same value)."""

    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    @property
    def now(self) -> float:
        return self.t

    @now.setter
    def now(self, value: float) -> None:
        self.t = value


class SteppingClock:
    """A clock for code that sleeps (``now()`` and ``async sleep()``): time advances only
    when the code sleeps, and every sleep returns at once; ``sleeps`` records them."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds
