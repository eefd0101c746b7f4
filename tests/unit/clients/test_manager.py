"""Client detection, per-OS paths, ownership and safety of config edits."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from switchboard.clients.jsonc import parse
from switchboard.clients.known_clients import BY_ID, KINDS, HostEnv, Target
from switchboard.clients.manager import (
    BACKUP_SUFFIX,
    ClientManager,
    default_connect_command,
    is_ours,
)
from switchboard.core.errors import ClientConfigError, ValidationError
from switchboard.core.paths import AppPaths

URL = "http://127.0.0.1:8765/servers/time/mcp"

LINUX = HostEnv("linux", Path("/home/me"), {})
MAC = HostEnv("darwin", Path("/Users/me"), {})
WIN = HostEnv("windows", Path("C:/Users/me"), {"APPDATA": "C:/Users/me/AppData/Roaming"})

EXPECTED = {
    # id: (linux, darwin, windows)
    "cursor": (
        "/home/me/.cursor/mcp.json",
        "/Users/me/.cursor/mcp.json",
        "C:/Users/me/.cursor/mcp.json",
    ),
    "vscode": (
        "/home/me/.config/Code/User/mcp.json",
        "/Users/me/Library/Application Support/Code/User/mcp.json",
        "C:/Users/me/AppData/Roaming/Code/User/mcp.json",
    ),
    "vscode-insiders": (
        "/home/me/.config/Code - Insiders/User/mcp.json",
        "/Users/me/Library/Application Support/Code - Insiders/User/mcp.json",
        "C:/Users/me/AppData/Roaming/Code - Insiders/User/mcp.json",
    ),
    "claude-code": ("/home/me/.claude.json", "/Users/me/.claude.json", "C:/Users/me/.claude.json"),
    "windsurf": (
        "/home/me/.codeium/windsurf/mcp_config.json",
        "/Users/me/.codeium/windsurf/mcp_config.json",
        "C:/Users/me/.codeium/windsurf/mcp_config.json",
    ),
    "claude-desktop": (
        "/home/me/.config/Claude/claude_desktop_config.json",
        "/Users/me/Library/Application Support/Claude/claude_desktop_config.json",
        "C:/Users/me/AppData/Roaming/Claude/claude_desktop_config.json",
    ),
    "gemini": (
        "/home/me/.gemini/settings.json",
        "/Users/me/.gemini/settings.json",
        "C:/Users/me/.gemini/settings.json",
    ),
    "codex": (
        "/home/me/.codex/config.toml",
        "/Users/me/.codex/config.toml",
        "C:/Users/me/.codex/config.toml",
    ),
    "zed": (
        "/home/me/.config/zed/settings.json",
        "/Users/me/.config/zed/settings.json",
        "C:/Users/me/AppData/Roaming/Zed/settings.json",
    ),
    "continue": (
        "/home/me/.continue/config.yaml",
        "/Users/me/.continue/config.yaml",
        "C:/Users/me/.continue/config.yaml",
    ),
    "goose": (
        "/home/me/.config/goose/config.yaml",
        "/Users/me/.config/goose/config.yaml",
        "C:/Users/me/AppData/Roaming/Block/goose/config/config.yaml",
    ),
    "lmstudio": (
        "/home/me/.lmstudio/mcp.json",
        "/Users/me/.lmstudio/mcp.json",
        "C:/Users/me/.lmstudio/mcp.json",
    ),
    "cline": (
        "/home/me/.cline/data/settings/cline_mcp_settings.json",
        "/Users/me/.cline/data/settings/cline_mcp_settings.json",
        "C:/Users/me/.cline/data/settings/cline_mcp_settings.json",
    ),
    "kiro": (
        "/home/me/.kiro/settings/mcp.json",
        "/Users/me/.kiro/settings/mcp.json",
        "C:/Users/me/.kiro/settings/mcp.json",
    ),
    "opencode": (
        "/home/me/.config/opencode/opencode.json",
        "/Users/me/.config/opencode/opencode.json",
        "C:/Users/me/.config/opencode/opencode.json",
    ),
}


def test_every_client_has_expected_paths() -> None:
    assert sorted(EXPECTED) == sorted(k.id for k in KINDS)


@pytest.mark.parametrize("kind_id", sorted(EXPECTED))
def test_config_paths_per_os(kind_id: str) -> None:
    kind = BY_ID[kind_id]
    got = tuple(kind.config_path(h).as_posix() for h in (LINUX, MAC, WIN))
    assert got == EXPECTED[kind_id]


def test_env_overrides_xdg_and_codex_home() -> None:
    host = HostEnv("linux", Path("/home/me"), {"XDG_CONFIG_HOME": "/x", "CODEX_HOME": "/c"})
    assert BY_ID["zed"].config_path(host) == Path("/x/zed/settings.json")
    assert BY_ID["vscode"].config_path(host) == Path("/x/Code/User/mcp.json")
    assert BY_ID["codex"].config_path(host) == Path("/c/config.toml")
    relative = HostEnv("linux", Path("/home/me"), {"XDG_CONFIG_HOME": "rel"})
    assert BY_ID["zed"].config_path(relative) == Path("/home/me/.config/zed/settings.json")


@pytest.fixture
def host(tmp_path: Path) -> HostEnv:
    return HostEnv("linux", tmp_path / "me", {})


@pytest.fixture
def manager(paths: AppPaths, host: HostEnv) -> ClientManager:
    return ClientManager(paths, host=host, connect_command=("/bin/switchboard",))


def test_detection_by_app_directory(manager: ClientManager, host: HostEnv) -> None:
    assert not any(i.installed for i in manager.clients())
    (host.home / ".cursor").mkdir(parents=True)
    (host.home / ".config" / "Code" / "User").mkdir(parents=True)
    installed = sorted(i.kind.id for i in manager.clients() if i.installed)
    assert installed == ["cursor", "vscode"]


def test_detection_by_command_on_path(paths: AppPaths, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "codex"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    host = HostEnv("linux", tmp_path / "me", {"PATH": str(bin_dir)})
    manager = ClientManager(paths, host=host, connect_command=("/bin/switchboard",))
    assert [i.kind.id for i in manager.clients() if i.installed] == ["codex"]


def test_is_ours() -> None:
    assert is_ours({"url": URL}, "time")
    assert is_ours({"type": "http", "url": "http://localhost:9000/servers/time/mcp"}, "time")
    assert is_ours({"command": "/x/switchboard", "args": ["connect", "time"]}, "time")
    assert is_ours({"command": "python", "args": ["-m", "switchboard", "connect", "time"]}, "time")
    assert not is_ours({"url": URL}, "other")
    assert not is_ours({"url": "https://example.com/servers/time/mcp"}, "time")
    assert not is_ours({"command": "npx", "args": ["connect", "time"]}, "time")
    assert not is_ours({"command": "uvx", "args": ["mcp-server-time"]}, "time")


def test_conflicting_entry_of_the_person_is_left_alone(
    manager: ClientManager, host: HostEnv
) -> None:
    path = host.home / ".cursor" / "mcp.json"
    path.parent.mkdir(parents=True)
    mine = {"mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"]}}}
    path.write_text(json.dumps(mine))
    report = manager.connect("cursor", {"time": URL})
    assert report.conflicts == ("time",)
    assert not report.written
    assert json.loads(path.read_text()) == mine
    assert any("already has its own entry" in line for line in report.lines())
    manager.disconnect("cursor")
    assert json.loads(path.read_text()) == mine


def test_url_change_updates_the_entry(manager: ClientManager, host: HostEnv) -> None:
    manager.connect("cursor", {"time": URL})
    moved = URL.replace("8765", "9999")
    report = manager.connect("cursor", {"time": moved})
    assert report.updated == ("time",)
    data = json.loads((host.home / ".cursor" / "mcp.json").read_text())
    assert data["mcpServers"]["time"] == {"url": moved}


def test_broken_file_is_never_written(manager: ClientManager, host: HostEnv) -> None:
    path = host.home / ".cursor" / "mcp.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"mcpServers": {')
    with pytest.raises(ClientConfigError, match="not valid JSON"):
        manager.connect("cursor", {"time": URL})
    assert path.read_text() == '{"mcpServers": {'
    assert not path.with_name(path.name + BACKUP_SUFFIX).exists()
    info = next(i for i in manager.clients() if i.kind.id == "cursor")
    assert "not valid JSON" in info.error


def test_wrong_container_type_is_reported(manager: ClientManager, host: HostEnv) -> None:
    path = host.home / ".cursor" / "mcp.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"mcpServers": [1]}')
    with pytest.raises(ClientConfigError, match="mcpServers is list"):
        manager.connect("cursor", {"time": URL})


def test_symlinked_config_is_followed(
    manager: ClientManager, host: HostEnv, tmp_path: Path
) -> None:
    real = tmp_path / "dotfiles" / "mcp.json"
    real.parent.mkdir()
    real.write_text("{}\n")
    link = host.home / ".cursor" / "mcp.json"
    link.parent.mkdir(parents=True)
    link.symlink_to(real)
    manager.connect("cursor", {"time": URL})
    assert link.is_symlink()
    assert parse(real.read_text())["mcpServers"]["time"] == {"url": URL}
    assert real.with_name("mcp.json" + BACKUP_SUFFIX).read_text() == "{}\n"


def test_sync_touches_only_connected_clients_and_survives_a_broken_one(
    manager: ClientManager, host: HostEnv
) -> None:
    manager.connect("cursor", {})
    manager.connect("kiro", {})
    kiro = BY_ID["kiro"].config_path(host)
    kiro.parent.mkdir(parents=True, exist_ok=True)
    kiro.write_text("{broken")
    reports = manager.sync({"time": URL})
    assert [r.client for r in reports] == ["cursor", "kiro"]
    assert reports[0].added == ("time",) and not reports[0].error
    assert "not valid JSON" in reports[1].error
    assert any("not updated" in line for line in reports[1].lines())
    assert kiro.read_text() == "{broken"
    assert not BY_ID["lmstudio"].config_path(host).exists()
    assert manager.connected() == ["cursor", "kiro"]
    assert parse(BY_ID["cursor"].config_path(host).read_text())["mcpServers"]["time"]["url"] == URL


def test_any_failure_of_one_client_is_isolated(paths: AppPaths, host: HostEnv) -> None:
    """Not only ClientConfigError: a bug in one client's writer (here its entry
    builder raising) is reported for that client and the others are still updated."""

    def explode(target: Target) -> dict[str, Any]:
        raise RuntimeError("boom")

    broken = dataclasses.replace(BY_ID["kiro"], entry=explode)
    kinds = [BY_ID["cursor"], broken, BY_ID["vscode"]]
    manager = ClientManager(paths, host=host, connect_command=("/bin/switchboard",), kinds=kinds)
    for client_id in ("cursor", "kiro", "vscode"):
        manager._set_connected(client_id, True)
    reports = {r.client: r for r in manager.sync({"time": URL})}
    assert reports["cursor"].added == ("time",)
    assert reports["vscode"].added == ("time",)
    assert "RuntimeError: boom" in reports["kiro"].error
    assert not reports["kiro"].written
    with pytest.raises(ClientConfigError, match="could not edit"):
        manager.connect("kiro", {"time": URL})


def test_cline_writes_where_the_installed_cline_reads(paths: AppPaths, tmp_path: Path) -> None:
    host = HostEnv("linux", tmp_path / "me", {})
    kind = BY_ID["cline"]
    current = tmp_path / "me" / ".cline" / "data" / "settings" / "cline_mcp_settings.json"
    legacy = (
        tmp_path
        / "me/.config/Code/User/globalStorage/saoudrizwan.claude-dev/settings"
        / "cline_mcp_settings.json"
    )
    manager = ClientManager(paths, host=host, connect_command=("/bin/switchboard",))
    assert not manager.installed(kind)
    # Only the old VS Code extension's file: that is the one it reads.
    legacy.parent.mkdir(parents=True)
    legacy.write_text('{"mcpServers": {}}')
    assert manager.installed(kind)
    assert manager.config_path(kind) == legacy
    # Cline moved to ~/.cline/data (IDE, CLI and SDK): write there from now on.
    current.parent.mkdir(parents=True)
    assert manager.config_path(kind) == current
    manager.connect("cline", {"time": URL})
    assert parse(current.read_text())["mcpServers"]["time"]["url"] == URL
    assert legacy.read_text() == '{"mcpServers": {}}'
    moved = HostEnv("linux", tmp_path / "you", {"CLINE_DIR": str(tmp_path / "c")})
    assert kind.config_path(moved) == tmp_path / "c/data/settings/cline_mcp_settings.json"
    data_dir = HostEnv("linux", tmp_path / "you", {"CLINE_DATA_DIR": str(tmp_path / "d")})
    assert kind.config_path(data_dir) == tmp_path / "d/settings/cline_mcp_settings.json"


def test_every_client_says_why_it_gets_its_form() -> None:
    for kind in KINDS:
        assert kind.form_reason.startswith(("URL:", "stdio:")), kind.id
        assert kind.form_reason.startswith("stdio:") == kind.stdio_only, kind.id
        assert "http" in kind.form_reason or "/" in kind.form_reason, kind.id
    stdio = sorted(k.id for k in KINDS if k.stdio_only)
    assert stdio == ["claude-desktop", "kiro", "lmstudio", "windsurf", "zed"]


def test_lm_studio_gets_the_stdio_bridge(manager: ClientManager, host: HostEnv) -> None:
    """LM Studio 0.3.x does no MCP OAuth: a URL entry would only ever get a 401."""
    manager.connect("lmstudio", {"time": URL})
    data = parse(BY_ID["lmstudio"].config_path(host).read_text())
    assert data["mcpServers"]["time"] == {
        "command": "/bin/switchboard",
        "args": ["connect", "time"],
    }


def test_unknown_client_lists_known_ones(manager: ClientManager) -> None:
    with pytest.raises(ValidationError, match="cursor"):
        manager.connect("notepad", {})


def test_connect_command_carries_home_of_a_home_instance(tmp_path: Path) -> None:
    paths = AppPaths.default(tmp_path / "inst")
    argv = default_connect_command(paths)
    assert argv[-2:] == ("--home", str((tmp_path / "inst").resolve()))
    assert Path(argv[0]).is_absolute()
