"""Session bookkeeping of the Gateway with a fake clock: idle sessions are forgotten,
sessions with an open stream or a request in flight are kept."""

from __future__ import annotations

import pytest

from switchboard.core.auth import ANONYMOUS, Principal
from switchboard.gateway.gateway import Gateway
from switchboard.gateway.mux import Outbox, Session
from switchboard.gateway.sessions import (
    SESSION_IDLE,
    Bindings,
    Owner,
    SessionTable,
    TooManySessions,
    owner_of,
)
from tests.helpers.clocks import ManualClock
from tests.helpers.hosts import FakeHost


def test_idle_sessions_are_swept() -> None:
    clock = ManualClock(1000.0)
    gw = Gateway(FakeHost(), clock=clock)  # type: ignore[arg-type]
    idle, streaming, busy = Session("s"), Session("s"), Session("s")
    for s in (idle, streaming, busy):
        s.last_active = clock.now
        gw._add_session(s, None, None)
    streaming.attach(Outbox())
    busy.inflight[1] = object()  # type: ignore[assignment]
    clock.now += SESSION_IDLE + 61
    fresh = Session("s")
    gw._add_session(fresh, None, None)
    assert set(gw.sessions) == {streaming.id, busy.id, fresh.id}
    assert idle.closed


def _table(total: int, per_client: int) -> tuple[SessionTable, list[Session]]:
    ended: list[Session] = []
    table = SessionTable(
        ManualClock(1000.0), ended.append, max_sessions=total, max_per_client=per_client
    )
    return table, ended


def _new(table: SessionTable, owner: Owner | None, server: str = "s", at: float = 0) -> Session:
    session = Session(server)
    session.last_active = at
    table.add(session, owner)
    return session


def test_owners_and_anonymous_buckets() -> None:
    table, _ = _table(100, 10)
    alice = ("client-a", "alice")
    mine = _new(table, alice)
    assert table.find(mine.id, alice) is mine
    assert table.find(mine.id, ("client-b", "alice")) is None
    assert table.find(mine.id, None) is None
    anon = _new(table, None)
    assert table.find(anon.id, None) is anon
    assert table.find(anon.id, alice) is anon  # bound to nothing (auth off)
    assert owner_of(ANONYMOUS) is None
    assert owner_of(Principal(subject="u", client_id="c")) == ("c", "u")


def test_per_client_cap_evicts_the_clients_own_oldest_idle() -> None:
    table, ended = _table(100, 3)
    a, b = ("a", "u"), ("b", "u")
    other = _new(table, b, at=0)
    first = _new(table, a, at=1)
    busy = _new(table, a, at=0.5)
    busy.attach(Outbox())
    _new(table, a, at=2)
    _new(table, a, at=3)  # a is at its cap: its oldest idle one goes
    assert ended == [first] and other.id in table and busy.id in table
    for s in list(table.values()):
        if s is not busy and s is not other:
            s.attach(Outbox())
    with pytest.raises(TooManySessions) as info:
        _new(table, a)
    assert info.value.status == 429
    _new(table, b)  # b is not affected


def test_ceiling_evicts_from_the_largest_bucket() -> None:
    table, ended = _table(6, 4)
    quiet = [_new(table, ("q", "u"), at=0), _new(table, None, "x", at=0)]
    loud = [_new(table, ("l", "u"), at=i + 1) for i in range(4)]
    _new(table, ("n", "u"))
    assert ended == [loud[0]]
    assert all(s.id in table for s in quiet)
    for s in table.values():
        s.attach(Outbox())
    with pytest.raises(TooManySessions) as info:
        _new(table, ("n", "u"))
    assert info.value.status == 503


def test_pass_through_bindings_are_per_client_and_bounded() -> None:
    b = Bindings(max_total=4, max_per_client=2)
    a, c = ("a", "u"), ("c", "u")
    b.bind("s1", a)
    assert b.allowed("s1", a) and not b.allowed("s1", c) and b.allowed("s1", None)
    assert not b.allowed("unknown", a)
    b.bind("s2", a)
    b.bind("s3", a)  # a's oldest goes
    assert not b.allowed("s1", a) and b.allowed("s3", a)
    b.bind("c1", c)
    b.bind("c2", c)
    b.bind("d1", ("d", "u"))  # the ceiling: the largest (a, tied with c; first) gives one up
    assert len(b) == 4 and b.allowed("d1", ("d", "u"))
    b.forget("c1")
    assert not b.allowed("c1", c)
    b.bind("x", None)  # no caller, nothing to bind
    assert len(b) == 3
