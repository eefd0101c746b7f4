"""ManagedServer's sleep and wake (issue 16.2) and its tree's resident memory (16.3),
with real (tiny) processes."""

from __future__ import annotations

import asyncio
import os

from switchboard.core.events import EventBus, StateChanged
from switchboard.core.spec import ServerSpec, StartMode
from switchboard.core.state import ServerState as S
from switchboard.supervisor import memory
from switchboard.supervisor.process import SLEEP_DETAIL, ManagedServer
from tests.conftest import fixture_cmd
from tests.helpers.clocks import SteppingClock


def make(events: EventBus) -> ManagedServer:
    cmd, args = fixture_cmd("echo_server.py")
    spec = ServerSpec(name="lazy", command=cmd, args=args, start=StartMode.ON_DEMAND)
    return ManagedServer(
        spec, events=events, path=os.environ["PATH"], clock=SteppingClock(), stop_grace=2
    )


async def test_sleep_wake_sleep_then_stop() -> None:
    events = EventBus()
    seen: list[tuple[S, S]] = []
    events.subscribe(lambda e: seen.append((e.old, e.new)) if isinstance(e, StateChanged) else None)
    server = make(events)
    await server.sleep()  # at launch: no process
    assert state(server) is S.SLEEPING and server.pid is None and server.wakeable
    assert server.detail == SLEEP_DETAIL
    await server.wake()
    assert state(server) is S.RUNNING and server.pid is not None
    pid = server.pid
    await server.sleep()  # idle: the process is stopped, the state is not "stopped"
    assert state(server) is S.SLEEPING and server.pid is None and server.stream is None
    assert server.rss_bytes is None
    assert _gone(pid)
    await server.stop()  # the person stops it: now really stopped, nothing wakes it
    assert state(server) is S.STOPPED and not server.wakeable
    await server.wake()
    assert state(server) is S.STOPPED
    assert seen == [
        (S.STOPPED, S.SLEEPING),
        (S.SLEEPING, S.STARTING),
        (S.STARTING, S.RUNNING),
        (S.RUNNING, S.STOPPING),
        (S.STOPPING, S.SLEEPING),
        (S.SLEEPING, S.STOPPED),
    ]


async def test_a_wake_during_the_fall_asleep_waits_and_starts_again() -> None:
    server = make(EventBus())
    await server.start()
    falling = asyncio.ensure_future(server.sleep())
    await asyncio.sleep(0)
    assert state(server) is S.STOPPING and server.wakeable
    await server.wake()
    await falling
    assert state(server) is S.RUNNING
    await server.stop()
    assert state(server) is S.STOPPED


async def test_sleep_only_takes_an_idle_running_server() -> None:
    server = make(EventBus())
    await server.start()
    await server.stop()
    await server.start()
    assert state(server) is S.RUNNING
    await server.sleep()
    assert state(server) is S.SLEEPING
    await server.wake()
    await server.stop()
    assert state(server) is S.STOPPED


async def test_memory_of_the_tree_is_sampled() -> None:
    server = make(EventBus())
    await server.start()
    try:
        target = server.memory_target()
        assert target is not None and target.leader == server.pid
        found = memory.sample({"lazy": target})
        # A Python interpreter holds megabytes resident; its /proc/PID/statm says so.
        assert found["lazy"] >= memory.rss_of(target.leader) > 1_000_000
    finally:
        await server.stop()
    assert server.memory_target() is None
    assert memory.sample({"lazy": target}) == {}  # the leader is gone: nothing counted


def state(server: ManagedServer) -> S:
    """The state now (a call, so mypy does not carry a narrowed state across awaits)."""
    return server.state


def _gone(pid: int | None) -> bool:
    assert pid is not None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split(") ")[1].startswith("Z")
