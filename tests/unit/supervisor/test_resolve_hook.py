"""The supervisor asks its command resolver before it spawns (issue 16.1): it runs what
the resolver returns, shows it in the status, and runs the command as written, with a
notice, when the resolver fails."""

from __future__ import annotations

import os
from pathlib import Path

from switchboard.core.events import EventBus, LogLine
from switchboard.core.spec import ServerSpec
from switchboard.core.state import ServerState as S
from switchboard.packages import PackageError
from switchboard.supervisor.process import ManagedServer
from tests.conftest import fixture_cmd
from tests.helpers.resolvers import FakeResolver


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


def make(spec: ServerSpec, resolver: FakeResolver, events: EventBus) -> ManagedServer:
    return ManagedServer(
        spec, events=events, path=os.environ["PATH"], stop_grace=2, resolver=resolver
    )


async def test_runs_what_the_resolver_returns_and_reports_it() -> None:
    cmd, args = fixture_cmd("echo_server.py")
    resolver = FakeResolver([cmd, *args])
    spec = ServerSpec(name="pkg", command="npx", args=("-y", "some-package@1.0.0"))
    server = make(spec, resolver, EventBus())
    await server.start()
    try:
        assert server.state is S.RUNNING and server.pid
        assert resolver.asked == [("npx", ("-y", "some-package@1.0.0"))]
        assert cmdline(server.pid) == [cmd, *args]
        # The install's bin directory comes first on PATH, as under npx/uvx.
        environ = Path(f"/proc/{server.pid}/environ").read_bytes().split(b"\0")
        path = next(e for e in environ if e.startswith(b"PATH=")).decode()
        assert path.startswith("PATH=/resolved/bin" + os.pathsep)
        status = server.status()
        assert status.resolved_command.endswith("echo_server.py")
        assert status.resolution_notice == ""
        assert server.spec.command == "npx"  # the person's command is kept as written
        texts = [line.text for line in server.log.tail(10)]
        assert "resolving for the test" in texts
        assert any("(for: npx -y some-package@1.0.0)" in t for t in texts)
    finally:
        await server.stop()


async def test_a_failed_resolution_runs_the_command_as_written_with_a_notice() -> None:
    cmd, args = fixture_cmd("echo_server.py")
    resolver = FakeResolver(error=PackageError("npm install x failed: 404.", hint="Check it."))
    events = EventBus()
    seen: list[str] = []
    events.subscribe(lambda e: seen.append(e.text) if isinstance(e, LogLine) else None)
    server = make(ServerSpec(name="lit", command=cmd, args=args), resolver, events)
    await server.start()
    try:
        assert server.state is S.RUNNING and server.pid
        assert cmdline(server.pid) == [cmd, *args]
        status = server.status()
        assert status.resolved_command == ""
        assert "npm install x failed: 404." in status.resolution_notice
        assert "running the command as written" in status.resolution_notice
        assert status.resolution_notice in seen
    finally:
        await server.stop()


async def test_no_resolution_keeps_the_command() -> None:
    cmd, args = fixture_cmd("echo_server.py")
    server = make(ServerSpec(name="plain", command=cmd, args=args), FakeResolver(None), EventBus())
    await server.start()
    try:
        assert server.status().resolved_command == ""
        assert server.pid and cmdline(server.pid) == [cmd, *args]
    finally:
        await server.stop()
