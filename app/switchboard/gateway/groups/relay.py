"""Messages between a group session and its member sessions (issue 14.2).

A member's requests to the client (sampling, elicitation) get a fresh id on the group
session (:func:`rewrite`): two members number their requests independently, and the
client answers by id; its answer goes back to the member under the original id
(:func:`answer`). A member's ``notifications/cancelled`` for one of its requests is
renamed the same way. Messages that belong to a client request go on that request's
stream (:func:`related`), the others on the session's (:func:`unrelated`); the
members' ``list_changed`` are not passed on (the group announces its own, see
``GroupMux.changed``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
from typing import Any

from switchboard.gateway import jsonrpc
from switchboard.gateway.channels import Pending, PostChannel, Session
from switchboard.gateway.groups.listings import MemberClient
from switchboard.gateway.mux import StdioMux

log = logging.getLogger("switchboard.gateway")


@dataclasses.dataclass(slots=True)
class State:
    """Per group session: its member sessions, running requests, server requests."""

    clients: dict[str, MemberClient] = dataclasses.field(default_factory=dict)
    opening: dict[str, asyncio.Task[MemberClient]] = dataclasses.field(default_factory=dict)
    tasks: dict[int, asyncio.Task[None]] = dataclasses.field(default_factory=dict)
    server_requests: dict[int, tuple[MemberClient, Any]] = dataclasses.field(default_factory=dict)
    direct: dict[int, tuple[StdioMux, Session]] = dataclasses.field(default_factory=dict)
    """Calls forwarded straight to a member mux (``direct.py``): its mux and session."""
    log_level: dict[str, Any] | None = None
    ids: itertools.count[int] = dataclasses.field(default_factory=lambda: itertools.count(1))
    """Ids of the members' requests on this group session."""


def rewrite(state: State, client: MemberClient, msg: dict[str, Any]) -> bytes:
    """A member's message for the group session: server requests get a fresh id."""
    if "id" in msg and "method" in msg:
        gid = next(state.ids)
        state.server_requests[gid] = (client, msg["id"])
        return jsonrpc.dumps({**msg, "id": gid})
    if msg.get("method") == "notifications/cancelled":
        params = msg.get("params")
        if isinstance(params, dict):
            for gid, (owner, original) in list(state.server_requests.items()):
                if owner is client and original == params.get("requestId"):
                    del state.server_requests[gid]
                    return jsonrpc.dumps({**msg, "params": {**params, "requestId": gid}})
    return jsonrpc.dumps(msg)


def related(
    session: Session, state: State, pending: Pending, client: MemberClient, msg: dict[str, Any]
) -> None:
    """A message the member sent about one client request: on its stream if it has one
    open, else on the session's (MCP 2025-11-25 basic/transports, Streamable HTTP)."""
    line = rewrite(state, client, msg)
    channel = pending.channel
    if not isinstance(channel, PostChannel) or (channel.sse_ok and not channel.done):
        channel.push(line, False)
    else:
        session.send(line)


def unrelated(session: Session, state: State, server: str, msg: dict[str, Any]) -> None:
    """A message the member sent on its own (resource updates, logging, ...)."""
    method = msg.get("method")
    if isinstance(method, str) and method.endswith("/list_changed"):
        return
    if session.closed:
        return
    client = state.clients.get(server)
    if client is None:
        if "id" not in msg:
            session.send(jsonrpc.dumps(msg))
        return
    session.send(rewrite(state, client, msg))


def answer(state: State, msg: dict[str, Any]) -> None:
    """The client's answer to a member's request: to that member, under its own id."""
    gid = msg.get("id")
    found = state.server_requests.pop(gid, None) if type(gid) is int else None
    if found is None:
        log.debug("group session: dropped an answer to unknown request %r", gid)
        return
    client, original = found
    with contextlib.suppress(Exception):
        if "error" in msg:
            client.reply(original, error=msg["error"])
        else:
            client.reply(original, result=msg.get("result"))
