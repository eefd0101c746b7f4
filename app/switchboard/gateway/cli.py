"""Gateway sub-commands: ``switchboard connect NAME`` (the stdio bridge)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
from typing import TYPE_CHECKING, Any

from switchboard.cli import _EXTRA_PARSERS, command
from switchboard.core.errors import SwitchboardError, ValidationError
from switchboard.core.paths import AppPaths
from switchboard.core.spec import validate_name

if TYPE_CHECKING:
    from switchboard.gateway.bridge import TokenProvider

log = logging.getLogger("switchboard.gateway")


def _add_parsers(sub: Any) -> None:
    c = sub.add_parser(
        "connect",
        help="bridge stdin/stdout to a server's gateway endpoint (for stdio-only clients)",
        description="Relay MCP JSON-RPC lines between stdin/stdout and the gateway endpoint "
        "of server NAME. Use it as the command of a stdio-only MCP client, e.g. in "
        'Claude Desktop: {"command": "switchboard", "args": ["connect", "NAME"]}. '
        "It reaches Switchboard through its private socket (never a TCP port another "
        "user could hold). A bearer token is taken from SWITCHBOARD_TOKEN when set.",
    )
    c.add_argument("name", help="server name")
    c.add_argument(
        "--url",
        help="relay to this gateway MCP URL over plain TCP instead (no Switchboard token is "
        "fetched for it; only SWITCHBOARD_TOKEN is sent)",
    )


_EXTRA_PARSERS.append(_add_parsers)


def gateway_url(paths: AppPaths, name: str) -> str:
    """The MCP URL of ``name``: from the running engine's endpoint file, else the
    configured port. It only names the endpoint: the bytes go through the private socket
    (the bridge reports 'not running' per request while nothing answers there)."""
    try:
        data = json.loads(paths.endpoint_file.read_text("utf-8"))
        base = str(data["url"])
    except (OSError, ValueError, KeyError):
        from switchboard.store.config import ConfigStore

        settings = ConfigStore(paths.config_file).load().settings
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        base = f"http://{host}:{settings.port}"
    return f"{base.rstrip('/')}/servers/{name}/mcp"


def firstparty_tokens(paths: AppPaths, name: str) -> TokenProvider:
    """Tokens from Switchboard's own authorization server (its first-party client),
    fetched only once the gateway asks for one (a 401), so servers without auth never
    touch the keyring."""

    async def provider(refresh: bool) -> str | None:
        if not refresh:
            return None
        try:
            from switchboard.auth.firstparty import aget_token
        except ImportError:
            return None
        try:
            return await aget_token(paths, name)
        except SwitchboardError as exc:
            log.warning("connect: no token for %s: %s", name, exc)
            return None

    return provider


@command("connect")
def _connect(args: argparse.Namespace, paths: AppPaths) -> int:
    from switchboard.control import channel
    from switchboard.gateway.bridge import env_token, run_bridge, token_provider_for

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
    url = gateway_url(paths, args.name)
    transport = channel.async_transport(paths, url)
    provider = token_provider_for(url)
    if provider is env_token and not os.environ.get("SWITCHBOARD_TOKEN"):
        provider = firstparty_tokens(paths, args.name)
    asyncio.run(run_bridge(url, provider, transport))
    return 0
