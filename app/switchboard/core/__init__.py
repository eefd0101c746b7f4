"""Values, states, events and errors shared by every layer."""

from switchboard.core.errors import (
    CommandNotFound,
    ConfigError,
    ServerExists,
    ServerNotFound,
    ServerNotRunning,
    SpawnError,
    SwitchboardError,
    ValidationError,
)
from switchboard.core.events import ConfigChanged, Event, EventBus, LogLine, Notice, StateChanged
from switchboard.core.spec import AuthMode, RestartPolicy, ServerSpec, Settings, Transport
from switchboard.core.state import EngineState, ServerState

__all__ = [
    "AuthMode",
    "CommandNotFound",
    "ConfigChanged",
    "ConfigError",
    "EngineState",
    "Event",
    "EventBus",
    "LogLine",
    "Notice",
    "RestartPolicy",
    "ServerExists",
    "ServerNotFound",
    "ServerNotRunning",
    "ServerSpec",
    "ServerState",
    "Settings",
    "SpawnError",
    "StateChanged",
    "SwitchboardError",
    "Transport",
    "ValidationError",
]
