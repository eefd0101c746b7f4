"""Codex: the entry carries ``oauth_resource`` and the person is told to run
``codex mcp login``; an inline ``mcp_servers = { ... }`` table is refused cleanly
and never stops the other clients from being updated."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from switchboard.clients.jsonc import parse
from switchboard.clients.known_clients import BY_ID, HostEnv
from switchboard.clients.manager import ClientManager
from switchboard.core.errors import ClientConfigError
from switchboard.core.paths import AppPaths

URL = "http://127.0.0.1:8765/servers/time/mcp"
INLINE = 'model = "gpt-5-codex"\nmcp_servers = { docs = { command = "npx", args = ["-y"] } }\n'


@pytest.fixture
def host(tmp_path: Path) -> HostEnv:
    return HostEnv("linux", tmp_path / "me", {})


@pytest.fixture
def manager(paths: AppPaths, host: HostEnv) -> ClientManager:
    return ClientManager(paths, host=host, connect_command=("/bin/switchboard",))


def test_entry_has_oauth_resource_and_login_hint(manager: ClientManager, host: HostEnv) -> None:
    report = manager.connect("codex", {"time": URL})
    data = tomllib.loads(BY_ID["codex"].config_path(host).read_text())
    assert data["mcp_servers"]["time"] == {"url": URL, "oauth_resource": URL}
    assert "codex mcp login NAME" in report.todo
    assert "time" in report.todo
    assert any("next: " in line and "codex mcp login" in line for line in report.lines())


def test_inline_table_is_refused_without_a_change(manager: ClientManager, host: HostEnv) -> None:
    path = BY_ID["codex"].config_path(host)
    path.parent.mkdir(parents=True)
    path.write_text(INLINE)
    with pytest.raises(ClientConfigError, match="inline table") as info:
        manager.connect("codex", {"time": URL})
    assert "[mcp_servers.NAME]" in info.value.hint
    assert path.read_text() == INLINE
    # Listing still works (the entries can be read).
    codex = next(i for i in manager.clients() if i.kind.id == "codex")
    assert codex.error == ""


def test_inline_codex_does_not_stop_other_clients(manager: ClientManager, host: HostEnv) -> None:
    """Issue 11.7: with a Codex inline table, every later sync used to fail, so
    Cursor and VS Code never got a newly added server."""
    path = BY_ID["codex"].config_path(host)
    path.parent.mkdir(parents=True)
    path.write_text(INLINE)
    manager.connect("cursor", {})
    manager.connect("codex", {})  # connected while there was nothing to add
    manager.connect("vscode", {})
    reports = {r.client: r for r in manager.sync({"time": URL})}
    assert "inline table" in reports["codex"].error
    assert reports["cursor"].added == ("time",)
    assert reports["vscode"].added == ("time",)
    cursor = parse(BY_ID["cursor"].config_path(host).read_text())
    assert cursor["mcpServers"]["time"] == {"url": URL}
    assert path.read_text() == INLINE
