"""What the gateway's transports need of a group endpoint in place of a server.

``streamable_http.py`` and ``legacy_sse.py`` take a ``ManagedServer`` or a
:class:`GroupTarget`: both have a ``name`` (the session key: a server's name, or
``groups/<name>``, which no server name can be), a ``state`` and a URL ``path``; the
gateway's ``ready_mux`` gives a group target its :class:`GroupMux`.
"""

from __future__ import annotations

from switchboard.core.state import ServerState
from switchboard.gateway.groups.runtime import GroupMux


class GroupTarget:
    """One request's view of a group endpoint (cheap: made per request)."""

    __slots__ = ("group", "mux", "name", "state")

    def __init__(self, group: str, mux: GroupMux) -> None:
        self.group = group
        self.name = f"groups/{group}"
        self.mux = mux
        self.state = ServerState.RUNNING
        """A group is always there; its members may not be (said per call)."""
