"""The hot path of a group call: ``tools/call`` straight onto a ready member mux.

When the group's merged view is cached and the calling session's member session is open
on a ready mux, :meth:`GroupMux.submit` hands the request to the member's
:class:`~switchboard.gateway.mux.StdioMux` synchronously, under the client's own id
(unique within the group session, hence within its member session), with a
:class:`Relay` as its channel: the final response comes back from the mux already
carrying the client's id and goes to the client as is (no second parse and serialize,
no task). Related messages (progress, the member's sampling or elicitation requests) are
parsed and go through the group's id rewriting like any other. Anything else (first
call, member starting, lists, lean mode) takes the general path (``runtime.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from switchboard.gateway import jsonrpc
from switchboard.gateway.channels import Pending
from switchboard.gateway.groups.relay import related

if TYPE_CHECKING:
    from switchboard.gateway.groups.listings import MemberClient
    from switchboard.gateway.groups.relay import State
    from switchboard.gateway.groups.runtime import GroupMux


class Relay:
    """A member mux's channel for one directly forwarded call (see the module docstring)."""

    __slots__ = ("client", "group", "pending", "state")

    def __init__(
        self, group: GroupMux, state: State, pending: Pending, client: MemberClient
    ) -> None:
        self.group = group
        self.state = state
        self.pending = pending
        self.client = client

    def push(self, message: bytes, final: bool) -> None:
        pending = self.pending
        if final:
            self.group.direct_done(self.state, pending)
            pending.channel.push(message, True)
            return
        try:
            msg = jsonrpc.loads(message)
        except jsonrpc.JSONDecodeError:
            return
        if isinstance(msg, dict):
            related(pending.session, self.state, pending, self.client, msg)


def cancel_message(client_id: jsonrpc.MessageId) -> dict[str, Any]:
    """``notifications/cancelled`` for the member's copy of a directly forwarded call
    (the mux knows it under the client's id in the member session)."""
    return {
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": {"requestId": client_id, "reason": "Cancelled by the client."},
    }
