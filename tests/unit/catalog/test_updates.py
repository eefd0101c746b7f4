"""Newer catalog versions of the packages configured servers run, and updating one."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from switchboard.catalog.model import CatalogEntry
from switchboard.catalog.updates import find_updates, is_newer, update_for, updated_spec
from switchboard.cli import main
from switchboard.core.spec import ServerSpec


def entry(registry: str, identifier: str, version: str) -> CatalogEntry:
    package = {"registryType": registry, "identifier": identifier, "version": version}
    server: dict[str, Any] = {"name": f"io.example/{identifier}", "version": version}
    return CatalogEntry.from_json({"server": {**server, "packages": [package]}})


CATALOG = [
    entry("npm", "@ex/srv", "2.0.0"),
    entry("pypi", "mcp-server-time", "2026.10.19"),
    entry("npm", "plain", "1.0.0"),
]


@pytest.mark.parametrize(
    ("command", "args", "new_args"),
    [
        ("npx", ("-y", "@ex/srv@1.5.0", "stdio"), ("-y", "@ex/srv@2.0.0", "stdio")),
        ("npx", ("-y", "@ex/srv", "x"), ("-y", "@ex/srv@2.0.0", "x")),  # unpinned: pin newest
        ("npx", ("-p", "@ex/srv@1.0.0", "srv"), ("-p", "@ex/srv@2.0.0", "srv")),
        ("npx", ("--package=@ex/srv@1.0.0", "srv"), ("--package=@ex/srv@2.0.0", "srv")),
        ("uvx", ("mcp-server-time@2025.1.1", "--tz"), ("mcp-server-time@2026.10.19", "--tz")),
        ("uvx", ("mcp-server-time",), ("mcp-server-time@2026.10.19",)),
        (
            "uvx",
            ("--from", "mcp-server-time==2025.1.1", "mcp-server-time"),
            ("--from", "mcp-server-time==2026.10.19", "mcp-server-time"),
        ),
        (
            "pipx",
            ("run", "--spec", "mcp_server_time==1.0", "mcp-server-time"),
            ("run", "--spec", "mcp_server_time==2026.10.19", "mcp-server-time"),
        ),
    ],
)
def test_an_older_or_unpinned_package_gets_the_catalog_version(
    command: str, args: tuple[str, ...], new_args: tuple[str, ...]
) -> None:
    spec = ServerSpec("s", command, args, env={"A": "1"})
    update = update_for(spec, CATALOG)
    assert update is not None and update.server == "s"
    new = updated_spec(spec, update)
    assert new.args == new_args
    assert new.command == command and new.env == {"A": "1"}


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("npx", ("-y", "@ex/srv@2.0.0")),  # the newest already
        ("npx", ("-y", "@ex/srv@3.0.0")),  # newer than the catalog
        ("npx", ("-y", "unknown-pkg@1.0.0")),  # not in the catalog
        ("node", ("server.js",)),  # not a package runner
    ],
)
def test_no_update(command: str, args: tuple[str, ...]) -> None:
    assert update_for(ServerSpec("s", command, args), CATALOG) is None


@pytest.mark.parametrize(
    ("candidate", "current", "newer"),
    [
        ("2026.8.31", "2025.4.8", True),
        ("1.10.0", "1.9.0", True),
        ("1.0.0", "1.0.0-beta.2", True),
        ("1.0.0-beta.2", "1.0.0", False),
        ("0.0.1a8", "0.0.1a10", False),
        ("1.0.0", "", True),
    ],
)
def test_version_order(candidate: str, current: str, newer: bool) -> None:
    assert is_newer(candidate, current) is newer


def test_find_updates_lists_each_outdated_server() -> None:
    specs = [
        ServerSpec("a", "npx", ("-y", "@ex/srv@1.0.0")),
        ServerSpec("b", "npx", ("-y", "plain@1.0.0")),
    ]
    assert [u.describe() for u in find_updates(specs, CATALOG)] == ["a: @ex/srv 1.0.0 -> 2.0.0"]


def test_cli_lists_and_updates_with_the_engine_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = str(tmp_path / "sb")
    old = "@modelcontextprotocol/server-everything@2025.1.1"
    assert main(["--home", home, "add", "everything", "--", "npx", "-y", old, "stdio"]) == 0
    capsys.readouterr()
    assert main(["--home", home, "catalog", "update"]) == 0
    listed = capsys.readouterr().out
    assert "everything: @modelcontextprotocol/server-everything 2025.1.1 -> 2026.8.31" in listed
    assert main(["--home", home, "catalog", "update", "everything", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "new: npx -y @modelcontextprotocol/server-everything@2026.8.31 stdio" in out
    config = tomllib.loads((tmp_path / "sb" / "config" / "config.toml").read_text())
    assert config["servers"][0]["args"] == [
        "-y",
        "@modelcontextprotocol/server-everything@2026.8.31",
        "stdio",
    ]
    assert main(["--home", home, "catalog", "update", "everything"]) == 0
    assert "runs the newest version" in capsys.readouterr().out
