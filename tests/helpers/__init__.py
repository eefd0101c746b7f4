"""Harnesses shared by tests in several folders (unit, integration, gui)."""
