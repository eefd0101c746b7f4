"""ManagedServer's state machine with an injected clock and real (tiny) processes."""

from __future__ import annotations

import os
import sys

import pytest

from switchboard.core.errors import CommandNotFound
from switchboard.core.events import Event, EventBus, LogLine, StateChanged, Stream
from switchboard.core.spec import RestartPolicy, ServerSpec
from switchboard.core.state import ServerState as S
from switchboard.supervisor.environment import merge_paths, resolve_command
from switchboard.supervisor.process import ManagedServer
from tests.conftest import fixture_cmd
from tests.helpers.clocks import SteppingClock


def make(spec: ServerSpec, clock: SteppingClock, events: EventBus) -> ManagedServer:
    # A long readiness window: a process that exits at once always exits "during start-up".
    return ManagedServer(
        spec,
        events=events,
        path=os.environ["PATH"],
        clock=clock,
        stop_grace=2,
        rand=lambda: 0.5,
        ready_window=60,
    )


def record(events: EventBus) -> list[Event]:
    got: list[Event] = []
    events.subscribe(got.append)
    return got


async def test_crash_loop_backs_off_then_fails_with_last_stderr() -> None:
    clock, events = SteppingClock(), EventBus()
    got = record(events)
    cmd, args = fixture_cmd("crash_loop.py")
    policy = RestartPolicy(initial_delay=1, multiplier=2, max_delay=3, jitter=0, max_restarts=3)
    server = make(ServerSpec(name="crashy", command=cmd, args=args, restart=policy), clock, events)
    await server.start()
    await server.wait_for({S.FAILED})
    assert clock.sleeps == [1, 2, 3]
    assert server.restarts == 3
    assert "exit code 7" in server.detail
    assert "something is badly wrong" in server.detail
    transitions = [(e.old, e.new) for e in got if isinstance(e, StateChanged)]
    # It never became ready, so it was never reported running.
    assert transitions[:3] == [
        (S.STOPPED, S.STARTING),
        (S.STARTING, S.BACKOFF),
        (S.BACKOFF, S.STARTING),
    ]
    assert transitions[-1] == (S.STARTING, S.FAILED)
    assert S.RUNNING not in {new for _, new in transitions}
    assert any(isinstance(e, LogLine) and e.stream is Stream.STDERR for e in got)
    # FAILED can be started again by the person, and stopped.
    await server.stop()
    assert server.state is S.STOPPED


async def test_disabled_restart_fails_on_first_exit() -> None:
    clock, events = SteppingClock(), EventBus()
    cmd, args = fixture_cmd("crash_loop.py")
    spec = ServerSpec(name="once", command=cmd, args=args, restart=RestartPolicy(enabled=False))
    server = make(spec, clock, events)
    await server.start()
    await server.wait_for({S.FAILED})
    assert clock.sleeps == []


async def test_missing_command_fails_with_a_named_error() -> None:
    server = make(ServerSpec(name="nope", command="no-such-cmd-xyz"), SteppingClock(), EventBus())
    await server.start()
    assert server.state is S.FAILED
    assert "no-such-cmd-xyz" in server.detail and "PATH=" in server.detail


def test_resolve_command_errors_name_command_and_path() -> None:
    with pytest.raises(CommandNotFound) as info:
        resolve_command("npx-does-not-exist", "/nowhere:/also-nowhere")
    assert info.value.path == "/nowhere:/also-nowhere"
    assert "Install" in info.value.hint
    with pytest.raises(CommandNotFound, match="Node.js"):
        resolve_command("npx", "/nowhere")
    assert resolve_command(sys.executable, "") == sys.executable
    assert merge_paths("/a:/b", "/b:/c", "") == "/a:/b:/c"


async def test_stop_escalates_to_sigkill_and_kills_the_whole_group(tmp_path: object) -> None:
    clock, events = SteppingClock(), EventBus()
    got = record(events)
    cmd, args = fixture_cmd("ignore_term.py")
    server = ManagedServer(
        ServerSpec(name="stubborn", command=cmd, args=args),
        events=events,
        path=os.environ["PATH"],
        clock=clock,
        stop_grace=0.5,
    )
    await server.start()
    pid = server.pid
    assert pid is not None
    child = await _child_pid(got)
    await server.stop()
    assert server.state is S.STOPPED
    # SIGKILL is delivered asynchronously: poll (the kernel may not have torn the
    # child down the instant stop() returns).
    await _until_dead([pid, child])
    assert any(isinstance(e, LogLine) and "SIGKILL" in e.text for e in got)


async def test_secret_values_are_injected_and_redacted_from_logs() -> None:
    events = EventBus()
    got = record(events)
    cmd, args = fixture_cmd("echo_server.py")

    async def secrets(refs: dict[str, str]) -> dict[str, str]:
        return {env: "s3cr3t-value" for env in refs}

    server = ManagedServer(
        ServerSpec(name="sec", command=cmd, args=args, secrets={"ECHO_SECRET": "echo"}),
        events=events,
        path=os.environ["PATH"],
        secrets=secrets,  # type: ignore[arg-type]
    )
    await server.start()
    await _wait_log(got, "echo server ready")
    await server.stop()
    lines = [e.text for e in got if isinstance(e, LogLine)]
    assert any("secret=••••••" in t for t in lines)
    assert not any("s3cr3t-value" in t for t in lines)


async def _wait_log(got: list[Event], text: str) -> LogLine:
    import asyncio

    for _ in range(3000):  # up to 30 s on a loaded machine; returns as soon as seen
        for e in got:
            if isinstance(e, LogLine) and text in e.text:
                return e
        await asyncio.sleep(0.01)
    raise AssertionError(f"no log line containing {text!r}")


async def _child_pid(got: list[Event]) -> int:
    line = await _wait_log(got, "ignore_term ready")
    return int(line.text.rsplit("=", 1)[1])


async def _until_dead(pids: list[int]) -> None:
    import asyncio

    for _ in range(3000):  # returns as soon as they are gone
        if not any(_alive(p) for p in pids):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"still alive: {[p for p in pids if _alive(p)]}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); check its state.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_start_while_stopping_waits_then_starts() -> None:
    import asyncio

    cmd, args = fixture_cmd("echo_server.py")
    server = make(ServerSpec(name="flip", command=cmd, args=args), SteppingClock(), EventBus())
    await server.start()
    first = server.pid
    await asyncio.gather(server.stop(), server.start())
    assert server.state is S.RUNNING
    assert server.pid != first
    await server.stop()
    state: S = server.state  # re-read: stop() changed it (mypy narrowed it to RUNNING above)
    assert state is S.STOPPED


async def test_a_server_that_dies_during_start_up_is_not_reported_running() -> None:
    clock, events = SteppingClock(), EventBus()
    got = record(events)
    cmd, args = fixture_cmd("rel_die_soon.py")
    spec = ServerSpec(name="dies", command=cmd, args=args, restart=RestartPolicy(enabled=False))
    server = ManagedServer(
        spec, events=events, path=os.environ["PATH"], clock=clock, ready_window=60
    )
    await server.start()
    assert server.state is S.FAILED
    assert "during start-up" in server.detail
    assert "config file /nonexistent/conf.toml is missing" in server.detail
    assert not any(isinstance(e, StateChanged) and e.new is S.RUNNING for e in got)


async def test_a_stdio_server_is_running_once_it_answers_the_readiness_ping() -> None:
    events = EventBus()
    got = record(events)
    cmd, args = fixture_cmd("echo_server.py")
    server = ManagedServer(
        ServerSpec(name="ready", command=cmd, args=args),
        events=events,
        path=os.environ["PATH"],
        ready_window=3600,  # the ping answer, not the window, makes it ready
    )
    await server.start()
    try:
        assert server.state is S.RUNNING
        states = [e.new for e in got if isinstance(e, StateChanged)]
        assert states == [S.STARTING, S.RUNNING]
        # The probe's answer is the supervisor's: nothing reaches the stream's reader.
        assert server.stream is not None and server.stream._queue.empty()
    finally:
        await server.stop()


async def test_a_missing_absolute_command_says_no_such_file() -> None:
    server = make(ServerSpec(name="gone", command="/no/such/dir/srv"), SteppingClock(), EventBus())
    await server.start()
    assert server.state is S.FAILED
    assert "No such file: /no/such/dir/srv" in server.detail
    assert "PATH" not in server.detail


async def test_a_server_that_quits_on_the_readiness_ping_is_started_without_it() -> None:
    import json

    events = EventBus()
    got = record(events)
    cmd, args = fixture_cmd("rel_strict_init.py")
    policy = RestartPolicy(initial_delay=0.01, jitter=0)
    server = ManagedServer(
        ServerSpec(name="strict", command=cmd, args=args, restart=policy),
        events=events,
        path=os.environ["PATH"],
        clock=SteppingClock(),
        ready_window=0.3,
    )
    await server.start()  # the first process quits on the ping
    try:
        # The next one gets no ping: it is up after the window (not a crash loop).
        await server.wait_for({S.RUNNING, S.FAILED})
        assert server.state is S.RUNNING, server.detail
        backoffs = [e.detail for e in got if isinstance(e, StateChanged) and e.new is S.BACKOFF]
        assert len(backoffs) == 1 and "expected initialize, got 'ping'" in backoffs[0]
        assert server.restarts == 1
        stream = server.stream
        assert stream is not None
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
        await stream.send(json.dumps(init).encode())
        reply = json.loads(await stream.receive())
        assert reply["result"]["serverInfo"]["name"] == "strict"
    finally:
        await server.stop()
