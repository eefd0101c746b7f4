"""Command-line front end: ``main`` and the one place that assembles the verbs.

``switchboard`` alone starts the desktop app; ``switchboard serve`` runs the same
engine headless; the other verbs drive a running engine through its control API,
and with none running the config verbs edit the config file directly.

Each verb group lives in its own module of this package and adds its parsers (and
binds their handlers) through its ``add_parsers`` function; :func:`build_parser`
calls them in the order ``switchboard --help`` lists the verbs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from switchboard import __version__
from switchboard.cli import (
    activity,
    auth,
    autostart,
    catalog,
    clients,
    exchange,
    groups,
    inspect,
    remote,
    secrets,
    serve,
    servers,
)
from switchboard.cli.common import Command
from switchboard.core.errors import SwitchboardError
from switchboard.core.paths import AppPaths


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="switchboard",
        description="Run your local MCP servers behind one safe loopback gateway. "
        "Without a command, starts the desktop app.",
    )
    p.add_argument("--version", action="version", version=f"switchboard {__version__}")
    p.add_argument(
        "--home",
        metavar="DIR",
        help="keep config, data and logs under DIR (default: platform dirs; env SWITCHBOARD_HOME)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log debug output to stderr")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    # The order of these calls is the order of the verbs in 'switchboard --help'.
    serve.add_engine_parsers(sub)  # serve, gui
    servers.add_parsers(sub)  # add, list, remove, start, stop, restart, status, logs
    remote.add_parsers(sub)  # signin, signout
    groups.add_parsers(sub)  # group
    autostart.add_parsers(sub)  # autostart
    servers.add_config_parser(sub)  # config
    serve.add_connect_parser(sub)  # connect
    auth.add_parsers(sub)  # consent, grants
    secrets.add_parsers(sub)  # secret
    catalog.add_parsers(sub)  # catalog
    exchange.add_parsers(sub)  # export, import
    clients.add_parsers(sub)  # client
    activity.add_parsers(sub)  # activity
    inspect.add_parsers(sub)  # tools, call
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything after the first "--" is a server's command line, taken verbatim, so
    # options may come before or after the name ("add NAME --auth off -- CMD ...").
    command_line: list[str] | None = None
    if "--" in argv:
        cut = argv.index("--")
        argv, command_line = argv[:cut], argv[cut + 1 :]
    args = parser.parse_args(argv)
    if command_line is not None:
        if not hasattr(args, "argv"):
            parser.error(f"'{args.command or 'switchboard'}' takes no command after '--'")
        args.argv = [*args.argv, *command_line]
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    paths = AppPaths.default(args.home)
    # No verb starts the desktop app, like 'switchboard gui'.
    handler: Command = getattr(args, "handler", serve.run_gui)
    try:
        return handler(args, paths)
    except SwitchboardError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


__all__ = ["build_parser", "main"]
