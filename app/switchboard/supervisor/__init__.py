"""Process lifecycle: spawn, watch, restart with backoff, stop; logs; PATH resolution."""

from switchboard.supervisor.backoff import Backoff
from switchboard.supervisor.process import ManagedServer, ServerStatus
from switchboard.supervisor.spawning import spawn_process
from switchboard.supervisor.stream import EndOfStream, StdioStream
from switchboard.supervisor.supervisor import Supervisor

__all__ = [
    "Backoff",
    "EndOfStream",
    "ManagedServer",
    "ServerStatus",
    "StdioStream",
    "Supervisor",
    "spawn_process",
]
