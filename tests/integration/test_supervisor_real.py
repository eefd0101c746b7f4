"""The supervisor with real processes: stdio stream, restarts, orphans, npm servers."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from switchboard.control.client import ControlClient
from switchboard.core.paths import AppPaths
from switchboard.core.spec import RestartPolicy, ServerSpec
from switchboard.core.state import ServerState as S
from switchboard.engine import Engine
from switchboard.supervisor.stream import StdioStream
from tests.conftest import fixture_cmd, requires_npx
from tests.helpers.engine_process import serve, wait_ready


async def rpc(
    stream: StdioStream, msg_id: int, method: str, params: Mapping[str, object]
) -> dict[str, Any]:
    await stream.send(
        json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}).encode()
    )
    while True:
        line = await asyncio.wait_for(stream.receive(), 120)
        msg: dict[str, Any] = json.loads(line)
        if msg.get("id") == msg_id:
            return msg


INIT = {
    "protocolVersion": "2025-06-18",
    "capabilities": {},
    "clientInfo": {"name": "switchboard-test", "version": "0"},
}


async def test_echo_server_answers_through_the_stream(engine: Engine) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    await engine.add_server(ServerSpec(name="echo", command=cmd, args=args))
    status = await engine.start_server("echo")
    assert status.state is S.RUNNING and status.pid
    stream = engine.supervisor.get("echo").stream
    assert stream is not None
    reply = await rpc(stream, 1, "initialize", INIT)
    assert reply["result"]["serverInfo"]["name"] == "echo"
    reply = await rpc(stream, 2, "tools/call", {"name": "echo", "arguments": {"text": "hi"}})
    assert reply["result"]["content"][0]["text"] == "hi"


async def test_crash_restarts_with_a_new_stream(engine: Engine) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    policy = RestartPolicy(initial_delay=0.05, jitter=0)
    await engine.add_server(ServerSpec(name="echo", command=cmd, args=args, restart=policy))
    await engine.start_server("echo")
    server = engine.supervisor.get("echo")
    first = server.stream
    assert first is not None
    old_pid = server.pid
    await first.send(b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"crash"}}')
    await server.wait_for({S.BACKOFF})
    assert first.closed
    await server.wait_for({S.RUNNING})
    assert server.pid != old_pid and server.restarts == 1
    assert server.stream is not None and server.stream is not first
    reply = await rpc(server.stream, 2, "ping", {})
    assert reply["result"] == {}


async def test_start_reports_a_server_that_dies_during_start_up(engine: Engine) -> None:
    cmd, args = fixture_cmd("rel_die_soon.py")
    policy = RestartPolicy(initial_delay=30, jitter=0)
    await engine.add_server(ServerSpec(name="dies", command=cmd, args=args, restart=policy))
    status = await engine.start_server("dies")
    assert status.state is S.BACKOFF and status.pid is None
    assert status.detail.startswith("exited during start-up (exit code 2)")
    assert "config file /nonexistent/conf.toml is missing" in status.detail
    await engine.add_server(ServerSpec(name="gone", command="/no/such/server-binary"))
    status = await engine.start_server("gone")
    assert status.state is S.FAILED
    assert status.detail.startswith("No such file: /no/such/server-binary")


@requires_npx
@pytest.mark.npm
async def test_real_npm_server_everything_answers_initialize(engine: Engine) -> None:
    await engine.add_server(
        ServerSpec(
            name="everything",
            command="npx",
            args=("-y", "@modelcontextprotocol/server-everything", "stdio"),
        )
    )
    await engine.start_server("everything")
    stream = engine.supervisor.get("everything").stream
    assert stream is not None
    reply = await rpc(stream, 1, "initialize", INIT)
    assert "tools" in reply["result"]["capabilities"]
    assert reply["result"]["serverInfo"]["name"]
    await engine.stop_server("everything")
    assert engine.status("everything").state is S.STOPPED


# -- the engine as a separate process ----------------------------------------------------


def _reap(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "switchboard", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_dead(pids: list[int], timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if _alive(p)]
        if not left:
            return []
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


def _pids(home: Path) -> list[int]:
    # The control API is served on the engine's private socket only (not on TCP).
    client = ControlClient.connect(AppPaths.default(home))
    try:
        out = client.request("GET", "/servers")
    finally:
        client.close()
    return [v["status"]["pid"] for v in out["servers"] if v["status"]["pid"]]


def test_sigkill_of_the_engine_leaves_no_child_alive(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cmd, args = fixture_cmd("echo_server.py")
    stubborn, sargs = fixture_cmd("ignore_term.py")
    proc = serve(home)
    try:
        wait_ready(proc)
        assert _cli(home, "add", "echo", "--", cmd, *args).returncode == 0
        assert _cli(home, "add", "stubborn", "--", stubborn, *sargs).returncode == 0
        assert _cli(home, "start", "echo").returncode == 0
        assert _cli(home, "start", "stubborn").returncode == 0
        pids = _pids(home)
        assert len(pids) == 2 and all(_alive(p) for p in pids)
        # The stubborn server's own child (same process group) must die too.
        log = home / "logs" / "stubborn.log"
        for _ in range(600):
            if log.exists() and "child=" in log.read_text():
                break
            time.sleep(0.05)
        grandchild = int(log.read_text().split("child=")[1].split()[0])
        pids.append(grandchild)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert _wait_dead(pids) == []
    finally:
        _reap(proc)


def test_relaunch_restores_running_servers_and_cli_works_offline(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cmd, args = fixture_cmd("echo_server.py")
    # Offline: config verbs edit the file and say nothing is running.
    out = _cli(home, "add", "echo", "--", cmd, *args)
    assert out.returncode == 0 and "not running" in out.stdout
    assert _cli(home, "add", "idle", "--", cmd, *args).returncode == 0
    out = _cli(home, "start", "echo")
    assert out.returncode == 1 and "not running" in out.stderr and "hint:" in out.stderr
    proc = serve(home)
    try:
        wait_ready(proc)
        assert _cli(home, "start", "echo").returncode == 0
        out = _cli(home, "status", "echo")
        assert "echo: running" in out.stdout and "/servers/echo/mcp" in out.stdout
        out = _cli(home, "logs", "echo", "-n", "5")
        assert "echo server ready" in out.stdout
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        _reap(proc)
    proc = serve(home)
    try:
        wait_ready(proc)
        for _ in range(600):
            listing = _cli(home, "list").stdout
            if "echo                 running" in listing:
                break
            time.sleep(0.05)
        assert "echo                 running" in listing
        assert "idle                 stopped" in listing
        out = _cli(home, "stop", "echo")
        assert "echo: stopped" in out.stdout
        out = _cli(home, "remove", "idle")
        assert out.returncode == 0
        out = _cli(home, "status", "nope")
        assert out.returncode == 1 and "No server named 'nope'" in out.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        _reap(proc)
    config = (home / "config" / "config.toml").read_text()
    assert 'name = "echo"' in config and 'name = "idle"' not in config


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "switchboard",
                "--home",
                str(tmp_path),
                "serve",
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 1
    assert f"Port {port}" in out.stderr and "already in use" in out.stderr


def test_corrupt_config_stops_the_engine_with_a_clear_error(tmp_path: Path) -> None:
    paths = AppPaths.default(tmp_path)
    paths.ensure()
    paths.config_file.write_text("this is [not toml")
    out = subprocess.run(
        [sys.executable, "-m", "switchboard", "--home", str(tmp_path), "serve", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert str(paths.config_file) in out.stderr and "corrupt" in out.stderr
    assert paths.config_file.read_text() == "this is [not toml"
