"""Groups in the config file (issue 14): ``[[groups]]`` saved and read like servers,
damaged entries named with their line, missing members allowed, server removal and
renaming carried into the groups in the same value."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.cli import main
from switchboard.core.errors import (
    ConfigError,
    GroupExists,
    GroupNotFound,
    ServerExists,
    ValidationError,
)
from switchboard.core.group import GroupSpec, MemberChoices, Naming, ToolChoice
from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, ServerSpec
from switchboard.store.config import Config, ConfigStore, locate

TIME = ServerSpec("time", "uvx", ("mcp-server-time",))
EVERY = ServerSpec("everything", "npx", ("-y", "@modelcontextprotocol/server-everything"))

DEV = GroupSpec(
    name="dev",
    servers=("time", "everything", "github"),  # github is not configured: missing
    naming=Naming.PRIORITY,
    lean=True,
    description="Day to day",
    auth=AuthMode.OFF,
    choices={
        "everything": MemberChoices(
            tools={
                "echo": ToolChoice(enabled=False),
                "add": ToolChoice(rename="plus", description="Adds two numbers."),
            },
            prompts_off=frozenset({"simple_prompt"}),
            resources_off=frozenset({"test://static/resource/1"}),
        ),
        "my.server": MemberChoices(tools={"x": ToolChoice(enabled=False)}),
    },
)


def test_groups_round_trip_through_the_file(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "config.toml")
    config = Config(servers=(TIME, EVERY), groups=(DEV, GroupSpec("empty")))
    store.save(config)
    assert store.load() == config
    text = store.path.read_text()
    assert "[[groups]]" in text
    assert config.missing_members("dev") == ("github",)
    # No [[groups]] is written for a config without groups (files stay as they were).
    store.save(Config(servers=(TIME,)))
    assert "groups" not in store.path.read_text()


GROUP_HEAD = 'version = 1\n[[servers]]\nname = "time"\ncommand = "uvx"\n'
BAD = [
    (GROUP_HEAD + '[[groups]]\nname = "dev"\nservers = "time"\n', "servers must be a list", 7),
    (GROUP_HEAD + '[[groups]]\nname = "dev"\nnaming = "alpha"\n', "unknown naming", 7),
    (GROUP_HEAD + '[[groups]]\nname = "dev"\nlean = "yes"\n', "lean must be true or false", 7),
    (GROUP_HEAD + '[[groups]]\nname = "dev"\ncolour = "red"\n', "Unknown group setting", 7),
    (GROUP_HEAD + '[[groups]]\nname = "dev"\nauth = "external"\n', "cannot use an external", 7),
    (GROUP_HEAD + '[[groups]]\nname = "dev"\nauth = "none"\n', "unknown auth", 7),
    (GROUP_HEAD + '[[groups]]\nservers = ["time"]\n', "has no name", 5),
    (
        GROUP_HEAD + '[[groups]]\nname = "a"\n\n[[groups]]\nname = "b"\nservers = ["Bad"]\n',
        "Invalid server name",
        10,
    ),
    (
        GROUP_HEAD + '[[groups]]\nname = "a"\n\n[[groups]]\nname = "a"\n',
        "Duplicate group name: a",
        9,
    ),
    (
        GROUP_HEAD + '[[groups]]\nname = "dev"\nservers = ["time"]\n\n'
        "[groups.choices.time.tools.now]\n"
        'enabled = "no"\n',
        "must be true or false",
        10,
    ),
    (
        GROUP_HEAD + '[[groups]]\nname = "dev"\nservers = ["time"]\n\n'
        "[groups.choices.time.tools.first]\n"
        'rename = "ok"\n\n'
        "[groups.choices.time.tools.now]\n"
        'description = "x"\n'
        'rename = "has space"\n',
        "Invalid tool name",
        14,
    ),
    (
        GROUP_HEAD + '[[groups]]\nname = "dev"\n\n[groups.choices."my.server"]\n'
        'prompts_off = "p"\n',
        "must be a list of strings",
        9,
    ),
    (
        GROUP_HEAD + '[[groups]]\nname = "dev"\n\n[groups.choices.time.tools.now]\nhidden = true\n',
        "unknown tool choice 'hidden'",
        9,
    ),
    ("version = 1\ngroups = 3\n", "'groups' must be a list", 2),
]


@pytest.mark.parametrize(("text", "message", "line"), BAD)
def test_damaged_group_entries_name_the_line(
    tmp_path: Path, text: str, message: str, line: int
) -> None:
    store = ConfigStore(tmp_path / "config.toml")
    store.path.write_text(text)
    with pytest.raises(ConfigError) as info:
        store.load()
    assert message in info.value.message
    assert f"line {line}:" in info.value.message, info.value.message


def test_locate_reads_quoted_dotted_and_inline_keys() -> None:
    text = (
        "version = 1\n"
        "[[groups]]\n"
        'name = "a"\n'
        "[[groups]]\n"
        'name = "b"\n'
        "choices = { t = { prompts_off = 1 } }\n"
        "[groups.choices.'q.r']\n"
        'tools.x.enabled = "no"\n'
    )
    assert locate(text, ("groups", 1, "choices", "t", "prompts_off")) == 6  # inline: the key
    assert locate(text, ("groups", 1, "choices", "q.r", "tools", "x", "enabled")) == 8
    assert locate(text, ("groups", 0)) == 2
    assert locate(text, ("groups", 1, "naming")) == 4
    assert locate(text, ("nothing",)) is None


def test_config_check_reports_groups_and_missing_members(
    paths: AppPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ["--home", str(paths.config_dir.parent)]
    ConfigStore(paths.config_file).save(Config(servers=(TIME,), groups=(DEV,)))
    assert main([*home, "config", "check"]) == 0
    out = capsys.readouterr().out
    assert "OK (1 servers, 1 groups)" in out
    assert "group dev: member 'everything' is not a configured server" in out
    assert "member 'github'" in out
    paths.config_file.write_text(GROUP_HEAD + '[[groups]]\nname = "dev"\nnaming = "alpha"\n')
    assert main([*home, "config", "check"]) == 1
    err = capsys.readouterr().err
    assert "line 7: Group 'dev': unknown naming 'alpha'" in err
    assert "unknown naming 'alpha'. Use prefix, priority, manual." in err  # the value's hint


def test_group_helpers() -> None:
    config = Config(servers=(TIME,)).with_group(DEV)
    assert config.group("dev") is DEV
    with pytest.raises(GroupExists):
        config.with_group(GroupSpec("dev"))
    with pytest.raises(GroupNotFound, match="group list"):
        config.group("nope")
    with pytest.raises(GroupNotFound):
        config.with_group(GroupSpec("nope"), replace=True)
    with pytest.raises(GroupNotFound):
        config.without_group("nope")
    edited = config.with_group(GroupSpec("dev", servers=("time",)), replace=True)
    assert edited.group("dev").servers == ("time",)
    assert not config.without_group("dev").groups


def test_renaming_a_group_keeps_members_choices_and_place() -> None:
    config = Config(groups=(GroupSpec("a"), DEV, GroupSpec("z")))
    renamed = config.rename_group("dev", "work")
    assert [g.name for g in renamed.groups] == ["a", "work", "z"]
    work = renamed.group("work")
    assert (work.servers, work.choices, work.naming) == (DEV.servers, DEV.choices, DEV.naming)
    with pytest.raises(GroupExists):
        config.rename_group("dev", "a")
    with pytest.raises(ValidationError, match="Invalid"):
        config.rename_group("dev", "Bad Name")


def test_removing_a_server_takes_it_out_of_every_group() -> None:
    other = GroupSpec("other", servers=("time",))
    config = Config(servers=(TIME, EVERY), groups=(DEV, other, GroupSpec("none")))
    assert config.groups_naming("everything") == ("dev",)
    assert config.groups_naming("time") == ("dev", "other")
    after = config.without_server("everything")
    assert not after.has("everything")
    dev = after.group("dev")
    assert dev.servers == ("time", "github")
    assert "everything" not in dev.choices
    assert "my.server" in dev.choices  # choices of other servers stay
    assert after.group("other") == other
    assert after.without_server("time").group("other").servers == ()


def test_renaming_a_server_follows_in_groups() -> None:
    config = Config(servers=(TIME, EVERY), groups=(DEV,))
    after = config.rename_server("everything", "all")
    assert after.server("all").command == "npx"
    dev = after.group("dev")
    assert dev.servers == ("time", "all", "github")
    assert dev.member("all") == DEV.member("everything")
    assert "everything" not in dev.choices
    with pytest.raises(ServerExists):
        config.rename_server("everything", "time")
    # A group that already named the new (then missing) server keeps one entry for it.
    github = ServerSpec("gh", "npx")
    config = Config(servers=(TIME, EVERY, github), groups=(DEV,))
    dev = config.rename_server("gh", "github").group("dev")
    assert dev.servers == DEV.servers
