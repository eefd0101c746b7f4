from __future__ import annotations

import pytest

from switchboard.core.spec import RestartPolicy
from switchboard.supervisor.backoff import Backoff


def test_delays_grow_exponentially_up_to_the_cap() -> None:
    b = Backoff(RestartPolicy(initial_delay=1, multiplier=2, max_delay=5, jitter=0), lambda: 0.5)
    delays = []
    for _ in range(5):
        b.record_exit(ran_for=0.1)
        delays.append(b.delay())
    assert delays == [1, 2, 4, 5, 5]


@pytest.mark.parametrize(("rand", "expected"), [(0.0, 0.8), (0.5, 1.0), (0.999999, 1.2)])
def test_jitter_spreads_around_the_base(rand: float, expected: float) -> None:
    b = Backoff(RestartPolicy(initial_delay=1, jitter=0.2), lambda: rand)
    b.record_exit(0)
    assert b.delay() == pytest.approx(expected, abs=1e-5)


def test_a_stable_run_resets_the_count() -> None:
    policy = RestartPolicy(initial_delay=1, multiplier=2, jitter=0, stable_after=10, max_restarts=2)
    b = Backoff(policy, lambda: 0.5)
    b.record_exit(1)
    b.record_exit(1)
    assert b.delay() == 2 and not b.exhausted
    b.record_exit(60)  # ran long enough: counts as the first failure again
    assert b.failures == 1 and b.delay() == 1


def test_exhausted_after_max_restarts() -> None:
    b = Backoff(RestartPolicy(max_restarts=2), lambda: 0.5)
    for _ in range(3):
        assert not b.exhausted
        b.record_exit(0)
    assert b.exhausted


def test_disabled_policy_is_exhausted_at_once() -> None:
    b = Backoff(RestartPolicy(enabled=False))
    b.record_exit(0)
    assert b.exhausted
