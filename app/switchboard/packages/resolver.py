"""The command resolver: ``npx``/``uvx``/``pipx run`` command lines become the package's
own program, installed once per pinned version in Switchboard's cache.

``npx -y pkg`` leaves an ``npm exec`` process (~90 MB) waiting beside the server for
its whole life and spends 1-2 s resolving the package on every start; ``uvx`` checks
the index. Here the package is installed once into ``<cache>/npm/<name>@<version>/``
or ``<cache>/pypi/<name>@<version>/`` and its entry point is spawned directly, so the
supervised PID is the server itself and later starts need no network.

A command that names no exact version gets the newest one at its first start; that
version is recorded (``pins.json``) and used from then on, offline. A newer version is
a new directory beside the old one (nothing is upgraded in place).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import shlex
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from switchboard.core.launch import Launch
from switchboard.packages.install import (
    PackageError,
    discard,
    find_tool,
    is_installed,
    mark_installed,
    normal_name,
    npm_entry,
    npm_install,
    npm_latest,
    pypi_entry,
    pypi_install,
    pypi_latest,
)
from switchboard.packages.request import PackageRequest, parse_command

log = logging.getLogger("switchboard.packages")

PINS_FILE = "pins.json"


class PackageResolver:
    """Implements the supervisor's ``CommandResolver`` port (supervisor/process.py).

    ``cache_dir`` is Switchboard's package cache (``AppPaths.cache_dir / "packages"``
    in production; a temporary folder in tests)."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self._locks: dict[str, asyncio.Lock] = {}

    async def __call__(
        self,
        command: str,
        args: Sequence[str],
        *,
        path: str,
        env: Mapping[str, str],
        note: Callable[[str], None],
    ) -> Launch | None:
        """The program that runs ``command args`` without its wrapper, installing the
        package first if needed; None when the command is not a package runner we
        know (it then runs as written). Raises PackageError when it is one but cannot
        be resolved (the caller falls back to the literal command)."""
        request = parse_command(command, args)
        if request is None:
            return None
        async with self._lock(request.key):
            version = await self._version(request, command, path, env, note)
        dest = self.directory(request, version)
        async with self._lock(str(dest)):
            if not is_installed(dest):
                await self._install(request, version, dest, command, path, env, note)
        entry = await asyncio.to_thread(self._entry, request, dest, command, path)
        bindir = dest / "node_modules" / ".bin" if request.ecosystem == "npm" else dest / "bin"
        return Launch((*entry, *request.args), (str(bindir),))

    def _lock(self, key: str) -> asyncio.Lock:
        """One look-up per request and one install per directory at a time (two
        servers may run the same package)."""
        return self._locks.setdefault(key, asyncio.Lock())

    # -- versions ----------------------------------------------------------------------
    def pinned_version(self, request: PackageRequest) -> str | None:
        """The exact version this request runs: its own, or the one pinned at its first
        start; None when it has not been resolved yet."""
        if request.pinned:
            return request.version.removeprefix("v")
        return self._pins().get(request.key)

    async def _version(
        self,
        request: PackageRequest,
        command: str,
        path: str,
        env: Mapping[str, str],
        note: Callable[[str], None],
    ) -> str:
        known = self.pinned_version(request)
        if known:
            return known
        asked = request.version or "the newest version"
        note(f"looking up {asked} of {request.name} (once; it is pinned from then on)")
        if request.ecosystem == "npm":
            version = await npm_latest(request, self._npm(command, path), env)
        else:
            uv = find_tool("uv", path, command if command.endswith("uvx") else "")
            version = await pypi_latest(request, uv, find_tool("python3", path), env)
        if not dataclasses.replace(request, version=version).pinned:
            # It names a directory: never a path or anything but one release.
            raise PackageError(
                f"The registry answered {version!r} as the newest version of {request.name}.",
                hint="Pin a version in the command (e.g. npx -y NAME@1.2.3).",
            )
        await asyncio.to_thread(self._pin, request.key, version)
        note(f"pinned {request.name} {version}")
        return version

    def _pins(self) -> dict[str, str]:
        try:
            data = json.loads((self.cache_dir / PINS_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _pin(self, key: str, version: str) -> None:
        pins = self._pins()
        pins[key] = version
        self._pin_all(pins)

    def _pin_all(self, pins: dict[str, str]) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.cache_dir / f".{PINS_FILE}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(pins, indent=2, sort_keys=True), "utf-8")
        os.replace(tmp, self.cache_dir / PINS_FILE)

    # -- installing --------------------------------------------------------------------
    def directory(self, request: PackageRequest, version: str) -> Path:
        """``<cache>/<ecosystem>/<name>@<version>[-<index hash>]``."""
        if request.ecosystem == "npm":
            name = request.name.replace("/", "+")
        else:
            name = normal_name(request.name.replace("[", "+").replace("]", "").replace(",", "+"))
        leaf = f"{name}@{version}"
        if request.index or request.python:
            digest = hashlib.sha256(f"{request.index}|{request.python}".encode()).hexdigest()
            leaf += f"-{digest[:8]}"
        return self.cache_dir / request.ecosystem / leaf

    async def _install(
        self,
        request: PackageRequest,
        version: str,
        dest: Path,
        command: str,
        path: str,
        env: Mapping[str, str],
        note: Callable[[str], None],
    ) -> None:
        note(f"installing {request.name} {version} into {dest} (first start of this version)")
        await asyncio.to_thread(discard, dest)  # an interrupted earlier attempt
        dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            if request.ecosystem == "npm":
                await npm_install(request, version, dest, self._npm(command, path), env)
            else:
                uv = find_tool("uv", path, command if command.endswith("uvx") else "")
                python = find_tool("python3", path)
                await pypi_install(request, version, dest, uv, python, env)
            await asyncio.to_thread(self._entry, request, dest, command, path)
            await asyncio.to_thread(mark_installed, dest, request, version)
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.shield(asyncio.to_thread(discard, dest))
            raise
        note(f"installed {request.name} {version}")

    def _entry(self, request: PackageRequest, dest: Path, command: str, path: str) -> list[str]:
        if request.ecosystem == "npm":
            # The node beside the person's npx first (nvm and the like), else PATH's.
            return npm_entry(request, dest, find_tool("node", path, command))
        return pypi_entry(request, dest)

    @staticmethod
    def _npm(command: str, path: str) -> str:
        npm = find_tool("npm", path, command)
        if npm is None:
            raise PackageError(
                "npm was not found on PATH.",
                hint="Install Node.js with npm (e.g. 'apt install nodejs npm').",
            )
        return npm


def describe(argv: Sequence[str]) -> str:
    """A command line for people (shell quoting)."""
    return shlex.join(argv)
