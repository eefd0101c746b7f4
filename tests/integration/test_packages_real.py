"""Real npm and PyPI MCP servers run without their package runner (issue 16.1).

``npx -y pkg`` and ``uvx pkg`` commands are installed once into the engine's own cache
(a temporary home here, never the person's) and the package's program is spawned
directly: the supervised PID's command line is ``node …/<bin>`` or the venv's console
script, not ``npm exec``/``uv``. Calls go through the gateway with the real ``mcp``
client. The second start happens with the registries unreachable.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client

from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, ServerSpec
from switchboard.core.state import ServerState as S
from switchboard.engine import Engine
from switchboard.packages import PackageResolver
from tests.conftest import make_test_engine, requires_npx
from tests.helpers.engine_process import ENGINE_ENV, serve, stop, wait_ready

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

VENV_BIN = str(Path(sys.executable).parent)
PATH = VENV_BIN + os.pathsep + os.environ.get("PATH", "")
UNREACHABLE = "http://127.0.0.1:9/"


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


def text_of(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every registry and index the tools could reach is a closed port."""
    monkeypatch.setenv("npm_config_registry", UNREACHABLE)
    monkeypatch.setenv("npm_config_offline", "true")
    monkeypatch.setenv("UV_INDEX_URL", UNREACHABLE + "simple")
    monkeypatch.setenv("UV_DEFAULT_INDEX", UNREACHABLE + "simple")
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("PIP_INDEX_URL", UNREACHABLE + "simple")


def resolving_engine(paths: AppPaths) -> Engine:
    return make_test_engine(paths, path_resolver=lambda: PATH, resolve_packages=True)


async def call(engine: Engine, name: str, tool: str, arguments: dict[str, Any]) -> str:
    async with Client(engine.server_url(name)) as client:
        return text_of(await client.call_tool(tool, arguments))


async def start_checked(engine: Engine, name: str, program: str) -> list[str]:
    status = await engine.start_server(name)
    assert status.state is S.RUNNING, status.detail
    assert status.pid is not None
    argv = cmdline(status.pid)
    assert "npm" not in Path(argv[0]).name and "npx" not in " ".join(argv[:2])
    assert not Path(argv[0]).name.startswith("uv")
    assert program in " ".join(argv[:2]), argv
    assert str(engine.paths.cache_dir / "packages") in " ".join(argv[:2])
    assert status.resolved_command and status.resolution_notice == ""
    return argv


NPM_CASES = [
    # (name, args, program path part, tool, arguments, expected text)
    (
        "everything",
        ("-y", "@modelcontextprotocol/server-everything@2026.8.31", "stdio"),
        "server-everything/dist/index.js",
        "echo",
        {"message": "hello"},
        "hello",
    ),
    (
        "memory",
        ("-y", "@modelcontextprotocol/server-memory"),  # unpinned: pinned at first start
        "server-memory/dist/index.js",
        "read_graph",
        {},
        "entities",
    ),
]


@requires_npx
@pytest.mark.npm
@pytest.mark.parametrize(("name", "args", "program", "tool", "arguments", "expect"), NPM_CASES)
async def test_npm_server_runs_as_node_and_restarts_offline(
    paths: AppPaths,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    args: tuple[str, ...],
    program: str,
    tool: str,
    arguments: dict[str, Any],
    expect: str,
) -> None:
    monkeypatch.setenv("MEMORY_FILE_PATH", str(paths.data_dir / "memory.jsonl"))
    spec = ServerSpec(name=name, command="npx", args=args, auth=AuthMode.OFF)
    engine = resolving_engine(paths)
    await engine.start()
    try:
        await engine.add_server(spec)
        argv = await start_checked(engine, name, program)
        assert Path(argv[0]).name == "node"
        assert engine.config.server(name).command == "npx"  # as the person wrote it
        assert engine.config.server(name).args == args
        assert expect in await call(engine, name, tool, arguments)
        await engine.stop_server(name)
    finally:
        await engine.aclose()

    # A new engine on the same home, registries unreachable: starts from the cache.
    offline(monkeypatch)
    engine = resolving_engine(paths)
    await engine.start()
    try:
        assert await start_checked(engine, name, program) == argv
        assert expect in await call(engine, name, tool, arguments)
    finally:
        await engine.aclose()


@requires_npx
@pytest.mark.npm
async def test_filesystem_server_gets_its_arguments(
    paths: AppPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "note.txt").write_text("resolved!")
    args = ("-y", "@modelcontextprotocol/server-filesystem@2026.8.31", str(allowed))
    engine = resolving_engine(paths)
    await engine.start()
    try:
        await engine.add_server(ServerSpec("files", "npx", args, auth=AuthMode.OFF))
        argv = await start_checked(engine, "files", "server-filesystem/dist/index.js")
        assert argv[2:] == [str(allowed)]
        text = await call(engine, "files", "read_text_file", {"path": str(allowed / "note.txt")})
        assert text == "resolved!"
        await engine.stop_server("files")
        offline(monkeypatch)
        assert await start_checked(engine, "files", "server-filesystem") == argv
    finally:
        await engine.aclose()


async def test_pypi_time_server_runs_as_its_console_script_and_restarts_offline(
    paths: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = ServerSpec(
        "time", "uvx", ("mcp-server-time", "--local-timezone", "UTC"), auth=AuthMode.OFF
    )
    engine = resolving_engine(paths)
    await engine.start()
    try:
        await engine.add_server(spec)
        argv = await start_checked(engine, "time", "/bin/mcp-server-time")
        # The console script runs under the venv's python: the PID is the server.
        assert "pypi/mcp-server-time@" in argv[1]
        result = await call(engine, "time", "get_current_time", {"timezone": "Asia/Tokyo"})
        assert "Asia/Tokyo" in result
        await engine.stop_server("time")
        offline(monkeypatch)
        assert await start_checked(engine, "time", "/bin/mcp-server-time") == argv
        result = await call(engine, "time", "get_current_time", {"timezone": "Europe/Paris"})
        assert "Europe/Paris" in result
    finally:
        await engine.aclose()


async def test_unresolvable_package_falls_back_to_the_command_with_a_notice(
    paths: AppPaths,
) -> None:
    """A package that does not exist: the resolver says why, the command runs as
    written (and fails the way uvx does), nothing is left in the cache."""
    engine = resolving_engine(paths)
    await engine.start()
    try:
        spec = ServerSpec("ghost", "uvx", ("switchboard-no-such-package-xyz@1.0.0",))
        await engine.add_server(dataclasses.replace(spec, auth=AuthMode.OFF))
        status = await engine.start_server("ghost")
        assert status.resolved_command == ""
        assert "running the command as written" in status.resolution_notice
        assert "switchboard-no-such-package-xyz" in status.resolution_notice
        texts = [line.text for line in engine.logs("ghost")]
        assert any(t.startswith("started pid") and "uvx" in t for t in texts)
        assert not list((paths.cache_dir / "packages" / "pypi").glob("switchboard-no-such*"))
    finally:
        await engine.aclose()


@requires_npx
@pytest.mark.npm
def test_switchboard_status_shows_both_commands(tmp_path: Path) -> None:
    """The shipped engine (`switchboard serve`, default composition) resolves npx, and
    `switchboard status NAME` shows the command as written and what runs."""
    home = tmp_path / "home"
    package = "@modelcontextprotocol/server-everything@2026.8.31"
    proc = serve(home)
    try:
        wait_ready(proc)
        added = cli(home, "add", "everything", "--", "npx", "-y", package, "stdio")
        assert added.returncode == 0, added.stderr
        started = cli(home, "start", "everything")
        assert started.returncode == 0, started.stdout + started.stderr
        out = cli(home, "status", "everything").stdout
        assert f"command:  npx -y {package} stdio" in out
        runs_as = next(line for line in out.splitlines() if "runs as:" in line)
        assert runs_as.endswith("server-everything/dist/index.js stdio")
        assert str(home / "cache" / "packages" / "npm") in runs_as
        pid = int(out.split("(pid ")[1].split(")")[0])
        assert Path(cmdline(pid)[0]).name == "node"
    finally:
        stop(proc)


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "switchboard", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENGINE_ENV,
    )


@pytest.mark.skipif(not os.path.exists("/usr/bin/python3"), reason="no system python3")
async def test_pipx_run_without_uv_uses_a_venv_and_pip(paths: AppPaths) -> None:
    """No uv on PATH: ``python3 -m venv`` + pip, the console script found in the venv;
    an unpinned ``pipx run`` is pinned to the version pip chose."""
    resolver = PackageResolver(paths.cache_dir / "packages")
    notes: list[str] = []
    path = "/usr/bin:/bin"
    launch = await resolver(
        "pipx",
        ["run", "mcp-server-time", "--local-timezone", "UTC"],
        path=path,
        env={**os.environ, "PATH": path},
        note=notes.append,
    )
    assert launch is not None
    script = Path(launch.argv[0])
    assert script.name == "mcp-server-time" and os.access(script, os.X_OK)
    assert script.parent.parent.name.startswith("mcp-server-time@")
    assert launch.argv[1:] == ("--local-timezone", "UTC")
    assert any(n.startswith("pinned mcp-server-time ") for n in notes)
    assert (script.parent / "pip").exists()  # made by venv + pip, not uv
