"""The idle timer of on-demand servers (gateway/idle.py) with a fake clock: nothing
here waits for real time."""

from __future__ import annotations

import dataclasses

from switchboard.core.spec import ServerSpec, StartMode
from switchboard.core.state import ServerState as S
from switchboard.gateway.channels import Outbox, Pending, PostChannel, Session
from switchboard.gateway.idle import MAX_INTERVAL, MIN_INTERVAL, IdleSleeper
from switchboard.gateway.mux import StdioMux
from tests.helpers.clocks import SteppingClock


@dataclasses.dataclass
class FakeServer:
    spec: ServerSpec
    state: S = S.RUNNING
    pid: int | None = 100

    @property
    def name(self) -> str:
        return self.spec.name


def on_demand(name: str, minutes: float = 1.0) -> FakeServer:
    return FakeServer(
        ServerSpec(name=name, command="x", start=StartMode.ON_DEMAND, sleep_after=minutes)
    )


class Rig:
    def __init__(self, *servers: FakeServer) -> None:
        self.servers = list(servers)
        self.muxes: dict[str, StdioMux] = {}
        self.clock = SteppingClock(t=0.0)
        self.slept: list[str] = []
        self.sleeper = IdleSleeper(
            lambda: self.servers,  # type: ignore[arg-type,return-value]
            self.muxes.get,
            self._sleep,
            self.clock,
        )

    async def _sleep(self, name: str) -> None:
        self.slept.append(name)

    def mux(self, name: str) -> StdioMux:
        return self.muxes.setdefault(name, StdioMux(name, lambda: None, timeout=lambda: 60.0))

    def at(self, t: float) -> list[str]:
        self.clock.t = t
        return self.sleeper.check()


async def test_an_unused_on_demand_server_sleeps_after_its_idle_minutes() -> None:
    rig = Rig(
        on_demand("lazy", 1.0),
        FakeServer(ServerSpec(name="busy", command="x", start=StartMode.ALWAYS)),
    )
    assert rig.at(0) == []  # first seen: the idle time starts now
    assert rig.at(59.9) == []
    assert rig.at(60.0) == ["lazy"]  # never an always/manual server


async def test_requests_and_new_sessions_restart_the_idle_time() -> None:
    rig = Rig(on_demand("lazy", 1.0))
    mux = rig.mux("lazy")
    assert rig.at(0) == []
    session = Session("lazy")
    session.last_active = 5.0
    mux.sessions[session.id] = session  # a client initialized at t=30
    assert rig.at(30) == []
    assert rig.at(89) == []
    session.last_active = 6.0  # it called a tool at t=89.5
    assert rig.at(90) == []
    assert rig.at(149) == []
    assert rig.at(150) == ["lazy"]


async def test_a_request_in_flight_keeps_it_awake_an_open_stream_does_not() -> None:
    rig = Rig(on_demand("lazy", 1.0))
    mux = rig.mux("lazy")
    session = Session("lazy")
    mux.sessions[session.id] = session
    session.attach(Outbox())  # a GET stream open for the life of the session
    mux.pending[1] = Pending(session, 1, 1, "tools/call", PostChannel(True))
    assert rig.at(0) == []
    assert rig.at(600) == []  # a ten-minute tool call: still busy
    del mux.pending[1]
    assert rig.at(601) == []  # it finished: the idle time starts now
    assert rig.at(661) == ["lazy"]  # the open stream did not keep it up


async def test_only_running_servers_are_timed_and_a_restart_resets() -> None:
    server = on_demand("lazy", 1.0)
    rig = Rig(server)
    assert rig.at(0) == []
    server.state = S.SLEEPING
    assert rig.at(100) == []
    server.state = S.RUNNING  # woken at t=100
    assert rig.at(101) == []
    assert rig.at(160) == []
    server.pid = 200  # crashed and restarted by its policy at t=160
    assert rig.at(161) == []
    assert rig.at(221) == ["lazy"]


async def test_tick_puts_due_servers_to_sleep_and_interval_follows_the_shortest() -> None:
    rig = Rig(on_demand("a", 0.05), on_demand("b", 60))
    assert rig.sleeper.interval() == 0.75  # a quarter of 3 s
    await rig.sleeper.tick()
    rig.clock.t = 3.0
    await rig.sleeper.tick()
    assert rig.slept == ["a"]
    assert Rig(on_demand("c", 60)).sleeper.interval() == MAX_INTERVAL
    assert Rig(on_demand("c", 0.001)).sleeper.interval() == MIN_INTERVAL


async def test_a_call_during_an_earlier_sleep_keeps_the_next_server_up() -> None:
    """Servers due together are put to sleep one after the other; one that got a call
    while an earlier one was being stopped is left running (its call must not fail)."""
    rig = Rig(on_demand("a"), on_demand("b"))
    mux_b = rig.mux("b")
    session = Session("b")
    mux_b.sessions[session.id] = session

    async def sleep_and_call_b(name: str) -> None:
        rig.slept.append(name)
        if name == "a":
            mux_b.pending[7] = Pending(session, 1, 7, "tools/call", PostChannel(True))

    rig.sleeper._put_to_sleep = sleep_and_call_b
    await rig.sleeper.tick()
    rig.clock.t = 60.0
    await rig.sleeper.tick()
    assert rig.slept == ["a"]
