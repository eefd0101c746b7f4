"""Exponential backoff with jitter for restarting crashed servers."""

from __future__ import annotations

import random
from collections.abc import Callable

from switchboard.core.spec import RestartPolicy


class Backoff:
    """Counts crashes and says how long to wait before the next start.

    ``rand`` returns a float in [0, 1) (``random.random`` in production; tests pass a
    constant) so the jitter is reproducible.
    """

    def __init__(self, policy: RestartPolicy, rand: Callable[[], float] = random.random) -> None:
        self.policy = policy
        self._rand = rand
        self.failures = 0

    @property
    def exhausted(self) -> bool:
        """True once more crashes happened than the policy allows."""
        return not self.policy.enabled or self.failures > self.policy.max_restarts

    def record_exit(self, ran_for: float) -> None:
        """Note one exit after a run of ``ran_for`` seconds (a stable run resets the count)."""
        if ran_for >= self.policy.stable_after:
            self.failures = 0
        self.failures += 1

    def delay(self) -> float:
        """Seconds to wait before the next start (call after :meth:`record_exit`)."""
        p = self.policy
        base = min(p.max_delay, p.initial_delay * p.multiplier ** max(0, self.failures - 1))
        spread = base * p.jitter
        return max(0.0, base - spread + 2 * spread * self._rand())

    def reset(self) -> None:
        self.failures = 0
