"""How a server's process is started: the seams the supervisor takes (secrets, the
package resolver, the spawner) and the production spawner."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol

from switchboard.core.errors import SpawnError
from switchboard.core.launch import Launch

SecretResolver = Callable[[Mapping[str, str]], Awaitable[dict[str, str]]]
"""Turns {ENV_VAR: secret name} into {ENV_VAR: value}; raises SecretError."""


async def no_secrets(refs: Mapping[str, str]) -> dict[str, str]:
    if refs:
        raise SpawnError(
            "This server needs secrets but no secret store is configured.",
            hint="Configure the keyring.",
        )
    return {}


class CommandResolver(Protocol):
    """Turns a package-runner command (``npx -y pkg``, ``uvx pkg``) into the package's
    own program (packages/resolver.py implements it; composition.py injects it).

    Returns what to spawn, None when the command is not one it resolves; raises
    SwitchboardError when it is one but cannot be resolved (the command then runs as
    written, with a notice). ``note`` writes progress to the server's log."""

    async def __call__(
        self,
        command: str,
        args: Sequence[str],
        *,
        path: str,
        env: Mapping[str, str],
        note: Callable[[str], None],
    ) -> Launch | None: ...


class Spawner(Protocol):
    """Starts a process. Production: :func:`spawn_process`; tests may pass fakes."""

    async def __call__(
        self, argv: list[str], env: dict[str, str], cwd: str | None, stdio: bool
    ) -> asyncio.subprocess.Process: ...


async def spawn_process(
    argv: list[str], env: dict[str, str], cwd: str | None, stdio: bool
) -> asyncio.subprocess.Process:
    """Spawn without a shell, in a new session and process group, stdin piped for stdio.

    No ``preexec_fn`` (Python code between fork and exec is unsafe in a threaded
    process): ``start_new_session`` is done by the C fork helper. Orphan protection
    when the engine dies is the watchdog's job (watchdog.py, tree.py)."""
    return await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdio else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=cwd,
        start_new_session=True,
        close_fds=True,
    )
