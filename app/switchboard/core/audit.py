"""The audit port: security-relevant events, one call per event (issue 15.3).

Producers (auth, the engine's observers, the CLI) call an :class:`AuditSink`;
``switchboard.audit`` implements it (JSON lines, rotated, in the log dir). Neither
imports the other. Field names are stable and documented in ``docs/audit-log.md``.

Never pass a token, an authorization code or a secret value: only names, ids and
reasons.
"""

from __future__ import annotations

from typing import Any, Protocol

# Outcomes (the ``outcome`` field).
SUCCESS = "success"
FAILURE = "failure"
APPROVED = "approved"
DENIED = "denied"
EXPIRED = "expired"

# Actors that are not an OAuth client.
PERSON = "person"
"""Someone at this computer (the app, or the CLI through the running engine)."""
CLI = "cli"
"""The command line acting on files directly (no engine)."""
SWITCHBOARD = "switchboard"
"""Switchboard itself (a crash, a restart, a code reuse it detected)."""


class AuditSink(Protocol):
    """Takes one event; returns at once (callers run on the event loop or a worker
    thread; writing happens elsewhere). Thread-safe."""

    def emit(
        self,
        event: str,
        *,
        actor: str | None = None,
        target: str | None = None,
        outcome: str | None = None,
        reason: str | None = None,
        **fields: Any,
    ) -> None: ...


class NoAudit:
    """The sink when nothing is audited (tests, tools)."""

    def emit(
        self,
        event: str,
        *,
        actor: str | None = None,
        target: str | None = None,
        outcome: str | None = None,
        reason: str | None = None,
        **fields: Any,
    ) -> None:
        return None


NO_AUDIT = NoAudit()

__all__ = [
    "APPROVED",
    "CLI",
    "DENIED",
    "EXPIRED",
    "FAILURE",
    "NO_AUDIT",
    "PERSON",
    "SUCCESS",
    "SWITCHBOARD",
    "AuditSink",
    "NoAudit",
]
