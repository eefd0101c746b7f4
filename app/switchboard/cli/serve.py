"""Verbs that run Switchboard itself: ``serve`` (the engine headless), ``gui`` (the
desktop app) and ``connect [--group] NAME`` (the stdio bridge of
:mod:`switchboard.gateway.stdio_bridge`: MCP stdio transport on one side, Streamable
HTTP to the gateway on the other; MCP 2025-06-18, Basic / Transports)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import time
from typing import TYPE_CHECKING

from switchboard import __version__
from switchboard.cli.common import SubParsers, configured_base_url
from switchboard.core.errors import SwitchboardError, ValidationError
from switchboard.core.paths import AppPaths
from switchboard.core.spec import validate_name

if TYPE_CHECKING:
    from switchboard.gateway.stdio_bridge import TokenProvider

# 'connect' is the gateway's stdio bridge: its warnings keep the gateway's category.
log = logging.getLogger("switchboard.gateway")


def add_engine_parsers(sub: SubParsers) -> None:
    """``serve`` and ``gui``."""
    s = sub.add_parser("serve", help="run the engine headless in the foreground")
    s.add_argument("--port", type=int, help="listen on this loopback port (default: setting)")
    s.add_argument("--no-restore", action="store_true", help="do not start servers left running")
    s.set_defaults(handler=run_serve)

    g = sub.add_parser("gui", help="start the desktop app (the default)")
    g.set_defaults(handler=run_gui)


def add_connect_parser(sub: SubParsers) -> None:
    """``connect NAME [--url URL]``."""
    c = sub.add_parser(
        "connect",
        help="bridge stdin/stdout to a server's gateway endpoint (for stdio-only clients)",
        description="Relay MCP JSON-RPC lines between stdin/stdout and the gateway endpoint "
        "of server NAME. Use it as the command of a stdio-only MCP client, e.g. in "
        'Claude Desktop: {"command": "switchboard", "args": ["connect", "NAME"]}. '
        "It reaches Switchboard through its private socket (never a TCP port another "
        "user could hold). A bearer token is taken from SWITCHBOARD_TOKEN when set.",
    )
    c.add_argument("name", help="server name (a group's name with --group)")
    c.add_argument(
        "--group",
        action="store_true",
        help="NAME is a group: bridge to the group's endpoint (/groups/NAME/mcp)",
    )
    c.add_argument(
        "--url",
        help="relay to this gateway MCP URL over plain TCP instead (no Switchboard token is "
        "fetched for it; only SWITCHBOARD_TOKEN is sent)",
    )
    c.set_defaults(handler=run_connect)


def run_gui(args: argparse.Namespace, paths: AppPaths) -> int:
    from switchboard.application import run_gui as start_app

    return start_app(paths)


def run_serve(args: argparse.Namespace, paths: AppPaths) -> int:
    from switchboard.composition import build_engine

    logging.getLogger("switchboard").setLevel(logging.DEBUG if args.verbose else logging.INFO)

    async def run() -> None:
        t0 = time.perf_counter()
        engine = build_engine(paths, port=args.port, restore_servers=not args.no_restore)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await engine.start()
        print(
            f"Switchboard {__version__} ready at {engine.base_url} "
            f"in {(time.perf_counter() - t0) * 1e3:.0f} ms (config: {paths.config_file})",
            flush=True,
        )
        try:
            await stop.wait()
        finally:
            print("Stopping servers...", flush=True)
            await engine.aclose()

    asyncio.run(run())
    return 0


def gateway_url(paths: AppPaths, name: str, kind: str = "servers") -> str:
    """The MCP URL of server ``name`` (of group ``name`` when ``kind == "groups"``): from
    the running engine's endpoint file, else the configured port. It only names the
    endpoint: the bytes go through the private socket (the bridge reports 'not running'
    per request while nothing answers there)."""
    try:
        data = json.loads(paths.endpoint_file.read_text("utf-8"))
        base = str(data["url"])
    except (OSError, ValueError, KeyError):
        from switchboard.store.config import ConfigStore

        base = configured_base_url(ConfigStore(paths.config_file).load().settings)
    return f"{base.rstrip('/')}/{kind}/{name}/mcp"


def firstparty_tokens(paths: AppPaths, name: str, kind: str = "servers") -> TokenProvider:
    """Tokens from Switchboard's own authorization server (its first-party client),
    fetched only once the gateway asks for one (a 401), so servers without auth never
    touch the keyring."""

    async def provider(refresh: bool) -> str | None:
        if not refresh:
            return None
        from switchboard.auth.connect_client import aget_token

        try:
            return await aget_token(paths, name, kind=kind)
        except SwitchboardError as exc:
            log.warning("connect: no token for %s: %s", name, exc)
            return None

    return provider


def run_connect(args: argparse.Namespace, paths: AppPaths) -> int:
    from switchboard.control import channel
    from switchboard.gateway.stdio_bridge import env_token, run_bridge, token_provider_for

    validate_name(args.name)
    if args.url:
        # An explicit URL is the person's choice: plain TCP, and no token of ours is
        # fetched for a peer nobody verified.
        if not args.url.startswith(("http://", "https://")):
            raise ValidationError(
                f"Invalid URL {args.url!r}.", hint="Use http://127.0.0.1:PORT/..."
            )
        asyncio.run(run_bridge(args.url, env_token))
        return 0
    kind = "groups" if getattr(args, "group", False) else "servers"
    url = gateway_url(paths, args.name, kind)
    transport = channel.async_transport(paths, url)
    provider = token_provider_for(url)
    if provider is env_token and not os.environ.get("SWITCHBOARD_TOKEN"):
        provider = firstparty_tokens(paths, args.name, kind)
    asyncio.run(run_bridge(url, provider, transport))
    return 0
