"""Groups in export files (issue 14): round trip, missing members kept, conflicts
reported; and the group verbs with no engine running (they edit the config file)."""

from __future__ import annotations

import pytest

from switchboard.cli import main
from switchboard.core.errors import ValidationError
from switchboard.core.group import GroupSpec, MemberChoices, Naming, ToolChoice
from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, ServerSpec, StartMode
from switchboard.store.config import Config, ConfigStore
from switchboard.store.import_export import (
    apply_import,
    export_servers,
    parse_export,
    parse_export_file,
    plan_import,
)

TIME = ServerSpec("time", "uvx", ("mcp-server-time",), start=StartMode.ALWAYS)
DEV = GroupSpec(
    "dev",
    servers=("time", "github"),
    naming=Naming.MANUAL,
    choices={"time": MemberChoices(tools={"now": ToolChoice(rename="clock")})},
)


def test_groups_round_trip_through_an_export_file() -> None:
    text = export_servers([TIME], [DEV, GroupSpec("empty")])
    exported = parse_export_file(text)
    assert exported.groups == (DEV, GroupSpec("empty"))
    assert [s.name for s in exported.servers] == ["time"]
    assert parse_export(text) == list(exported.servers)
    assert "groups" not in export_servers([TIME])  # no groups: the old format exactly
    only_groups = parse_export_file('switchboard_export = 1\n[[groups]]\nname = "g"\n')
    assert only_groups.groups == (GroupSpec("g"),) and only_groups.servers == ()


def test_import_keeps_groups_whose_servers_are_missing_and_reports_conflicts() -> None:
    mine = Config(groups=(GroupSpec("ops", servers=("time",)),))
    theirs = [DEV, GroupSpec("ops", servers=("time",), lean=True), GroupSpec("same")]
    report = plan_import(mine.with_group(GroupSpec("same")), [], theirs)
    assert report.added_groups == (DEV,)
    assert report.unchanged_groups == ("same",)
    (conflict,) = report.conflicts
    assert (conflict.name, conflict.kind, conflict.fields) == ("ops", "group", ("lean",))
    assert "  CONFLICT  group ops: exists with different lean; kept yours" in "\n".join(
        report.lines()[-1:]
    )
    after = apply_import(mine, report)
    assert after.group("dev") == DEV
    assert after.missing_members("dev") == ("time", "github")
    assert not after.group("ops").lean


def test_a_bad_group_imports_nothing() -> None:
    text = (
        'switchboard_export = 1\n[[servers]]\nname = "ok"\ncommand = "x"\n'
        '[[groups]]\nname = "g"\nnaming = "alpha"\n[[groups]]\nname = "h"\n[[groups]]\nname = "h"\n'
    )
    with pytest.raises(ValidationError) as info:
        parse_export_file(text, "shared.toml")
    assert "shared.toml has 2 problem(s); nothing was imported" in info.value.message
    assert "group g: Group 'g': unknown naming 'alpha'" in info.value.message
    assert "group h: appears more than once" in info.value.message


def test_group_verbs_without_an_engine_edit_the_config_file(
    paths: AppPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ["--home", str(paths.config_dir.parent)]
    store = ConfigStore(paths.config_file)
    store.save(Config(servers=(TIME,)))

    assert main([*home, "group", "create", "dev", "time", "github", "--lean"]) == 0
    out = capsys.readouterr().out
    assert "Created group dev: http://127.0.0.1:8765/groups/dev/mcp" in out
    assert "'github' is not a configured server (yet)" in out
    assert "the change is saved and applies when it starts" in out
    assert main([*home, "group", "tool", "off", "dev", "time", "now"]) == 0
    assert main([*home, "group", "resource", "off", "dev", "github", "repo://x"]) == 0
    assert store.load().group("dev").member("time").tool("now") == ToolChoice(enabled=False)
    capsys.readouterr()

    assert main([*home, "group", "show", "dev"]) == 0
    shown = capsys.readouterr().out
    assert "time                 not running" in shown
    assert "github               MISSING" in shown
    assert "github: resource repo://x off" in shown
    assert "live tools: Switchboard is not running" in shown

    assert main([*home, "remove", "time"]) == 0
    assert "Removed time (also from group(s): dev)." in capsys.readouterr().out
    assert store.load().group("dev").servers == ("github",)

    assert main([*home, "group", "rename", "dev", "work"]) == 0
    assert main([*home, "group", "url", "work"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "http://127.0.0.1:8765/groups/work/mcp"
    assert main([*home, "group", "remove", "work", "time"]) == 1
    assert "'time' is not a member of group 'work'" in capsys.readouterr().err
    assert main([*home, "group", "delete", "work"]) == 0
    assert store.load().groups == ()
    capsys.readouterr()
    assert main([*home, "group", "create", "open", "--auth", "off"]) == 0
    assert "Warning: auth is off: anyone on this computer" in capsys.readouterr().err
    assert store.load().group("open").auth is AuthMode.OFF
