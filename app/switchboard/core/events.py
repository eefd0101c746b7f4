"""Events the engine publishes to plain-Python observers (no Qt here)."""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Callable
from typing import Any, Union

from switchboard.core.state import ServerState

log = logging.getLogger("switchboard.events")


@dataclasses.dataclass(frozen=True, slots=True)
class StateChanged:
    """A server moved from one state to another."""

    name: str
    old: ServerState
    new: ServerState
    detail: str = ""
    """Why, for a person (exit code, last stderr line, error message)."""


class Stream(enum.Enum):
    STDERR = "stderr"
    SYSTEM = "system"
    """Lines Switchboard itself writes into a server's log (started, exited, ...)."""


@dataclasses.dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a server's log."""

    name: str
    time: float
    stream: Stream
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "time": self.time,
            "stream": self.stream.value,
            "text": self.text,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class ConfigChanged:
    """Servers or settings were added, removed or edited."""

    names: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class GroupsChanged:
    """Groups were added, edited, renamed or removed (also when removing a server took
    it out of groups). Published after the change is saved and current."""

    names: tuple[str, ...] = ()
    """The groups concerned (a rename names the old and the new name)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Notice:
    """Something a person should see (consent requested, key warning, ...)."""

    kind: str
    title: str
    text: str
    data: dict[str, Any] = dataclasses.field(default_factory=dict)


Event = Union[StateChanged, LogLine, ConfigChanged, GroupsChanged, Notice]
Observer = Callable[[Event], None]


class EventBus:
    """Synchronous fan-out to observers. A failing observer is logged, never fatal."""

    def __init__(self) -> None:
        self._observers: list[Observer] = []

    def subscribe(self, observer: Observer) -> Callable[[], None]:
        self._observers.append(observer)

        def unsubscribe() -> None:
            if observer in self._observers:
                self._observers.remove(observer)

        return unsubscribe

    def publish(self, event: Event) -> None:
        for observer in tuple(self._observers):
            try:
                observer(event)
            except Exception:
                log.exception("event observer %r failed on %r", observer, type(event).__name__)
