"""``switchboard autostart on | off | status``: start Switchboard at login (the
mechanisms per platform are in :mod:`switchboard.autostart`)."""

from __future__ import annotations

import argparse

from switchboard.cli.common import SubParsers
from switchboard.core.paths import AppPaths


def add_parsers(sub: SubParsers) -> None:
    """``autostart [on | off | status]``."""
    au = sub.add_parser("autostart", help="start Switchboard when you log in (on, off, status)")
    au.add_argument("action", choices=["on", "off", "status"], nargs="?", default="status")
    au.set_defaults(handler=_autostart)


def _autostart(args: argparse.Namespace, paths: AppPaths) -> int:
    from switchboard import autostart

    if args.action != "status":
        autostart.set_enabled(args.action == "on")
    state = "on" if autostart.is_enabled() else "off"
    print(f"Start at login is {state}.")
    return 0
