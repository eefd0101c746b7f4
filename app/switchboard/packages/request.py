"""Read an ``npx`` / ``uvx`` / ``uv tool run`` / ``pipx run`` command line as a package
request: which package, which version (pinned or not), which of its programs, and the
arguments the program gets.

Only the forms these tools document and people write in MCP configs are understood
(npm 7+ ``npx [--yes] [--package P] pkg[@ver] args``; uv ``uvx [--from P] cmd[@ver]
args``; pipx ``pipx run [--spec P] app args``). Anything else (git URLs, local paths,
several packages, ``npx -c``, ``uvx --with``) returns None: the command then runs as
written.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Sequence
from typing import Literal

Ecosystem = Literal["npm", "pypi"]

_NPM_NAME = re.compile(r"^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$", re.IGNORECASE)
_PYPI_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?(\[[A-Za-z0-9._,-]+\])?$")
_EXACT_SEMVER = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
_EXACT_PEP440 = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$", re.IGNORECASE)

# npx flags that change nothing about which program runs.
_NPX_SWITCHES = {
    "-y",
    "--yes",
    "-q",
    "--quiet",
    "-s",
    "--silent",
    "--prefer-offline",
    "--prefer-online",
    "--ignore-existing",
    "--no-audit",
    "--no-fund",
    "--no-update-notifier",
}
_UVX_SWITCHES = {"-q", "--quiet", "--isolated", "--refresh", "--no-progress", "--offline", "-n"}
_UVX_VALUE = {"--python", "-p", "--index-url", "-i", "--default-index", "--index"}
_PIPX_SWITCHES = {"--no-cache", "--verbose", "-v", "--quiet", "-q"}
_PIPX_VALUE = {"--spec", "--python", "--index-url", "-i"}


@dataclasses.dataclass(frozen=True, slots=True)
class PackageRequest:
    """One package to install and the program of it to run."""

    ecosystem: Ecosystem
    name: str
    """npm: the package name (``@scope/name``); PyPI: the distribution (with extras)."""
    version: str
    """What was asked for: an exact version, a range or tag, or "" (the newest)."""
    program: str
    """npm: the ``bin`` wanted ("" = the package's only one or the one named like it);
    PyPI: the console script."""
    args: tuple[str, ...]
    """What the program gets, as written."""
    index: str = ""
    """The registry / package index the command names ("" = the tool's default)."""
    python: str = ""
    """uvx ``--python`` / pipx ``--python`` ("" = the default interpreter)."""

    @property
    def pinned(self) -> bool:
        """True when ``version`` names exactly one release."""
        pattern = _EXACT_SEMVER if self.ecosystem == "npm" else _EXACT_PEP440
        return bool(pattern.match(self.version))

    @property
    def key(self) -> str:
        """Identifies the request for version pinning (same package, same ask)."""
        return f"{self.ecosystem}:{self.index}:{self.name}@{self.version}"

    @property
    def base_name(self) -> str:
        """The name without extras (PyPI) or scope (npm)."""
        if self.ecosystem == "npm":
            return self.name.rsplit("/", 1)[-1]
        return self.name.split("[", 1)[0]


def parse_command(command: str, args: Sequence[str]) -> PackageRequest | None:
    """The package request ``command args`` makes, or None when it is not one we run
    directly (see the module docstring)."""
    tool = os.path.basename(command)
    if tool.endswith(".exe") or tool.endswith(".cmd"):
        tool = tool.rsplit(".", 1)[0]
    argv = list(args)
    if tool == "npx":
        return _npx(argv)
    if tool == "uvx":
        return _uvx(argv)
    if tool == "uv" and argv[:2] == ["tool", "run"]:
        return _uvx(argv[2:])
    if tool == "pipx" and argv[:1] == ["run"]:
        return _pipx(argv[1:])
    return None


def _take_value(argv: list[str], i: int, flag: str) -> tuple[str, int] | None:
    """The value of ``argv[i]`` (``--flag value`` or ``--flag=value``) and the next index."""
    item = argv[i]
    if "=" in item and item.startswith("--"):
        return item.split("=", 1)[1], i + 1
    if i + 1 < len(argv):
        return argv[i + 1], i + 2
    return None


def split_npm_spec(spec: str) -> tuple[str, str] | None:
    """``pkg``, ``pkg@ver``, ``@scope/pkg``, ``@scope/pkg@ver`` -> (name, version)."""
    scoped = spec.startswith("@")
    body = spec[1:] if scoped else spec
    name, sep, version = body.partition("@")
    name = ("@" if scoped else "") + name
    if not _NPM_NAME.match(name) or (sep and not version):
        return None
    if version and not re.match(r"^[A-Za-z0-9.^~<>=*|+ -]+$", version):
        return None  # npm:alias@, git+..., file:... are not registry versions
    return name, version


def _npx(argv: list[str]) -> PackageRequest | None:
    packages: list[str] = []
    registry = ""
    i = 0
    while i < len(argv):
        item = argv[i]
        if item == "--":
            i += 1
            break
        if not item.startswith("-"):
            break
        flag = item.split("=", 1)[0]
        if item in _NPX_SWITCHES:
            i += 1
        elif flag in ("-p", "--package"):
            got = _take_value(argv, i, flag)
            if got is None:
                return None
            packages.append(got[0])
            i = got[1]
        elif flag == "--registry":
            got = _take_value(argv, i, flag)
            if got is None:
                return None
            registry, i = got
        else:
            return None  # -c/--call, --no, --workspace, ...: leave to npx
    if i >= len(argv):
        return None
    first = argv[i]
    rest = tuple(argv[i + 1 :])
    if not packages:
        split = split_npm_spec(first)
        if split is None:
            return None
        return PackageRequest("npm", split[0], split[1], "", rest, registry)
    if len(packages) != 1 or not re.match(r"^[A-Za-z0-9._@/-]+$", first):
        return None
    split = split_npm_spec(packages[0])
    if split is None:
        return None
    return PackageRequest("npm", split[0], split[1], first, rest, registry)


def split_pypi_spec(spec: str) -> tuple[str, str] | None:
    """``name``, ``name@ver``, ``name==ver``, ``name[extra]==ver`` -> (name, version)."""
    for sep in ("==", "@"):
        if sep in spec:
            name, version = spec.split(sep, 1)
            break
    else:
        name, version = spec, ""
    name, version = name.strip(), version.strip()
    if version == "latest":
        version = ""
    if not _PYPI_NAME.match(name):
        return None
    if version and not _EXACT_PEP440.match(version):
        return None  # ranges (>=, ~=) and URLs: leave to the tool
    return name, version


def _uvx(argv: list[str]) -> PackageRequest | None:
    source = ""
    index = python = ""
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        item = argv[i]
        flag = item.split("=", 1)[0]
        if item in _UVX_SWITCHES:
            i += 1
            continue
        if flag == "--from" or flag in _UVX_VALUE:
            got = _take_value(argv, i, flag)
            if got is None:
                return None
            value, i = got
            if flag == "--from":
                source = value
            elif flag in ("--python", "-p"):
                python = value
            else:
                index = value
            continue
        return None  # --with, --env-file, ...: leave to uv
    if i >= len(argv):
        return None
    first, rest = argv[i], tuple(argv[i + 1 :])
    if source:
        split = split_pypi_spec(source)
        if split is None or not re.match(r"^[A-Za-z0-9._-]+$", first):
            return None
        return PackageRequest("pypi", split[0], split[1], first, rest, index, python)
    split = split_pypi_spec(first)
    if split is None:
        return None
    name, version = split
    program = name.split("[", 1)[0]
    return PackageRequest("pypi", name, version, program, rest, index, python)


def _pipx(argv: list[str]) -> PackageRequest | None:
    spec = index = python = ""
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        item = argv[i]
        flag = item.split("=", 1)[0]
        if item in _PIPX_SWITCHES:
            i += 1
            continue
        if flag in _PIPX_VALUE:
            got = _take_value(argv, i, flag)
            if got is None:
                return None
            value, i = got
            if flag == "--spec":
                spec = value
            elif flag == "--python":
                python = value
            else:
                index = value
            continue
        return None  # --pip-args and the like: leave to pipx
    if i >= len(argv):
        return None
    first, rest = argv[i], tuple(argv[i + 1 :])
    app = split_pypi_spec(first)
    if app is None:
        return None
    if spec:
        split = split_pypi_spec(spec)
        if split is None:
            return None
        return PackageRequest("pypi", split[0], split[1], app[0], rest, index, python)
    return PackageRequest("pypi", app[0], app[1], app[0].split("[", 1)[0], rest, index, python)
