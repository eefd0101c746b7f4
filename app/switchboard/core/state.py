"""Lifecycle states (a managed server, the engine) and the transitions allowed between them."""

from __future__ import annotations

import enum

from switchboard.core.errors import IllegalTransition


class ServerState(enum.Enum):
    """Where a managed server is in its life.

    ::

        STOPPED -> STARTING -> RUNNING -> STOPPING -> STOPPED
                      |           |
                      v           v
                   BACKOFF <- (crash) -> FAILED (crash loop / spawn error)

    An on-demand server (``start = "on-demand"``) has one more state, SLEEPING: no
    process, and the next client call starts it (issue 16.2)::

        STOPPED -> SLEEPING -> STARTING -> RUNNING -> STOPPING -> SLEEPING (idle)
                      |
                      v
                   STOPPED (the person stops it)
    """

    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    BACKOFF = "backoff"
    FAILED = "failed"
    SLEEPING = "sleeping"
    """On demand and idle: no process; the gateway starts it on the next call."""
    NEEDS_SIGN_IN = "needs-sign-in"
    """A remote server that has no valid upstream token: waits for the person to sign
    in (not a failure; ``remote/``)."""

    @property
    def is_active(self) -> bool:
        """True while the server is wanted up (running or on its way there)."""
        return self in (
            ServerState.STARTING,
            ServerState.RUNNING,
            ServerState.BACKOFF,
            ServerState.NEEDS_SIGN_IN,
        )

    def can_become(self, new: ServerState) -> bool:
        return new in _TRANSITIONS[self]

    def check(self, new: ServerState) -> ServerState:
        """Return ``new`` if the transition is legal, else raise IllegalTransition."""
        if not self.can_become(new):
            raise IllegalTransition(
                f"A server cannot go from {self.value} to {new.value}.",
                hint="This is a bug in Switchboard; please report it with the log.",
            )
        return new


_TRANSITIONS: dict[ServerState, frozenset[ServerState]] = {
    ServerState.STOPPED: frozenset({ServerState.STARTING, ServerState.SLEEPING}),
    ServerState.STARTING: frozenset(
        {
            ServerState.RUNNING,
            ServerState.BACKOFF,
            ServerState.FAILED,
            ServerState.STOPPING,
            ServerState.NEEDS_SIGN_IN,
        }
    ),
    ServerState.RUNNING: frozenset(
        {
            ServerState.STOPPING,
            ServerState.BACKOFF,
            ServerState.FAILED,
            ServerState.NEEDS_SIGN_IN,
        }
    ),
    ServerState.NEEDS_SIGN_IN: frozenset({ServerState.STARTING, ServerState.STOPPING}),
    ServerState.STOPPING: frozenset({ServerState.STOPPED, ServerState.SLEEPING}),
    ServerState.BACKOFF: frozenset(
        {ServerState.STARTING, ServerState.STOPPING, ServerState.FAILED}
    ),
    ServerState.FAILED: frozenset({ServerState.STARTING, ServerState.STOPPING}),
    ServerState.SLEEPING: frozenset({ServerState.STARTING, ServerState.STOPPED}),
}


class EngineState(enum.StrEnum):
    r"""Where the engine is in its life (a ``str``: ``engine.state == "closed"`` holds).

    ::

        NEW -> STARTING -> RUNNING -> CLOSING -> CLOSED
         |        |  \________________/^           ^
         |        \_________________________________|  (start failed)
         \__________________________________________/  (closed before start)
    """

    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    CLOSING = "closing"
    CLOSED = "closed"

    def can_become(self, new: EngineState) -> bool:
        return new in _ENGINE_TRANSITIONS[self]

    def check(self, new: EngineState) -> EngineState:
        """Return ``new`` if the transition is legal, else raise IllegalTransition."""
        if not self.can_become(new):
            raise IllegalTransition(
                f"The engine cannot go from {self.value} to {new.value}.",
                hint="This is a bug in Switchboard; please report it with the log.",
            )
        return new


_ENGINE_TRANSITIONS: dict[EngineState, frozenset[EngineState]] = {
    EngineState.NEW: frozenset({EngineState.STARTING, EngineState.CLOSED}),
    # CLOSING: aclose() called while start() is still on its way.
    EngineState.STARTING: frozenset({EngineState.RUNNING, EngineState.CLOSING, EngineState.CLOSED}),
    EngineState.RUNNING: frozenset({EngineState.CLOSING}),
    EngineState.CLOSING: frozenset({EngineState.CLOSED}),
    EngineState.CLOSED: frozenset({EngineState.CLOSED}),
}
