"""The gateway: every server behind one loopback MCP endpoint."""
