"""Package resolution with hostile command lines (issue 16.1, QA): a package name,
version or program that tries a path (``../``, ``@scope/..``), an option (``--prefix``)
or a line break is either left to the tool as written (None) or resolves to a directory
inside the cache; never a directory elsewhere, never an option on npm's/uv's command."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.packages.request import parse_command
from switchboard.packages.resolver import PackageResolver

HOSTILE = [
    ("npx", ["-y", "../../x"]),
    ("npx", ["-y", "@scope/../.."]),
    ("npx", ["-y", "@../x"]),
    ("npx", ["-y", "--prefix", "/tmp/x", "pkg"]),
    ("npx", ["-y", "--prefix=/tmp/x", "pkg"]),
    ("npx", ["-y", "pkg@../../x"]),
    ("npx", ["-y", "pkg@1.0.0/../../x"]),
    ("npx", ["-y", "pkg@1.0.0\n"]),
    ("npx", ["-y", "pkg@1.0.0 --prefix /tmp/x"]),
    ("npx", ["-y", "-p", "--prefix=/tmp/x", "prog"]),
    ("npx", ["-y", "-p", "pkg@1.0.0", "../../bin/sh"]),
    ("npx", ["-y", "file:../x"]),
    ("npx", ["-y", "pkg\n@1.0.0"]),
    ("uvx", ["../../x"]),
    ("uvx", ["pkg==1.0\n"]),
    ("uvx", ["pkg@../../x"]),
    ("uvx", ["--from", "../x", "prog"]),
    ("uvx", ["--from", "pkg==1.0", "../../bin/sh"]),
    ("uvx", ["--from", "pkg==1.0", "--python=/x"]),
    ("uvx", ["--target", "/tmp/x", "pkg"]),
    ("pipx", ["run", "--spec", "../x", "app"]),
    ("pipx", ["run", "pkg==1.0/../x"]),
]


@pytest.mark.parametrize(("command", "args"), HOSTILE)
def test_hostile_package_requests_stay_in_the_cache(
    tmp_path: Path, command: str, args: list[str]
) -> None:
    request = parse_command(command, args)
    if request is None:
        return  # run as written: npx/uvx themselves decide
    assert "\n" not in request.name + request.version + request.program
    assert not request.name.startswith("-") and not request.version.startswith("-")
    if request.ecosystem == "pypi":  # npm: only a bin the package declares (npm_entry)
        assert "/" not in request.program
    resolver = PackageResolver(tmp_path / "cache")
    version = request.version if request.pinned else "1.0.0"
    directory = resolver.directory(request, version).resolve()
    assert directory.is_relative_to((tmp_path / "cache").resolve())
    assert directory.parent.parent == (tmp_path / "cache").resolve()


@pytest.mark.parametrize(
    ("command", "args"),
    [("npx", ["-y", "pkg@1.0.0\n"]), ("npx", ["-y", "pkg\n@1.0.0"]), ("npx", ["pkg\n"])],
)
def test_an_npm_name_or_version_with_a_line_break_is_left_to_npx(
    command: str, args: list[str]
) -> None:
    request = parse_command(command, args)
    assert request is None
