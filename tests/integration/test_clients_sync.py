"""Connected clients follow the engine: servers added or removed appear in and
disappear from their configs; a start reconciles changes made while it was down."""

from __future__ import annotations

import os
from pathlib import Path

from switchboard.clients.jsonc import parse
from switchboard.clients.known_clients import BY_ID, HostEnv
from switchboard.clients.manager import ClientManager
from switchboard.core.group import GroupSpec
from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, ServerSpec
from switchboard.engine import Engine
from switchboard.store.config import ConfigStore
from tests.conftest import fixture_cmd, make_test_engine


def _engine(
    paths: AppPaths, host: HostEnv, connect_command: tuple[str, ...] | None = ("/sb",)
) -> Engine:
    """``connect_command=None``: the real argv."""
    return make_test_engine(
        paths, client_manager=ClientManager(paths, host=host, connect_command=connect_command)
    )


def _cursor(host: HostEnv) -> dict[str, object]:
    data = parse(BY_ID["cursor"].config_path(host).read_text("utf-8"))
    assert isinstance(data, dict)
    servers = data["mcpServers"]
    assert isinstance(servers, dict)
    return servers


def _claude_desktop(host: HostEnv) -> dict[str, object]:
    data = parse(BY_ID["claude-desktop"].config_path(host).read_text("utf-8"))
    assert isinstance(data, dict)
    servers = data["mcpServers"]
    assert isinstance(servers, dict)
    return servers


async def test_clients_follow_server_add_and_remove(paths: AppPaths, tmp_path: Path) -> None:
    host = HostEnv("linux", tmp_path / "me", {})
    command, args = fixture_cmd("echo_server.py")
    ConfigStore(paths.config_file).update(lambda c: c.with_server(ServerSpec("old", command, args)))
    manager = ClientManager(paths, host=host, connect_command=("/sb",))
    manager.connect("cursor", {"stale": "http://127.0.0.1:1/servers/stale/mcp"})
    manager.connect("claude-desktop", {})

    engine = _engine(paths, host)
    await engine.start()
    try:
        await engine.client_sync.idle()
        # The start reconciled: the stale entry is gone, the configured server is in.
        assert _cursor(host) == {"old": {"url": engine.server_url("old")}}
        assert _claude_desktop(host) == {"old": {"command": "/sb", "args": ["connect", "old"]}}

        await engine.add_server(ServerSpec("echo", command, args))
        await engine.client_sync.idle()
        assert sorted(_cursor(host)) == ["echo", "old"]
        assert _cursor(host)["echo"] == {"url": engine.server_url("echo")}

        await engine.remove_server("old")
        await engine.client_sync.idle()
        assert sorted(_cursor(host)) == ["echo"]
        assert sorted(_claude_desktop(host)) == ["echo"]
    finally:
        await engine.aclose()
    # Not connected clients were never touched.
    assert not BY_ID["vscode"].config_path(host).exists()


async def test_stdio_client_entry_runs_through_the_bridge(paths: AppPaths, tmp_path: Path) -> None:
    """What Claude Desktop would run, run for real: the entry's command bridges stdio
    to the gateway and the server answers."""
    from mcp import Client, StdioServerParameters

    host = HostEnv("linux", tmp_path / "me", {})
    engine = _engine(paths, host, connect_command=None)  # the real argv
    await engine.start()
    try:
        command, args = fixture_cmd("echo_server.py")
        # auth=off: the bridge's token handling is the gateway's and auth's to test.
        await engine.add_server(ServerSpec("echo", command, args, auth=AuthMode.OFF))
        await engine.start_server("echo")
        manager = engine.client_sync.manager
        manager.connect("claude-desktop", engine.client_sync.servers())
        entry = _claude_desktop(host)["echo"]
        assert isinstance(entry, dict)
        params = StdioServerParameters(
            command=entry["command"], args=entry["args"], env=dict(os.environ)
        )
        async with Client(params, mode="legacy") as client:
            result = await client.call_tool("echo", {"text": "via the bridge"})
        block = result.content[0]
        assert getattr(block, "text", None) == "via the bridge"
    finally:
        await engine.aclose()


async def test_a_refused_client_does_not_hold_back_the_others(
    paths: AppPaths, tmp_path: Path
) -> None:
    """Issue 11.7 with the real engine: a connected Codex whose servers are an inline
    table fails every sync; Cursor and VS Code still get each new server."""
    host = HostEnv("linux", tmp_path / "me", {})
    codex = BY_ID["codex"].config_path(host)
    codex.parent.mkdir(parents=True)
    inline = 'mcp_servers = { docs = { command = "npx" } }\n'
    codex.write_text(inline)
    manager = ClientManager(paths, host=host, connect_command=("/sb",))
    for client_id in ("codex", "cursor", "vscode"):
        manager.connect(client_id, {})
    engine = _engine(paths, host)
    await engine.start()
    try:
        await engine.client_sync.idle()
        command, args = fixture_cmd("echo_server.py")
        await engine.add_server(ServerSpec("echo", command, args))
        await engine.client_sync.idle()
        assert _cursor(host) == {"echo": {"url": engine.server_url("echo")}}
        vscode = parse(BY_ID["vscode"].config_path(host).read_text("utf-8"))
        assert vscode["servers"]["echo"] == {"type": "http", "url": engine.server_url("echo")}
        assert codex.read_text() == inline
        failed = [r for r in engine.client_sync.last_reports if r.error]
        assert [r.client for r in failed] == ["codex"]
    finally:
        await engine.aclose()


async def test_clients_connected_to_a_group_follow_it(paths: AppPaths, tmp_path: Path) -> None:
    """A client connected to a group keeps one entry for it: new servers do not add
    entries, a renamed group's entry follows the new name, a removed group's goes."""
    host = HostEnv("linux", tmp_path / "me", {})
    command, args = fixture_cmd("echo_server.py")
    engine = _engine(paths, host)
    await engine.start()
    try:
        await engine.add_server(ServerSpec("old", command, args))
        await engine.add_group(GroupSpec("work", servers=("old",)))
        manager = engine.client_sync.manager
        groups = engine.client_sync.groups()
        assert groups == {"work": engine.group_url("work")}
        manager.connect("cursor", engine.client_sync.servers(), group="work", groups=groups)
        manager.connect("claude-desktop", {}, group="work", groups=groups)
        assert _cursor(host) == {"work": {"url": engine.group_url("work")}}

        await engine.add_server(ServerSpec("echo", command, args))
        await engine.client_sync.idle()
        assert _cursor(host) == {"work": {"url": engine.group_url("work")}}

        await engine.rename_group("work", "team")
        await engine.client_sync.idle()
        assert _cursor(host) == {"team": {"url": engine.group_url("team")}}
        assert _claude_desktop(host) == {
            "team": {"command": "/sb", "args": ["connect", "--group", "team"]}
        }
        assert manager.groups_of("cursor") == ["team"]

        await engine.remove_group("team")
        await engine.client_sync.idle()
        assert _cursor(host) == {} and _claude_desktop(host) == {}
    finally:
        await engine.aclose()
