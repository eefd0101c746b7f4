"""``switchboard group ...`` as a person runs it: a real ``switchboard serve`` process
and the CLI in separate processes, talking over the control API (issue 14)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from switchboard.core.group import GroupSpec, MemberChoices, Naming, ToolChoice
from switchboard.core.paths import AppPaths
from switchboard.store.config import ConfigStore
from tests.conftest import fixture_cmd
from tests.helpers.engine_process import ENGINE_ENV, serve, stop, wait_ready


class Cli:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.paths = AppPaths.default(home)

    def __call__(self, *argv: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            [sys.executable, "-m", "switchboard", "--home", str(self.home), *argv],
            capture_output=True,
            text=True,
            env=ENGINE_ENV,
            timeout=120,
            check=False,
        )
        assert "Traceback" not in out.stderr, out.stderr
        if ok:
            assert out.returncode == 0, (argv, out.stdout, out.stderr)
        return out

    def group(self, name: str) -> GroupSpec:
        return ConfigStore(self.paths.config_file).load().group(name)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Cli, str]]:
    """Servers ``a`` and ``b`` (echo) added offline, then a running engine."""
    cli = Cli(tmp_path / "sb")
    cmd, args = fixture_cmd("echo_server.py")
    for name in ("a", "b"):
        cli("add", name, "--", cmd, *args)
    proc = serve(cli.home)
    try:
        url = wait_ready(proc)
        yield cli, url
    finally:
        stop(proc)


def test_group_verbs_against_a_running_engine(running: tuple[Cli, str]) -> None:
    cli, base = running
    made = cli("group", "create", "dev", "a", "ghost", "--naming", "priority")
    assert f"Created group dev: {base}/groups/dev/mcp" in made.stdout
    assert "'ghost' is not a configured server (yet)" in made.stdout
    assert "not running" not in made.stdout  # it applied live
    assert cli("group", "add", "dev", "b", "a").stdout.splitlines() == [
        "a is a member of dev already.",
        "Added b to group dev.",
    ]
    cli("group", "tool", "off", "dev", "a", "sleep")
    cli("group", "tool", "rename", "dev", "a", "echo", "shout")
    cli("group", "tool", "describe", "dev", "a", "echo", "Says it back.")
    cli("group", "prompt", "off", "dev", "a", "greeting")
    cli("group", "resource", "off", "dev", "b", "file:///x")
    cli("group", "lean", "dev", "on")
    cli("group", "naming", "dev", "prefix")
    assert cli.group("dev") == GroupSpec(
        "dev",
        servers=("a", "ghost", "b"),
        naming=Naming.PREFIX,
        lean=True,
        choices={
            "a": MemberChoices(
                tools={
                    "sleep": ToolChoice(enabled=False),
                    "echo": ToolChoice(rename="shout", description="Says it back."),
                },
                prompts_off=frozenset({"greeting"}),
            ),
            "b": MemberChoices(resources_off=frozenset({"file:///x"})),
        },
    )
    cli("group", "tool", "describe", "dev", "a", "echo", "")  # back to the server's
    cli("group", "tool", "rename", "dev", "a", "echo", "")
    cli("group", "prompt", "on", "dev", "a", "greeting")
    assert set(cli.group("dev").member("a").tools) == {"sleep"}

    bad = cli("group", "tool", "off", "dev", "nobody", "x", ok=False)
    assert bad.returncode == 1
    assert "error: 'nobody' is not a member of group 'dev'." in bad.stderr
    assert "hint: Its members: a, ghost, b." in bad.stderr
    bad = cli("group", "tool", "rename", "dev", "a", "echo", "has space", ok=False)
    assert "Invalid tool name 'has space'" in bad.stderr
    bad = cli("group", "show", "nope", ok=False)
    assert "error: No group named 'nope'." in bad.stderr
    assert "hint: Run 'switchboard group list'" in bad.stderr
    bad = cli("group", "create", "dev", ok=False)
    assert "A group named 'dev' exists already." in bad.stderr

    started = cli("group", "start", "dev").stdout
    assert "a: running (pid " in started and "b: running (pid " in started
    assert "ghost: missing (not a configured server; skipped)" in started
    shown = cli("group", "show", "dev").stdout
    assert "naming:   prefix" in shown and "lean:     on" in shown
    assert "ghost                MISSING (not a configured server)" in shown
    assert "a                    running" in shown
    assert "a: tool sleep off" in shown
    assert "live tools (5 exposed):" in shown  # 3 tools each; a's sleep is off
    assert "a__echo " in shown and "b__sleep " in shown  # prefix naming
    assert "- (filter)                               sleep" in shown
    assert "ghost (missing)" in shown
    listed = json.loads(cli("group", "list", "--json").stdout)["groups"]
    assert [g["spec"]["name"] for g in listed] == ["dev"]
    assert [m["state"] for m in listed[0]["members"]] == ["running", "missing", "running"]
    detail = json.loads(cli("group", "show", "dev", "--json").stdout)
    assert detail["url"] == f"{base}/groups/dev/mcp"
    stopped = cli("group", "stop", "dev").stdout
    assert "a: stopped" in stopped and "b: stopped" in stopped

    assert cli("group", "url", "dev").stdout.strip() == f"{base}/groups/dev/mcp"
    assert cli("group", "url", "dev", "--sse").stdout.strip() == f"{base}/groups/dev/sse"

    removed = cli("remove", "a").stdout
    assert "Removed a (also from group(s): dev)." in removed
    assert cli.group("dev").servers == ("ghost", "b")
    assert "a" not in cli.group("dev").choices

    cli("group", "remove", "dev", "ghost")
    renamed = cli("group", "rename", "dev", "work").stdout
    assert f"its URL is now {base}/groups/work/mcp" in renamed
    assert cli.group("work").choices == {"b": MemberChoices(resources_off=frozenset({"file:///x"}))}
    assert "Deleted group work" in cli("group", "delete", "work").stdout
    assert "No groups." in cli("group", "list").stdout


def test_groups_export_and_import_into_a_running_engine(running: tuple[Cli, str]) -> None:
    cli, _ = running
    cli("group", "create", "dev", "a", "ghost")
    cli("group", "tool", "off", "dev", "a", "sleep")
    exported = cli.home / "dev.toml"
    assert "1 server(s) and 1 group(s)" in cli("export", str(exported), "dev").stdout
    text = exported.read_text()
    assert '[[groups]]\nname = "dev"' in text and 'name = "a"' in text and 'name = "b"' not in text
    cli("group", "delete", "dev")

    imported = cli("import", str(exported)).stdout
    assert "add       group dev: a, ghost" in imported
    assert "Imported 0 server(s) and 1 group(s); 1 unchanged, 0 conflict(s)." in imported
    assert cli.group("dev").servers == ("a", "ghost")  # the missing member is kept
    assert not cli.group("dev").member("a").tool("sleep").enabled
    assert "a                    stopped" in cli("group", "show", "dev").stdout

    cli("group", "lean", "dev", "on")
    again = cli("import", str(exported), ok=False)
    assert again.returncode == 1
    assert "CONFLICT  group dev: exists with different lean; kept yours" in again.stdout
    assert cli.group("dev").lean
