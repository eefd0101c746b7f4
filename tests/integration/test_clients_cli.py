"""``switchboard client list | connect | disconnect`` as a person runs it (a real
process; HOME points at a temporary folder holding the clients' configs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from switchboard.clients.jsonc import parse
from switchboard.core.group import GroupSpec
from switchboard.core.paths import AppPaths
from switchboard.core.spec import ServerSpec, Settings
from switchboard.store.config import Config, ConfigStore


def run(home: Path, sb_home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "SWITCHBOARD_"))}
    env["HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "switchboard", "--home", str(sb_home), "client", *argv],
        text=True,
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_client_cli_connect_list_disconnect(tmp_path: Path) -> None:
    home = tmp_path / "me"
    sb_home = tmp_path / "sb"
    paths = AppPaths.default(sb_home)
    ConfigStore(paths.config_file).save(
        Config(
            settings=Settings(port=18765),
            servers=(ServerSpec("time", "uvx", ("mcp-server-time",)),),
        )
    )
    cursor = home / ".cursor" / "mcp.json"
    cursor.parent.mkdir(parents=True)
    cursor.write_text('{\n  // mine\n  "mcpServers": {}\n}\n')
    (home / ".continue").mkdir()

    listed = run(home, sb_home, "list")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines() if line.strip()}
    assert "installed" in rows["cursor"]
    assert "installed" in rows["continue"]
    assert rows["zed"].split()[2] == "-"

    done = run(home, sb_home, "connect", "--detected", "claude-desktop")
    assert done.returncode == 0, done.stderr
    assert "added: time" in done.stdout
    url = "http://127.0.0.1:18765/servers/time/mcp"
    text = cursor.read_text()
    assert "// mine" in text
    assert parse(text)["mcpServers"]["time"] == {"url": url}
    assert url in (home / ".continue" / "config.yaml").read_text()
    desktop = json.loads((home / ".config" / "Claude" / "claude_desktop_config.json").read_text())
    entry = desktop["mcpServers"]["time"]
    assert entry["args"][-4:] == ["--home", str(sb_home.resolve()), "connect", "time"]
    assert Path(entry["command"]).is_absolute()

    listed = run(home, sb_home, "list", "--why")
    assert "stdio: 0.3.x documents remote servers only" in listed.stdout
    assert "connected" in listed.stdout
    assert "1 server(s)" in listed.stdout

    bad = run(home, sb_home, "connect", "notepad")
    assert bad.returncode == 1
    assert "Known clients" in bad.stderr

    gone = run(home, sb_home, "disconnect", "cursor", "continue", "claude-desktop")
    assert gone.returncode == 0, gone.stderr
    assert cursor.read_text() == '{\n  // mine\n  "mcpServers": {}\n}\n'
    continue_yaml = (home / ".continue" / "config.yaml").read_text()
    assert continue_yaml == "name: Local Assistant\nversion: 1.0.0\nschema: v1\n"


def test_one_odd_file_does_not_stop_the_others(tmp_path: Path) -> None:
    """Issue 11.7: `client connect codex cursor` with Codex's servers written as an
    inline table died with a raw traceback before touching Cursor."""
    home = tmp_path / "me"
    sb_home = tmp_path / "sb"
    paths = AppPaths.default(sb_home)
    ConfigStore(paths.config_file).save(
        Config(
            settings=Settings(port=18765),
            servers=(ServerSpec("time", "uvx", ("mcp-server-time",)),),
        )
    )
    codex = home / ".codex" / "config.toml"
    codex.parent.mkdir(parents=True)
    inline = 'mcp_servers = { docs = { command = "npx", args = ["-y", "docs"] } }\n'
    codex.write_text(inline)
    done = run(home, sb_home, "connect", "codex", "cursor")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "Codex:" in done.stdout and "inline table" in done.stdout
    assert "[mcp_servers.NAME]" in done.stdout
    assert codex.read_text() == inline
    cursor = parse((home / ".cursor" / "mcp.json").read_text())
    assert cursor["mcpServers"]["time"] == {"url": "http://127.0.0.1:18765/servers/time/mcp"}

    codex.write_text('model = "gpt-5-codex"\n')
    done = run(home, sb_home, "connect", "codex")
    assert done.returncode == 0, done.stderr
    assert "codex mcp login NAME" in done.stdout
    assert 'oauth_resource = "http://127.0.0.1:18765/servers/time/mcp"' in codex.read_text()
    gone = run(home, sb_home, "disconnect", "codex")
    assert gone.returncode == 0, gone.stderr
    assert codex.read_text() == 'model = "gpt-5-codex"\n'


def test_client_cli_connect_a_group(tmp_path: Path) -> None:
    """``client connect CLIENT --group G``: one entry named after the group, at its URL
    (Cursor) or through ``connect --group G`` (Claude Desktop); the servers get none."""
    home = tmp_path / "me"
    sb_home = tmp_path / "sb"
    paths = AppPaths.default(sb_home)
    ConfigStore(paths.config_file).save(
        Config(
            settings=Settings(port=18765),
            servers=(
                ServerSpec("time", "uvx", ("mcp-server-time",)),
                ServerSpec("fetch", "uvx", ("mcp-server-fetch",)),
            ),
            groups=(GroupSpec("work", servers=("time", "fetch")),),
        )
    )
    cursor = home / ".cursor" / "mcp.json"
    desktop = home / ".config" / "Claude" / "claude_desktop_config.json"
    cursor.parent.mkdir(parents=True)
    cursor.write_text('{\n  // mine\n  "mcpServers": {}\n}\n')

    unknown = run(home, sb_home, "connect", "cursor", "--group", "nope")
    assert unknown.returncode != 0
    assert "Unknown group 'nope'" in unknown.stderr and "group list" in unknown.stderr

    done = run(home, sb_home, "connect", "cursor", "claude-desktop", "--group", "work")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("added: work") == 2, done.stdout
    entries = parse(cursor.read_text())["mcpServers"]
    assert entries == {"work": {"url": "http://127.0.0.1:18765/groups/work/mcp"}}
    bridge = parse(desktop.read_text())["mcpServers"]
    assert list(bridge) == ["work"]
    assert bridge["work"]["args"][-3:] == ["connect", "--group", "work"]
    assert "--home" in bridge["work"]["args"]  # this instance's home, as for servers

    listed = run(home, sb_home, "list")
    rows = {line.split()[0]: line for line in listed.stdout.splitlines() if line.strip()}
    assert "connected" in rows["cursor"] and "group(s): work" in rows["cursor"]

    gone = run(home, sb_home, "disconnect", "cursor", "--group", "work")
    assert gone.returncode == 0, gone.stderr
    assert "removed: work" in gone.stdout
    assert cursor.read_text() == '{\n  // mine\n  "mcpServers": {}\n}\n'
    again = run(home, sb_home, "disconnect", "cursor", "--group", "work")
    assert again.returncode == 1 and "not connected to the group 'work'" in again.stdout


def test_connect_to_a_team_url_is_one_entry_that_syncs_leave_alone(tmp_path: Path) -> None:
    """Issue 17.3: ``client connect --remote URL`` moves a client to the team's cluster."""
    home = tmp_path / "me"
    sb_home = tmp_path / "sb"
    paths = AppPaths.default(sb_home)
    ConfigStore(paths.config_file).save(
        Config(
            settings=Settings(port=18765),
            servers=(ServerSpec("time", "uvx", ("mcp-server-time",)),),
        )
    )
    cursor = home / ".cursor" / "mcp.json"
    cursor.parent.mkdir(parents=True)
    cursor.write_text('{\n  // mine\n  "mcpServers": {}\n}\n')
    team = "https://mcp.example.com/dev/mcp"
    done = run(home, sb_home, "connect", "cursor", "claude-desktop", "--remote", team)
    assert done.returncode == 0, done.stderr
    assert "added: dev" in done.stdout
    assert parse(cursor.read_text())["mcpServers"]["dev"] == {"url": team}
    desktop = json.loads((home / ".config" / "Claude" / "claude_desktop_config.json").read_text())
    assert desktop["mcpServers"]["dev"]["command"] == "npx"
    assert desktop["mcpServers"]["dev"]["args"][-1] == team
    assert "mcp-remote@" in desktop["mcpServers"]["dev"]["args"][1]

    # Connecting (and disconnecting) the local servers keeps the team entry.
    assert run(home, sb_home, "connect", "cursor").returncode == 0
    assert set(parse(cursor.read_text())["mcpServers"]) == {"dev", "time"}
    assert run(home, sb_home, "disconnect", "cursor").returncode == 0
    assert set(parse(cursor.read_text())["mcpServers"]) == {"dev"}

    # Another URL under the same name is not overwritten; plain http off this computer
    # is refused; --name picks the entry's name.
    other = run(
        home,
        sb_home,
        "connect",
        "cursor",
        "--remote",
        "https://other.example/x/mcp",
        "--name",
        "dev",
    )
    assert other.returncode == 1
    assert "skipped dev" in other.stdout and "does not manage" not in other.stdout
    assert parse(cursor.read_text())["mcpServers"]["dev"] == {"url": team}
    plain = run(home, sb_home, "connect", "cursor", "--remote", "http://10.0.0.5/mcp")
    assert plain.returncode != 0 and "https" in plain.stderr
