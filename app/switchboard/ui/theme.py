"""The person's appearance choice (Settings → Appearance): follow the system, light or
dark. ``Settings.theme`` holds the value; :mod:`switchboard.ui.style` draws it."""

from __future__ import annotations

from PySide6.QtCore import Qt

from switchboard.ui.style import apply_color_scheme

THEMES = (("Follow the system", "system"), ("Light", "light"), ("Dark", "dark"))
"""(label, ``Settings.theme`` value) in the order the Appearance box lists them."""


def apply_theme(theme: str) -> None:
    """Light/dark follow the system unless the person picked one (see ui/style.py)."""
    scheme = {
        "light": Qt.ColorScheme.Light,
        "dark": Qt.ColorScheme.Dark,
    }.get(theme, Qt.ColorScheme.Unknown)
    apply_color_scheme(scheme)
