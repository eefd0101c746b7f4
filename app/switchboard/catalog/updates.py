"""Newer versions of the npm/PyPI packages configured servers run (issue 16.1).

A server's command (``npx -y pkg@1.0.0``, ``uvx pkg@1.0.0``, ...) names a package;
when the catalog (bundled, or the registry cache after ``catalog sync``) lists a newer
version of that package, :func:`find_updates` says so, and :func:`updated_spec`
rewrites only the version in the command. The new version then installs beside the old
one at the next start (packages/resolver.py); nothing is upgraded in place.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable

from switchboard.catalog.model import CatalogEntry
from switchboard.core.errors import CatalogError
from switchboard.core.spec import ServerSpec
from switchboard.packages.install import normal_name
from switchboard.packages.request import (
    PackageRequest,
    parse_command,
    split_npm_spec,
    split_pypi_spec,
)

_REGISTRY = {"npm": "npm", "pypi": "pypi"}


@dataclasses.dataclass(frozen=True, slots=True)
class Update:
    """``server`` runs ``package`` at ``current`` ("" = unpinned); ``newest`` exists."""

    server: str
    ecosystem: str
    package: str
    current: str
    newest: str
    entry: str
    """The catalog entry's name."""

    def describe(self) -> str:
        now = self.current or "unpinned"
        return f"{self.server}: {self.package} {now} -> {self.newest}"


def version_key(version: str) -> tuple[tuple[int, str], ...]:
    """Orders versions the way people read them: numbers numerically, a pre-release
    (``-beta``, ``a1``, ``rc2``) before its release."""
    parts: list[tuple[int, str]] = []
    for piece in re.findall(r"\d+|[A-Za-z]+", version.removeprefix("v")):
        parts.append((int(piece), "") if piece.isdigit() else (-1, piece.lower()))
    if not re.search(r"[A-Za-z]", version.removeprefix("v")):
        parts.append((0, "~"))  # a release sorts after its pre-releases
    return tuple(parts)


def is_newer(candidate: str, current: str) -> bool:
    if not candidate or candidate == current:
        return False
    return not current or version_key(candidate) > version_key(current)


def _same(request: PackageRequest, identifier: str) -> bool:
    if request.ecosystem == "npm":
        return request.name == identifier
    return normal_name(request.base_name) == normal_name(identifier.split("[", 1)[0])


def update_for(spec: ServerSpec, entries: Iterable[CatalogEntry]) -> Update | None:
    """The update the catalog offers for ``spec``'s package, if any."""
    if not spec.command:
        return None
    request = parse_command(spec.command, spec.args)
    if request is None:
        return None
    for entry in entries:
        for package in entry.packages:
            if _REGISTRY.get(package.registry_type) != request.ecosystem:
                continue
            if not _same(request, package.identifier) or package.version in ("", "latest"):
                continue
            current = request.version if request.pinned else ""
            if is_newer(package.version, current):
                return Update(
                    spec.name,
                    request.ecosystem,
                    request.name,
                    current,
                    package.version,
                    entry.name,
                )
            return None
    return None


def find_updates(specs: Iterable[ServerSpec], entries: Iterable[CatalogEntry]) -> list[Update]:
    listed = list(entries)
    return [u for s in specs if (u := update_for(s, listed)) is not None]


def updated_spec(spec: ServerSpec, update: Update) -> ServerSpec:
    """``spec`` with its package argument naming ``update.newest`` (same syntax as
    before: ``pkg@v`` for npx/uvx, ``pkg==v`` for ``--from``/``--spec``)."""
    request = parse_command(spec.command, spec.args)
    if request is None:
        raise CatalogError(
            f"{spec.name}'s command no longer names an npm or PyPI package.",
            hint="Edit its command by hand.",
        )
    args = list(spec.args)
    uv = os.path.basename(spec.command) in ("uvx", "uv")
    for i, token in enumerate(args):
        prefix, value = "", token
        for flag in ("--package=", "--from=", "--spec="):
            if token.startswith(flag):
                prefix, value = flag, token[len(flag) :]
        option = bool(prefix) or (i > 0 and args[i - 1] in ("--from", "--spec"))
        replaced = _with_version(request, value, update.newest, option, uv)
        if replaced is not None:
            args[i] = prefix + replaced
            return dataclasses.replace(spec, args=tuple(args))
    raise CatalogError(
        f"Could not find {update.package} in {spec.name}'s arguments.",
        hint="Edit its command by hand.",
    )


def _with_version(
    request: PackageRequest, token: str, version: str, option: bool, uv: bool
) -> str | None:
    """``token`` naming ``version`` instead, if it is the request's package spec.
    ``option``: it is the value of ``--from``/``--spec`` (pip syntax, ``==``)."""
    if request.ecosystem == "npm":
        split = split_npm_spec(token)
        if split is None or split[0] != request.name or split[1] != request.version:
            return None
        return f"{request.name}@{version}"
    pypi = split_pypi_spec(token)
    if pypi is None or pypi[0] != request.name or pypi[1] != request.version:
        return None
    if "@" in token:
        sep = "@"
    elif "==" in token or option:
        sep = "=="
    else:  # a bare positional name: uvx takes pkg@ver; pipx run takes pkg==ver
        sep = "@" if uv else "=="
    return f"{request.name}{sep}{version}"
