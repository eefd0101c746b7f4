"""MCP client detection and config writers (Cursor, VS Code, Claude, ...)."""

from switchboard.clients.known_clients import BY_ID, KINDS, ClientKind, HostEnv, Target
from switchboard.clients.manager import ClientInfo, ClientManager, SyncReport, is_ours

__all__ = [
    "BY_ID",
    "KINDS",
    "ClientInfo",
    "ClientKind",
    "ClientManager",
    "HostEnv",
    "SyncReport",
    "Target",
    "is_ours",
]
