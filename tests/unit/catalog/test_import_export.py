"""Export / import of the declarative servers file (store/import_export.py) and its CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.cli import main
from switchboard.core.errors import ValidationError
from switchboard.core.paths import AppPaths
from switchboard.core.spec import RestartPolicy, ServerSpec, StartMode
from switchboard.store.config import Config, ConfigStore
from switchboard.store.import_export import (
    apply_import,
    export_servers,
    parse_export,
    plan_import,
)

GH = ServerSpec(
    "github",
    "npx",
    ("-y", "@modelcontextprotocol/server-github"),
    env={"GITHUB_TOOLSETS": "repos"},
    secrets={"GITHUB_PERSONAL_ACCESS_TOKEN": "github.token"},
    start=StartMode.ALWAYS,
)
TIME = ServerSpec("time", "uvx", ("mcp-server-time",), restart=RestartPolicy(max_restarts=2))


def test_round_trip_keeps_everything_but_autostart() -> None:
    text = export_servers([GH, TIME])
    assert "github.token" in text
    assert "autostart" not in text and "start =" not in text
    assert text.startswith("# Switchboard servers")
    specs = parse_export(text)
    assert [s.to_dict() for s in specs] == [{**GH.to_dict(), "start": "manual"}, TIME.to_dict()]


def test_import_adds_new_skips_identical_reports_conflicts() -> None:
    changed = ServerSpec("time", "uvx", ("mcp-server-time", "--local-timezone", "UTC"))
    new = ServerSpec("fetch", "uvx", ("mcp-server-fetch",), secrets={"X": "fetch.key"})
    current = Config(servers=(GH, TIME))
    report = plan_import(current, parse_export(export_servers([GH, changed, new])))
    assert [s.name for s in report.added] == ["fetch"]
    assert report.unchanged == ("github",)
    assert [(c.name, c.fields) for c in report.conflicts] == [("time", ("args", "restart"))]
    assert report.secrets == ("fetch.key",)
    assert any("CONFLICT  time" in line for line in report.lines())
    after = apply_import(current, report)
    assert after.server("time") == TIME  # never overwritten
    assert after.server("fetch").autostart is False


def test_invalid_file_imports_nothing_and_lists_every_problem() -> None:
    text = """
switchboard_export = 1
[[servers]]
name = "Bad Name"
command = "x"
[[servers]]
name = "ok"
command = "x"
[[servers]]
name = "ok"
command = "y"
[[servers]]
name = "weird"
command = "x"
colour = "blue"
"""
    with pytest.raises(ValidationError) as info:
        parse_export(text, "shared.toml")
    message = info.value.message
    assert "shared.toml has 3 problem(s); nothing was imported" in message
    assert "Invalid server name" in message
    assert "ok: appears more than once" in message
    assert "colour" in message


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("not = [toml", "not valid TOML or JSON"),
        ('{"servers": 3}', "no list of servers"),
        ("switchboard_export = 99\nservers = []", "newer Switchboard"),
    ],
)
def test_unreadable_files(text: str, what: str) -> None:
    with pytest.raises(ValidationError, match=what):
        parse_export(text)


def test_json_is_accepted() -> None:
    specs = parse_export('{"servers": [{"name": "a", "command": "x"}]}')
    assert specs[0].name == "a"


def test_cli_export_and_import_offline(
    paths: AppPaths, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ["--home", str(paths.config_dir.parent)]
    ConfigStore(paths.config_file).save(Config(servers=(GH, TIME)))
    out = tmp_path / "servers.toml"
    assert main([*home, "export", str(out)]) == 0
    assert "github.token" in out.read_text()

    other = tmp_path / "other"
    other_paths = AppPaths.default(other)
    ConfigStore(other_paths.config_file).save(
        Config(servers=(ServerSpec("time", "uvx", ("mcp-server-time", "--x")),))
    )
    capsys.readouterr()
    assert main(["--home", str(other), "import", str(out), "--dry-run"]) == 0
    assert "nothing was changed" in capsys.readouterr().out
    assert [s.name for s in ConfigStore(other_paths.config_file).load().servers] == ["time"]

    rc = main(["--home", str(other), "import", str(out)])
    text = capsys.readouterr().out
    assert rc == 1  # a conflict was reported
    assert "CONFLICT  time" in text
    assert "Imported 1 server(s)" in text
    loaded = ConfigStore(other_paths.config_file).load()
    assert [s.name for s in loaded.servers] == ["time", "github"]
    assert loaded.server("time").args == ("mcp-server-time", "--x")
