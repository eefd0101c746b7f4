"""Human-readable quantities shared by the CLI and the window."""

from __future__ import annotations


def format_bytes(n: int | None) -> str:
    """'—' for unknown, else binary units with one decimal above KiB: '87.3 MiB'."""
    if n is None:
        return "—"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
