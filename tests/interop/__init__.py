"""Interop tests: clients nobody here wrote (the TypeScript MCP SDK, mcp-remote) against
a real Switchboard engine and real servers; npm packages pinned in conftest.py."""
