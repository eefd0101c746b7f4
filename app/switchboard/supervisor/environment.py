"""The environment servers run in: the user's login-shell PATH, resolved once.

Started from a desktop launcher, the app inherits a bare PATH (no nvm, no
~/.local/bin), so ``npx``/``uvx`` would not be found. We ask the login shell once.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Mapping

from switchboard.core.errors import CommandNotFound, SpawnError

log = logging.getLogger("switchboard.supervisor")

_MARK = "__SWITCHBOARD_PATH__"
_EXTRA_DIRS = ("~/.local/bin", "~/.cargo/bin", "~/bin", "/usr/local/bin", "/opt/homebrew/bin")


def login_shell_path(shell: str | None = None, timeout: float = 3.0) -> str:
    """Return PATH as the user's login shell sets it, merged with ours. Blocking."""
    current = os.environ.get("PATH", os.defpath)
    shell = shell or os.environ.get("SHELL") or "/bin/sh"
    found = ""
    if os.environ.get("SWITCHBOARD_NO_LOGIN_SHELL") != "1" and os.path.exists(shell):
        try:
            out = subprocess.run(
                [shell, "-l", "-c", f'printf "{_MARK}%s{_MARK}" "$PATH"'],
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                text=True,
                check=False,
            ).stdout
            parts = out.split(_MARK)
            if len(parts) >= 3:
                found = parts[1]
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("could not read PATH from login shell %s: %s", shell, exc)
    return merge_paths(found, current, *(os.path.expanduser(d) for d in _EXTRA_DIRS))


def merge_paths(*paths: str) -> str:
    """Join PATH strings, keeping the first occurrence of each directory."""
    seen: dict[str, None] = {}
    for p in paths:
        for entry in p.split(os.pathsep):
            if entry and entry not in seen:
                seen[entry] = None
    return os.pathsep.join(seen)


def resolve_command(command: str, path: str) -> str:
    """The absolute path of ``command`` on ``path``, or CommandNotFound. A command given
    as a path is not looked up on PATH: a missing one is "no such file"."""
    if os.sep in command:
        if os.access(command, os.X_OK) and os.path.isfile(command):
            return command
        if not os.path.exists(command):
            raise SpawnError(
                f"No such file: {command}",
                hint="Check the path in the server's command, or install the program there.",
            )
        raise SpawnError(
            f"{command} is not an executable file.",
            hint=f"Make it executable (chmod +x {command}) or fix the server's command.",
        )
    found = shutil.which(command, path=path)
    if found is None:
        raise CommandNotFound(command, path)
    return found


def build_env(
    path: str, server_env: Mapping[str, str], secrets: Mapping[str, str]
) -> dict[str, str]:
    """The child's environment: ours, PATH from the login shell, the server's, its secrets."""
    env = dict(os.environ)
    # Do not leak the engine's own credentials or Qt/Python debugging into servers.
    for key in ("SWITCHBOARD_ADMIN_TOKEN",):
        env.pop(key, None)
    env["PATH"] = path
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(server_env)
    env.update(secrets)
    return env
