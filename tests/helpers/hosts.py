"""A stand-in for the engine as the gateway sees it (its ``host``), for gateway unit tests."""

from __future__ import annotations

from typing import Any

from switchboard.core.events import EventBus
from switchboard.gateway.authentication import LoopbackOnly


class FakeHost:
    """No supervisor, an event bus, the anonymous loopback authenticator, running."""

    def __init__(self) -> None:
        self.supervisor: Any = None
        self.events = EventBus()
        self.authenticator = LoopbackOnly()
        self.state = "running"
