"""Switchboard: run your local MCP servers behind one safe loopback gateway."""

__version__ = "0.1.0"

__all__ = ["__version__"]
