"""``switchboard group tool ...`` tells a person when the choice does nothing now (QA,
issue 14): a tool the running member does not have (a typo), or a rename that collides
with another exposed name (the tool is hidden). The choice is kept either way."""

from __future__ import annotations

from pathlib import Path

from switchboard.core.paths import AppPaths
from tests.integration.test_groups_cli import Cli, running

__all__ = ["running"]


def test_tool_choices_note_unknown_tools_and_colliding_renames(running: tuple[Cli, str]) -> None:
    cli, _ = running
    cli("start", "a")
    cli("start", "b")
    cli("group", "create", "dev", "a", "b")
    out = cli("group", "tool", "off", "dev", "a", "ehco").stdout
    assert "tool ehco of a is off" in out
    assert "Note: a has no tool 'ehco' now (its tools: echo" in out
    out = cli("group", "tool", "rename", "dev", "a", "echo", "say").stdout
    assert "Note" not in out
    out = cli("group", "tool", "rename", "dev", "b", "echo", "say").stdout
    assert "Note: 'say' is taken by another tool of the group: echo of b is hidden" in out
    assert cli.group("dev").member("b").tool("echo").rename == "say"  # kept


def test_no_note_without_a_running_engine(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "sb")
    cli("group", "create", "dev", "a")
    out = cli("group", "tool", "off", "dev", "a", "x").stdout
    assert "Note" not in out


def test_rename_says_connected_clients_follow_while_the_engine_runs(
    running: tuple[Cli, str],
) -> None:
    cli, _ = running
    cli("group", "create", "dev", "a")
    out = cli("group", "rename", "dev", "work").stdout
    assert "Clients Switchboard connected to the group follow the new URL" in out
    assert "need the new one" not in out.split("follow the new URL", 1)[0]


def test_codex_next_step_for_a_group_entry_does_not_call_it_a_server(tmp_path: Path) -> None:
    from switchboard.clients.known_clients import HostEnv
    from switchboard.clients.manager import ClientManager

    paths = AppPaths.default(tmp_path / "sb")
    manager = ClientManager(paths, host=HostEnv("linux", tmp_path / "me", {}))
    base = "http://127.0.0.1:8765"
    report = manager.connect("codex", {}, group="work", groups={"work": f"{base}/groups/work/mcp"})
    assert "codex mcp login NAME" in report.todo
    assert "each server" not in report.todo
    assert "(work)" in report.todo
