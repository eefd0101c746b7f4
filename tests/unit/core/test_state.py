from __future__ import annotations

import pytest

from switchboard.core.errors import IllegalTransition
from switchboard.core.events import EventBus, Notice
from switchboard.core.state import _ENGINE_TRANSITIONS, EngineState
from switchboard.core.state import ServerState as S

LEGAL = [
    (S.STOPPED, S.STARTING),
    (S.STARTING, S.RUNNING),
    (S.STARTING, S.FAILED),
    (S.RUNNING, S.BACKOFF),
    (S.BACKOFF, S.STARTING),
    (S.RUNNING, S.STOPPING),
    (S.STOPPING, S.STOPPED),
    (S.FAILED, S.STARTING),
    (S.BACKOFF, S.FAILED),
    # On demand (issue 16.2): asleep at launch, woken by a call, asleep again when idle.
    (S.STOPPED, S.SLEEPING),
    (S.SLEEPING, S.STARTING),
    (S.STOPPING, S.SLEEPING),
    (S.SLEEPING, S.STOPPED),
]
ILLEGAL = [
    (S.STOPPED, S.RUNNING),
    (S.STOPPED, S.STOPPED),
    (S.RUNNING, S.STARTING),
    (S.STOPPING, S.RUNNING),
    (S.FAILED, S.RUNNING),
    (S.STOPPED, S.FAILED),
    (S.RUNNING, S.SLEEPING),  # a running server stops (STOPPING) before it sleeps
    (S.SLEEPING, S.RUNNING),
    (S.SLEEPING, S.FAILED),
    (S.FAILED, S.SLEEPING),
]


@pytest.mark.parametrize(("old", "new"), LEGAL)
def test_legal_transitions(old: S, new: S) -> None:
    assert old.check(new) is new


@pytest.mark.parametrize(("old", "new"), ILLEGAL)
def test_illegal_transitions_raise(old: S, new: S) -> None:
    with pytest.raises(IllegalTransition, match=f"from {old.value} to {new.value}"):
        old.check(new)


def test_every_state_can_eventually_stop() -> None:
    for state in S:
        seen, frontier = {state}, [state]
        while frontier:
            cur = frontier.pop()
            for nxt in S:
                if cur.can_become(nxt) and nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        assert S.STOPPED in seen or state is S.STOPPED


def test_event_bus_isolates_failing_observers(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    got: list[object] = []

    def bad(_: object) -> None:
        raise RuntimeError("boom")

    bus.subscribe(bad)
    unsubscribe = bus.subscribe(got.append)
    event = Notice("k", "t", "x")
    bus.publish(event)
    assert got == [event]
    assert "observer" in caplog.text
    unsubscribe()
    bus.publish(event)
    assert got == [event]


E = EngineState
ENGINE_LEGAL = [
    (E.NEW, E.STARTING),
    (E.NEW, E.CLOSED),
    (E.STARTING, E.RUNNING),
    (E.STARTING, E.CLOSED),
    (E.STARTING, E.CLOSING),
    (E.RUNNING, E.CLOSING),
    (E.CLOSING, E.CLOSED),
    (E.CLOSED, E.CLOSED),
]
ENGINE_ILLEGAL = [
    (E.NEW, E.RUNNING),
    (E.RUNNING, E.STARTING),
    (E.RUNNING, E.CLOSED),
    (E.CLOSED, E.STARTING),
    (E.CLOSING, E.RUNNING),
]


@pytest.mark.parametrize(("old", "new"), ENGINE_LEGAL)
def test_engine_legal_transitions(old: EngineState, new: EngineState) -> None:
    assert old.check(new) is new


@pytest.mark.parametrize(("old", "new"), ENGINE_ILLEGAL)
def test_engine_illegal_transitions(old: EngineState, new: EngineState) -> None:
    with pytest.raises(IllegalTransition, match="engine cannot go"):
        old.check(new)


def test_engine_state_compares_as_its_text() -> None:
    assert isinstance(E.CLOSED, str) and E("closed") is E.CLOSED
    assert set(E) == set(_ENGINE_TRANSITIONS)


def test_sleeping_is_not_active() -> None:
    """A sleeping server has no process and is not "wanted up" (the tray shows it apart)."""
    assert not S.SLEEPING.is_active
    assert S.SLEEPING.value == "sleeping"
