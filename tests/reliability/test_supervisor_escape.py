"""Descendants that leave the server's process group (setsid) must not outlive it
(issue 12.9): after stop, after several restarts, after a graceful engine exit and
after SIGKILL of the engine, no escaped process of tests/fixtures/rel_escape.py is left.

Waits poll with a generous bound that only turns a regression into a failure."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from pathlib import Path

import pytest

from switchboard.core.spec import RestartPolicy, ServerSpec
from switchboard.core.state import ServerState as S
from switchboard.engine import Engine
from tests.conftest import fixture_cmd
from tests.helpers.engine_process import serve, wait_ready
from tests.integration.test_supervisor_real import _cli, _reap

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

ESCAPED = re.compile(r"escaped pid=(\d+) a=(\d+) b=(\d+)")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _left(pids: list[int], bound: float = 30) -> list[int]:
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return []
        time.sleep(0.02)
    return [p for p in pids if _alive(p)]


def _parse(text: str) -> dict[int, list[int]]:
    """{server pid: [server pid, escaped a, escaped b]} for each line found."""
    return {int(m[1]): [int(m[1]), int(m[2]), int(m[3])] for m in ESCAPED.finditer(text)}


async def _incarnation(engine: Engine, name: str) -> list[int]:
    server = engine.supervisor.get(name)
    for _ in range(3000):
        pid = server.pid
        found = _parse("\n".join(line.text for line in server.log.tail(200)))
        if pid is not None and pid in found:
            return found[pid]
        await asyncio.sleep(0.01)
    raise AssertionError("the fixture did not report its escaped processes")


async def test_stop_kills_descendants_that_called_setsid(engine: Engine) -> None:
    cmd, args = fixture_cmd("rel_escape.py")
    await engine.add_server(ServerSpec(name="esc", command=cmd, args=args))
    await engine.start_server("esc")
    pids = await _incarnation(engine, "esc")
    assert all(_alive(p) for p in pids)
    await engine.stop_server("esc")
    assert await asyncio.to_thread(_left, pids) == []


async def test_no_escaped_process_survives_restarts(engine: Engine) -> None:
    cmd, args = fixture_cmd("rel_escape.py")
    policy = RestartPolicy(initial_delay=0.05, jitter=0, max_restarts=50)
    await engine.add_server(ServerSpec(name="esc", command=cmd, args=args, restart=policy))
    await engine.start_server("esc")
    server = engine.supervisor.get("esc")
    old: list[int] = []
    for round_ in range(3):
        pids = await _incarnation(engine, "esc")
        assert server.stream is not None
        await server.stream.send(
            b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"crash"}}'
        )
        old += pids
        for _ in range(3000):
            if server.restarts > round_ and server.state is S.RUNNING:
                break
            await asyncio.sleep(0.01)
        assert await asyncio.to_thread(_left, old) == [], f"after restart {round_ + 1}"
    current = await _incarnation(engine, "esc")
    await engine.stop_server("esc")
    assert await asyncio.to_thread(_left, old + current) == []


def _engine_with_escaper(home: Path) -> tuple[object, list[int]]:
    cmd, args = fixture_cmd("rel_escape.py")
    proc = serve(home)
    wait_ready(proc)
    assert _cli(home, "add", "esc", "--", cmd, *args).returncode == 0
    assert _cli(home, "start", "esc").returncode == 0
    log = home / "logs" / "esc.log"
    for _ in range(3000):
        found = _parse(log.read_text()) if log.exists() else {}
        if found:
            return proc, next(iter(found.values()))
        time.sleep(0.02)
    raise AssertionError("the fixture did not report its escaped processes")


def test_sigkill_of_the_engine_leaves_no_escaped_process(tmp_path: Path) -> None:
    proc, pids = _engine_with_escaper(tmp_path / "home")
    try:
        assert all(_alive(p) for p in pids)
        proc.send_signal(signal.SIGKILL)  # type: ignore[attr-defined]
        proc.wait()  # type: ignore[attr-defined]
        assert _left(pids) == []
    finally:
        _reap(proc)  # type: ignore[arg-type]


def test_graceful_exit_of_the_engine_leaves_no_escaped_process(tmp_path: Path) -> None:
    proc, pids = _engine_with_escaper(tmp_path / "home")
    try:
        proc.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]
        assert proc.wait(timeout=60) == 0  # type: ignore[attr-defined]
        assert _left(pids) == []
    finally:
        _reap(proc)  # type: ignore[arg-type]


def _zombie_or_present(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


async def test_an_adopted_descendant_that_exits_on_its_own_is_reaped() -> None:
    from switchboard.core.events import EventBus
    from switchboard.supervisor.supervisor import Supervisor

    sup = Supervisor(EventBus(), path_resolver=lambda: os.environ["PATH"], reap_interval=0.05)
    await sup.start()
    try:
        if not sup.subreaper:
            pytest.skip("PR_SET_CHILD_SUBREAPER is not available")
        cmd, args = fixture_cmd("rel_escape.py", "--b-exits")
        server = sup.add(ServerSpec(name="esc", command=cmd, args=args))
        await server.start()
        for _ in range(3000):
            found = _parse("\n".join(line.text for line in server.log.tail(50)))
            if found:
                break
            await asyncio.sleep(0.01)
        _, _, b = next(iter(found.values()))
        # b was re-parented to us (its parent exited) and then exited: no zombie stays.
        for _ in range(3000):
            if not _zombie_or_present(b):
                break
            await asyncio.sleep(0.01)
        assert not _zombie_or_present(b), f"pid {b} is still in /proc (a zombie of ours)"
        assert server.state is S.RUNNING
    finally:
        await sup.aclose()
