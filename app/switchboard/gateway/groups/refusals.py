"""Why a group does not serve a name, as the JSON-RPC error the caller gets (issue 14.2-3).

A name of a member that is down: ``-32000`` naming the server and its state (at once,
never a hang); switched off or hidden by a collision: ``-32602`` saying so and what to
do (the call never reaches the server); unknown: ``-32602`` (MCP 2025-11-25
server/tools "Error Handling": unknown tools are protocol errors) or ``-32002`` for a
resource (server/resources "Error Handling").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from switchboard.core.group import SEPARATOR, GroupSpec, Naming
from switchboard.gateway import jsonrpc
from switchboard.gateway.groups.naming import Merged


class Refused(Exception):
    """A request answered with a JSON-RPC error by the group itself."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def missing(
    group: str,
    spec: GroupSpec,
    state_of: Callable[[str], str | None],
    merged: Merged,
    kind: str,
    name: object,
) -> Refused:
    """Why ``name`` is not served: its member is down, it is switched off or hidden
    by a collision, or no member has it."""
    shown = name if isinstance(name, str) else repr(name)
    server = merged.down_names.get(name) if isinstance(name, str) else None
    if server is None and isinstance(name, str) and spec.naming is Naming.PREFIX:
        prefix = name.partition(SEPARATOR)[0]
        if prefix in spec.servers and (state_of(prefix) or "missing") != "running":
            server = prefix
    if server is not None:
        return down(group, state_of, server, f"its {kind} {shown!r} is not available")
    hidden = merged.hidden.get(name) if isinstance(name, str) else None
    if hidden is not None:
        owner, why = hidden
        if why == "filter":
            return Refused(
                jsonrpc.INVALID_PARAMS,
                f"The {kind} {shown!r} of server {owner!r} is switched off in group "
                f"{group!r}. Switch it on: 'switchboard group {kind} on {group} "
                f"{owner} ...'.",
                {"server": owner, "hidden_by": why},
            )
        return Refused(
            jsonrpc.INVALID_PARAMS,
            f"The {kind} {shown!r} of server {owner!r} is hidden in group {group!r}: "
            "another member has the same name. Rename it or change the group's naming.",
            {"server": owner, "hidden_by": why},
        )
    if kind == "resource":
        return Refused(-32002, f"Resource not found in group {group!r}: {shown}")
    return Refused(jsonrpc.INVALID_PARAMS, f"Unknown {kind}: {shown} (group {group!r}).")


def down(group: str, state_of: Callable[[str], str | None], server: str, what: str) -> Refused:
    state = state_of(server) or "missing"
    hint = (
        f"Start it: 'switchboard start {server}' or from the tray."
        if state != "missing"
        else "Add that server, or remove it from the group."
    )
    return Refused(
        jsonrpc.SERVER_UNAVAILABLE,
        f"Server {server!r} of group {group!r} is {state}: {what}. {hint}",
        {"server": server, "state": state},
    )
