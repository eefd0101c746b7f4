"""Install one package version into its own directory and find the program to run.

npm: ``npm install --prefix <dir> name@version`` (the package's ``bin`` is then run
with ``node`` directly, as ``npx`` would after its own install). PyPI: a virtual
environment per version (``uv venv`` + ``uv pip install`` when uv is there, else
``python3 -m venv`` + pip), whose console script is run directly. Every tool runs as an
asyncio subprocess, so the event loop never waits on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from switchboard.core.errors import SwitchboardError
from switchboard.packages.request import PackageRequest

log = logging.getLogger("switchboard.packages")

INSTALL_TIMEOUT = 900.0
"""Seconds one install (or version look-up) may take before it is given up."""

MARKER = ".switchboard-install.json"
"""Written last: a directory without it is an interrupted install and is redone."""

OUTPUT_TAIL = 1200
"""Characters of a failed tool's output quoted in the error."""


class PackageError(SwitchboardError):
    """A package could not be installed or has no program to run."""


def find_tool(name: str, path: str, near: str = "") -> str | None:
    """``name`` next to ``near`` (the npx/uvx the person named) or on ``path``."""
    if near and os.sep in near:
        sibling = os.path.join(os.path.dirname(near), name)
        if os.access(sibling, os.X_OK):
            return sibling
    if near:
        found = shutil.which(near, path=path)
        if found:
            sibling = os.path.join(os.path.dirname(found), name)
            if os.access(sibling, os.X_OK):
                return sibling
    return shutil.which(name, path=path)


async def run_tool(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    timeout: float = INSTALL_TIMEOUT,
    stdin: bytes | None = None,
    cwd: str | None = None,
) -> str:
    """Run ``argv`` to completion; its stdout, or PackageError with its output's tail.
    Cancelling the caller kills the tool."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
        )
    except OSError as exc:
        raise PackageError(
            f"Could not run {argv[0]}: {exc.strerror or exc}.",
            hint="Check that Node.js/npm or uv/Python are installed.",
        ) from exc
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    except BaseException as exc:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(Exception):
            await proc.wait()
        if isinstance(exc, TimeoutError):
            raise PackageError(
                f"{os.path.basename(argv[0])} took longer than {timeout:.0f}s.",
                hint="Check the network connection to the package registry.",
            ) from None
        raise
    if proc.returncode != 0:
        tail = (err or out).decode("utf-8", "replace").strip()[-OUTPUT_TAIL:]
        raise PackageError(
            f"{os.path.basename(argv[0])} {' '.join(argv[1:3])} failed "
            f"(exit code {proc.returncode}): {tail}",
            hint="Check the package name and version and the network connection to the "
            "package registry.",
        )
    return out.decode("utf-8", "replace")


def is_installed(dest: Path) -> bool:
    return (dest / MARKER).is_file()


def mark_installed(dest: Path, request: PackageRequest, version: str) -> None:
    record = {"ecosystem": request.ecosystem, "name": request.name, "version": version}
    (dest / MARKER).write_text(json.dumps(record), "utf-8")


def discard(dest: Path) -> None:
    """Remove an interrupted or failed install (blocking; call in a thread)."""
    shutil.rmtree(dest, ignore_errors=True)


# -- npm ---------------------------------------------------------------------------------


async def npm_latest(request: PackageRequest, npm: str, env: Mapping[str, str]) -> str:
    """The newest version matching ``request.version`` ("" = the ``latest`` tag)."""
    argv = [npm, "view", f"{request.name}@{request.version or 'latest'}", "version", "--json"]
    if request.index:
        argv += ["--registry", request.index]
    out = await run_tool(argv, env, timeout=120.0)
    try:
        found = json.loads(out) if out.strip() else None
    except ValueError:
        found = None
    if isinstance(found, list) and found:
        found = found[-1]
    if not isinstance(found, str) or not found:
        raise PackageError(
            f"npm has no version of {request.name} matching {request.version or 'latest'!r}.",
            hint="Check the package name and version.",
        )
    return found


async def npm_install(
    request: PackageRequest, version: str, dest: Path, npm: str, env: Mapping[str, str]
) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    argv = [
        npm,
        "install",
        "--prefix",
        str(dest),
        "--no-audit",
        "--no-fund",
        "--save-exact",
        "--no-update-notifier",
        f"{request.name}@{version}",
    ]
    if request.index:
        argv += ["--registry", request.index]
    await run_tool(argv, env, cwd=str(dest))


def npm_entry(request: PackageRequest, dest: Path, node: str | None) -> list[str]:
    """``[node, <abs bin script>]`` for the package's program (its ``bin``: the one
    asked for, else the only one, else the one named like the package), or the
    script itself when it is not a Node.js script."""
    package_dir = dest / "node_modules" / request.name
    try:
        meta = json.loads((package_dir / "package.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise PackageError(
            f"{request.name} is not installed properly in {dest} ({exc}).",
            hint="Restart the server to reinstall it.",
        ) from exc
    bins = meta.get("bin")
    if isinstance(bins, str):
        bins = {request.base_name: bins}
    if not isinstance(bins, dict) or not bins:
        raise PackageError(
            f"The npm package {request.name} has no program to run (no 'bin' in its package.json).",
            hint="Check the package name: MCP servers published on npm declare a 'bin'.",
        )
    names = sorted(str(k) for k in bins)
    if request.program:
        chosen = request.program if request.program in bins else None
    elif len(bins) == 1:
        chosen = names[0]
    else:
        chosen = request.base_name if request.base_name in bins else None
    if chosen is None:
        raise PackageError(
            f"The npm package {request.name} has several programs ({', '.join(names)}) and "
            f"none is named {request.program or request.base_name!r}.",
            hint=f"Name one: npx -y -p {request.name} {names[0]}.",
        )
    script = (package_dir / str(bins[chosen])).resolve()
    if not script.is_file() or not script.is_relative_to(package_dir.resolve()):
        raise PackageError(
            f"The program {chosen!r} of {request.name} is missing ({script}).",
            hint="Restart the server to reinstall it.",
        )
    if _is_node_script(script):
        if node is None:
            raise PackageError(
                "node was not found on PATH.",
                hint="Install Node.js (it comes with npx) or add it to PATH.",
            )
        return [node, str(script)]
    return [str(script)]


def _is_node_script(script: Path) -> bool:
    if script.suffix in (".js", ".mjs", ".cjs"):
        return True
    try:
        with script.open("rb") as fh:
            head = fh.readline(200)
    except OSError:
        return True
    return not head.startswith(b"#!") or b"node" in head


# -- PyPI --------------------------------------------------------------------------------


def _pip_requirement(request: PackageRequest, version: str) -> str:
    return f"{request.name}=={version}"


def _index_args(request: PackageRequest) -> list[str]:
    return ["--index-url", request.index] if request.index else []


async def pypi_latest(
    request: PackageRequest, uv: str | None, python: str | None, env: Mapping[str, str]
) -> str:
    """The newest version of the distribution (what ``uvx``/``pipx run`` would fetch)."""
    base = request.base_name
    if uv is not None:
        argv = [uv, "pip", "compile", "-", "--no-deps", "--no-header", "--no-annotate", "-q"]
        if request.python:
            argv += ["--python", request.python]
        out = await run_tool([*argv, *_index_args(request)], env, stdin=base.encode() + b"\n")
        for line in out.splitlines():
            name, sep, version = line.strip().partition("==")
            if sep and normal_name(name) == normal_name(base):
                return version.strip()
    elif python is not None:
        argv = [python, "-m", "pip", "install", "--dry-run", "--quiet", "--report", "-"]
        argv += ["--no-deps", "--ignore-installed", *_index_args(request), base]
        out = await run_tool(argv, {**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
        try:
            report = json.loads(out)
            return str(report["install"][0]["metadata"]["version"])
        except (ValueError, KeyError, IndexError, TypeError):
            pass
    raise PackageError(
        f"Could not find the newest version of {base} on the package index.",
        hint="Pin a version in the command (e.g. uvx NAME@1.2.3).",
    )


async def pypi_install(
    request: PackageRequest,
    version: str,
    dest: Path,
    uv: str | None,
    python: str | None,
    env: Mapping[str, str],
) -> None:
    requirement = _pip_requirement(request, version)
    if uv is not None:
        venv = [uv, "venv", "--quiet", str(dest)]
        if request.python:
            venv += ["--python", request.python]
        await run_tool(venv, env)
        install = [uv, "pip", "install", "--quiet", "--python", str(dest / "bin" / "python")]
        await run_tool([*install, *_index_args(request), requirement], env)
        return
    interpreter = request.python or python
    if interpreter is None:
        raise PackageError(
            "Neither uv nor python3 was found on PATH to install a PyPI package.",
            hint="Install uv (e.g. 'pipx install uv') or Python 3.",
        )
    await run_tool([interpreter, "-m", "venv", str(dest)], env)
    pip = [str(dest / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    await run_tool(
        [*pip, *_index_args(request), requirement], {**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    )


def pypi_entry(request: PackageRequest, dest: Path) -> list[str]:
    """The venv's console script ``request.program``."""
    bindir = dest / "bin"
    script = bindir / request.program
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    skip = {"python", "python3", "pip", "pip3", "activate", "deactivate", "pydoc"}
    have = sorted(
        p.name
        for p in (bindir.iterdir() if bindir.is_dir() else ())
        if not p.name.startswith(("python", "activate", "pip")) and p.name not in skip
    )
    raise PackageError(
        f"The PyPI package {request.name} has no program named {request.program!r}"
        + (f" (it has: {', '.join(have)})." if have else "."),
        hint=f"Name one with uvx --from {request.name} PROGRAM."
        if have
        else "Check the package name.",
    )


def normal_name(name: str) -> str:
    """PEP 503 normalized project name."""
    return re.sub(r"[-_.]+", "-", name).lower()
