"""What every verb group of the command line shares: the handler type and the
control-API client.

Each verb group (``cli/servers.py``, ``cli/auth.py``, ...) has an ``add_parsers``
function that adds its sub-commands to the ``switchboard`` parser and binds each to its
handler with ``set_defaults(handler=...)``; ``switchboard.cli.build_parser`` calls them
in the order ``switchboard --help`` lists the verbs. A handler takes the parsed
arguments and the app's paths and returns the exit status; ``switchboard.cli.main``
turns a :class:`~switchboard.core.errors.SwitchboardError` into ``error:``/``hint:``
lines.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from switchboard.core.loopback import url_host
from switchboard.core.paths import AppPaths
from switchboard.core.spec import Settings

if TYPE_CHECKING:
    from switchboard.control.client import ControlClient

Command: TypeAlias = Callable[[argparse.Namespace, AppPaths], int]
"""A verb's handler: parsed arguments and paths in, exit status out."""

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What ``ArgumentParser.add_subparsers`` returns; verb groups add their parsers to it."""


def control_client(paths: AppPaths) -> ControlClient:
    """A client of the running engine's control API; raises
    :class:`~switchboard.core.errors.EngineNotRunning` when none answers."""
    from switchboard.control.client import ControlClient

    return ControlClient.connect(paths)


def configured_base_url(settings: Settings) -> str:
    """The gateway's base URL from the settings alone (no engine asked): what it
    listens on once started, an IPv6 host in brackets (RFC 3986 section 3.2.2)."""
    return f"http://{url_host(settings.host)}:{settings.port}"
