"""Which client request a stdio server's request belongs to (sampling, elicitation,
roots), for :class:`~switchboard.gateway.mux.StdioMux`.

MCP 2025-11-25 (``client/sampling``, ``client/elicitation``, ``client/roots``; SEP-2260)
has a server ask the client only during one of the client's requests, but the stdio
wire does not say which. One process serves many clients here, and a guess would show
one person's prompt to another, so :func:`attribute` is exact or refuses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from switchboard.gateway import jsonrpc
from switchboard.gateway.channels import Pending, Session

CAPABILITY_OF = {
    "sampling/createMessage": "sampling",
    "elicitation/create": "elicitation",
    "roots/list": "roots",
}
"""Server requests and the client capability each needs."""

NON_CAUSING = frozenset(
    {
        "initialize",
        "ping",
        "tools/list",
        "resources/list",
        "resources/templates/list",
        "prompts/list",
        "resources/subscribe",
        "resources/unsubscribe",
        "logging/setLevel",
        "tasks/get",
        "tasks/list",
    }
)
"""Client requests that never make a server ask the client something. Every other method
(``tools/call``, ``resources/read``, ``prompts/get``, ``completion/complete``, and any
method this list does not know) is a *causing* request (SEP-2260: sampling, elicitation
and roots requests belong to a client request)."""


class Refusal:
    """Why a server request is refused: the JSON-RPC error to answer the server with."""

    __slots__ = ("code", "idle", "message")

    def __init__(self, code: int, message: str, idle: bool = False) -> None:
        self.code = code
        self.message = message
        self.idle = idle
        """No causing request was running: the server asked outside any request."""


def by_token(params: dict[str, Any], progress: Mapping[Any, Pending]) -> Pending | None:
    """The request in flight whose progress token the server request carries in
    ``_meta.progressToken`` (servers that pass the caller's token along), if any."""
    meta = params.get("_meta")
    if isinstance(meta, dict):
        token = meta.get("progressToken")
        if jsonrpc.is_token(token):
            found = progress.get(token)
            if found is not None and found.line is None:
                return found
    return None


def by_running(method: str, pending: Iterable[Pending]) -> Pending | Refusal:
    """The caller when every causing request running now belongs to one session.

    With one causing request at a time (``StdioMux.serial``) this holds by
    construction. No causing request running, or several sessions' -> refused: an
    idle client is never asked on someone else's behalf (``roots/list`` outside a
    request, e.g. right after initialize, is refused too: a shared process has no one
    client whose roots it could be told). The latest request of the session carries
    the message (within one session nothing leaks).
    """
    running = [p for p in pending if p.causing and p.line is None]
    if not running:
        return Refusal(
            jsonrpc.INVALID_REQUEST,
            f"No client request is in progress that {method} could belong to; the "
            "gateway shares this server between clients and asks a client only during "
            "its own request.",
            idle=True,
        )
    session = running[-1].session
    if any(p.session is not session for p in running):
        return Refusal(
            jsonrpc.INVALID_REQUEST,
            f"{len(running)} requests of different clients are in progress and {method} "
            "does not say which one it belongs to (pass the request's "
            "_meta.progressToken along); refused rather than guessed.",
        )
    return running[-1]


def check_capable(method: str, caller: Pending) -> Refusal | None:
    """The caller's session must have declared the capability the request needs."""
    capability = CAPABILITY_OF.get(method)
    session: Session = caller.session
    if session.closed:
        return Refusal(jsonrpc.INTERNAL_ERROR, "The client that made the request has left.")
    if capability is not None and capability not in session.capabilities:
        return Refusal(
            jsonrpc.METHOD_NOT_FOUND,
            f"The client that made the {caller.method} request does not support {method} "
            f"(it did not declare the {capability!r} capability).",
        )
    return None
