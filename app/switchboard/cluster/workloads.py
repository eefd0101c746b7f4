"""How a desktop server's command becomes a container in a cluster, and back.

A ToolHive ``MCPServer`` runs an OCI image (``spec.image``) with ``spec.args`` as the
container's arguments. Switchboard servers run commands on this computer, so:

- ``npx ARGS`` (npm packages) -> :data:`NODE_IMAGE` with ``["npx", *ARGS]``: the
  Node.js image's entrypoint runs an executable first argument, so the package is
  fetched and started by npx in the pod exactly as on the desktop;
- ``uvx ARGS`` (PyPI packages) -> :data:`UV_IMAGE` with ``["uvx", *ARGS]``;
  ``pipx run ARGS`` becomes ``uvx ARGS`` there (same package, same entry point);
- ``docker|podman run [OPTIONS] IMAGE ARGS`` -> ``IMAGE`` with ``ARGS`` and the
  ``-e NAME=VALUE`` options as environment;
- anything else runs a program from this computer's disk and cannot be moved as is:
  :class:`NotExportable` says so (build an image for it).

Package servers need the network in the pod to fetch their package at start, so they
get ToolHive's built-in ``network`` permission profile.

:func:`desktop_command` is the way back, for ``switchboard import`` of an MCPServer:
the base images above give back the npx/uvx command; any other image becomes
``docker run -i --rm [-e NAME ...] IMAGE ARGS`` (a container on this computer).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence

NODE_IMAGE = "node:22-bookworm-slim"
"""Debian Node.js 22 image (npm/npx included); its entrypoint executes ``npx``."""
UV_IMAGE = "ghcr.io/astral-sh/uv:python3.12-bookworm-slim"
"""Astral's uv image on Python 3.12 (``uvx`` on PATH, no entrypoint)."""

_RUNTIMES = ("docker", "podman")
_VALUE_OPTIONS = frozenset(
    {
        "-e",
        "--env",
        "-v",
        "--volume",
        "--name",
        "--network",
        "--net",
        "-p",
        "--publish",
        "--mount",
        "-w",
        "--workdir",
        "-u",
        "--user",
        "--entrypoint",
        "--env-file",
        "--platform",
        "--pull",
        "-l",
        "--label",
        "--memory",
        "-m",
        "--cpus",
        "--add-host",
        "--hostname",
        "-h",
    }
)


class NotExportable(Exception):
    """A server that cannot run in a cluster as configured (the message says why)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Container:
    """What an MCPServer runs."""

    image: str
    args: tuple[str, ...]
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Environment set by the command itself (``docker run -e``)."""
    needs_network: bool = False
    """It downloads its package at start (npx, uvx)."""


def container_for(command: str, args: Sequence[str]) -> Container:
    """The container that runs ``command args`` (see the module docstring)."""
    program = os.path.basename(command)
    if program in ("npx", "npx.cmd"):
        return Container(NODE_IMAGE, ("npx", *args), needs_network=True)
    if program in ("uvx", "uvx.exe"):
        return Container(UV_IMAGE, ("uvx", *args), needs_network=True)
    if program in ("pipx", "pipx.exe") and tuple(args[:1]) == ("run",):
        return Container(UV_IMAGE, ("uvx", *args[1:]), needs_network=True)
    if program in _RUNTIMES and tuple(args[:1]) == ("run",):
        return _from_container_run(list(args[1:]))
    raise NotExportable(
        f"it runs {command!r} from this computer; build a container image for it and "
        "set that image in its MCPServer"
    )


def _from_container_run(args: list[str]) -> Container:
    env: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("-"):
            return Container(args[i], tuple(args[i + 1 :]), env)
        name, eq, value = arg.partition("=")
        if name in ("-e", "--env"):
            if not eq:
                i += 1
                value = args[i] if i < len(args) else ""
            key, has, val = value.partition("=")
            if not has:
                raise NotExportable(
                    f"it passes the environment variable {key!r} from this computer "
                    "(docker run -e NAME without a value); set it in the server's env "
                    "or secrets instead"
                )
            env[key] = val
        elif name in ("-v", "--volume", "--mount"):
            raise NotExportable(
                "it mounts a folder of this computer into its container; a cluster "
                "has no such folder (use a volume of the cluster)"
            )
        elif name in _VALUE_OPTIONS and not eq:
            i += 1
        i += 1
    raise NotExportable("its docker/podman command names no image")


def desktop_command(
    image: str, args: Sequence[str], env_names: Sequence[str] = ()
) -> tuple[str, tuple[str, ...]]:
    """The command that runs an MCPServer's container on this computer: npx/uvx for
    the base images of :func:`container_for`, else ``docker run``. ``env_names`` are
    passed through to the container (``-e NAME``, the value from the server's env)."""
    if image == NODE_IMAGE and tuple(args[:1]) == ("npx",):
        return "npx", tuple(args[1:])
    if image == UV_IMAGE and tuple(args[:1]) == ("uvx",):
        return "uvx", tuple(args[1:])
    options: list[str] = ["run", "-i", "--rm"]
    for name in env_names:
        options += ["-e", name]
    return "docker", (*options, image, *args)
