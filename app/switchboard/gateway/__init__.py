"""The gateway: one loopback MCP endpoint per server (Streamable HTTP + legacy SSE)."""

from switchboard.gateway.gateway import Gateway
from switchboard.gateway.mux import SUPPORTED_VERSIONS, StdioMux

__all__ = ["SUPPORTED_VERSIONS", "Gateway", "StdioMux"]
