"""Session bookkeeping of the Gateway with a fake clock: idle sessions are forgotten,
sessions with an open stream or a request in flight are kept."""

from __future__ import annotations

from typing import Any

from switchboard.core.events import EventBus
from switchboard.gateway.app import SESSION_IDLE, Gateway
from switchboard.gateway.authslot import LoopbackOnly
from switchboard.gateway.mux import Outbox, Session


class FakeHost:
    def __init__(self) -> None:
        self.supervisor: Any = None
        self.events = EventBus()
        self.authenticator = LoopbackOnly()
        self.state = "running"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_idle_sessions_are_swept() -> None:
    clock = Clock()
    gw = Gateway(FakeHost(), clock=clock)  # type: ignore[arg-type]
    idle, streaming, busy = Session("s"), Session("s"), Session("s")
    for s in (idle, streaming, busy):
        s.last_active = clock.now
        gw._add_session(s)
    streaming.attach(Outbox())
    busy.inflight[1] = object()  # type: ignore[assignment]
    clock.now += SESSION_IDLE + 61
    fresh = Session("s")
    gw._add_session(fresh)
    assert set(gw.sessions) == {streaming.id, busy.id, fresh.id}
    assert idle.closed
