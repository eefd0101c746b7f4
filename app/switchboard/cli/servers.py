"""Verbs on the configured MCP servers: ``add``, ``list``, ``remove``, ``start``,
``stop``, ``restart``, ``status``, ``logs`` and ``config check | restore``.

They drive the running engine through its control API; with none running, ``add``,
``list``, ``remove`` and ``logs`` work on the config file and log files directly.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from typing import Any

from switchboard.audit import offline_config_store
from switchboard.cli.common import Command, SubParsers, control_client
from switchboard.core.errors import EngineNotRunning, ValidationError
from switchboard.core.paths import AppPaths
from switchboard.core.spec import (
    DEFAULT_SLEEP_AFTER,
    AuthMode,
    Isolation,
    ServerSpec,
    StartMode,
    Transport,
)
from switchboard.core.units import format_bytes
from switchboard.store.config import ConfigStore


def add_parsers(sub: SubParsers) -> None:
    """``add``, ``list``, ``remove``, ``start``, ``stop``, ``restart``, ``status``, ``logs``."""
    a = sub.add_parser(
        "add",
        help="add a server",
        description="Add a server. Example: switchboard add everything -- npx -y "
        "@modelcontextprotocol/server-everything stdio. A remote server: switchboard add "
        "github --url https://api.githubcopilot.com/mcp/ (then 'switchboard signin github').",
    )
    a.add_argument("name", help="server name (lowercase letters, digits, '-', '_', '.')")
    a.add_argument("argv", nargs="*", help="command and arguments (after --)")
    a.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    a.add_argument("--secret", action="append", default=[], metavar="ENV=SECRET_NAME")
    a.add_argument("--cwd")
    a.add_argument("--transport", choices=[t.value for t in Transport], default=None)
    a.add_argument(
        "--url",
        help="a remote server's https MCP URL (without a command); with --transport and "
        "--local: a local HTTP server's own URL, passed through",
    )
    a.add_argument(
        "--local",
        action="store_true",
        help="--url is a local HTTP server Switchboard passes requests through to",
    )
    a.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="HEADER=SECRET_NAME",
        help="remote servers: send this header upstream with the keyring secret's value "
        "(API keys instead of sign-in)",
    )
    a.add_argument(
        "--oauth-client-id",
        help="remote servers: a client id you registered with the provider (its secret, if "
        "any: 'switchboard secret set remote.NAME.client-secret')",
    )
    a.add_argument("--timeout", type=float, help="request timeout in seconds (default 600)")
    a.add_argument(
        "--auth",
        choices=[m.value for m in AuthMode],
        default="switchboard",
        help="who may call it: 'switchboard' (default: each client signs in and you approve "
        "it once), 'external' (tokens from --issuer), or 'off': anyone on this computer, "
        "including any local program, can call this server; web pages cannot",
    )
    a.add_argument("--issuer", help="external OIDC issuer URL (with --auth external)")
    a.add_argument(
        "--isolation",
        choices=[i.value for i in Isolation],
        default="auto",
        help="how clients share a stdio server: auto (default: one request at a time once "
        "the server asks clients questions), serial (always one at a time), shared "
        "(never; questions whose caller is unknown are refused)",
    )
    a.add_argument("--description", default="")
    a.add_argument(
        "--start-mode",
        choices=[m.value for m in StartMode],
        default="manual",
        help="when it runs: always (from launch), on-demand (asleep until a client calls "
        "it, asleep again after --sleep-after idle minutes), manual (default: when you "
        "start it)",
    )
    a.add_argument(
        "--sleep-after",
        type=float,
        default=DEFAULT_SLEEP_AFTER,
        metavar="MINUTES",
        help=f"idle minutes before an on-demand server sleeps (default {DEFAULT_SLEEP_AFTER:g})",
    )
    a.add_argument("--start", action="store_true", help="start it right away")
    a.set_defaults(handler=_add)

    ls = sub.add_parser("list", help="list servers (state, start mode, memory, URL)")
    ls.add_argument("--json", action="store_true", help="print JSON (rss_bytes per server)")
    ls.set_defaults(handler=_list)
    r = sub.add_parser("remove", help="remove a server (stops it first)")
    r.add_argument("name")
    r.set_defaults(handler=_remove)
    for verb in ("start", "stop", "restart"):
        v = sub.add_parser(verb, help=f"{verb} a server")
        v.add_argument("name")
        v.set_defaults(handler=_action(verb))
    st = sub.add_parser("status", help="show the engine's or one server's status")
    st.add_argument("name", nargs="?")
    st.set_defaults(handler=_status)
    lg = sub.add_parser("logs", help="show a server's log")
    lg.add_argument("name")
    lg.add_argument("-n", type=int, default=100, help="number of lines (default 100)")
    lg.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    lg.set_defaults(handler=_logs)


def add_config_parser(sub: SubParsers) -> None:
    """``config check | restore``."""
    cf = sub.add_parser(
        "config",
        help="check the config file, or restore its last good version",
        description="check: read the config file and report the first problem (with its "
        "line). restore: put the newest good backup (config.toml.bak, .bak.1, .bak.2) back; "
        "the damaged file is kept as config.toml.damaged.",
    )
    cf.add_argument("action", choices=["check", "restore"])
    cf.set_defaults(handler=_config)


def _offline_notice() -> None:
    print("Switchboard is not running; the change is saved and applies when it starts.")


def _parse_pairs(items: list[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValidationError(f"Invalid {what} {item!r}.", hint=f"Use --{what} KEY=VALUE.")
        out[key] = value
    return out


def _add(args: argparse.Namespace, paths: AppPaths) -> int:
    command_, *rest = args.argv or [""]
    # --url without a command is a remote server, unless --local says it is a local HTTP
    # server, or --transport names one with a loopback URL (what 'add --transport
    # streamable-http --url http://127.0.0.1:...' always meant).
    explicit = args.transport is not None
    transport = Transport(args.transport or ("streamable-http" if args.url else "stdio"))
    remote = (
        bool(args.url)
        and not command_
        and not args.local
        and transport is not Transport.STDIO
        and not (explicit and _is_local_url(args.url))
    )
    spec = ServerSpec(
        name=args.name,
        command=command_,
        args=tuple(rest),
        env=_parse_pairs(args.env, "env"),
        secrets=_parse_pairs(args.secret, "secret"),
        cwd=args.cwd,
        transport=transport,
        url=args.url,
        request_timeout=args.timeout or 600.0,
        auth=AuthMode(args.auth),
        isolation=Isolation(args.isolation),
        external_issuer=args.issuer,
        description=args.description,
        start=StartMode(args.start_mode),
        sleep_after=args.sleep_after,
        remote=remote,
        headers=_parse_pairs(args.header, "header"),
        oauth_client_id=args.oauth_client_id,
    )
    try:
        client = control_client(paths)
    except EngineNotRunning:
        offline_config_store(paths).update(lambda c: c.with_server(spec))
        print(f"Added {spec.name}.")
        _offline_notice()
        return 0
    with client:
        view = client.request("POST", "/servers", spec.to_dict())
        print(f"Added {spec.name}: {view['url']}")
        if args.start or spec.remote:
            result = client.request("POST", f"/servers/{spec.name}/start")
            print(_status_line(spec.name, result["status"]))
    return 0


def _is_local_url(url: str | None) -> bool:
    """An explicit --transport with a loopback URL: a local HTTP server (pass-through)."""
    from switchboard.core.loopback import is_loopback_url

    return bool(url) and is_loopback_url(url or "")


def _list(args: argparse.Namespace, paths: AppPaths) -> int:
    try:
        client = control_client(paths)
    except EngineNotRunning:
        config = ConfigStore(paths.config_file).load()
        if args.json:
            rows = [
                {"name": s.name, "state": None, "start": s.start.value, "rss_bytes": None}
                for s in config.servers
            ]
            print(json.dumps({"running": False, "servers": rows}, indent=2))
            return 0
        if not config.servers:
            print("No servers configured. Add one with 'switchboard add NAME -- COMMAND ...'.")
        for spec in config.servers:
            print(
                f"{spec.name:20} {'(not running)':14} {spec.start.value:10} "
                f"{_command_line(spec.to_dict())}"
            )
        print("(Switchboard is not running.)")
        return 0
    with client:
        servers = client.request("GET", "/servers")["servers"]
    if args.json:
        rows = [
            {
                "name": v["spec"]["name"],
                "state": v["status"]["state"],
                "start": v["spec"].get("start", "manual"),
                "rss_bytes": v["status"].get("rss_bytes"),
                "url": v["url"],
            }
            for v in servers
        ]
        print(json.dumps({"running": True, "servers": rows}, indent=2))
        return 0
    if not servers:
        print("No servers configured. Add one with 'switchboard add NAME -- COMMAND ...'.")
        return 0
    print(f"{'NAME':20} {'STATE':14} {'START':10} {'MEMORY':>10}  URL")
    total = 0
    for view in servers:
        status = view["status"]
        rss = status.get("rss_bytes")
        total += rss or 0
        line = (
            f"{view['spec']['name']:20} {status['state']:14} "
            f"{view['spec'].get('start', 'manual'):10} {format_bytes(rss):>10}  {view['url']}"
        )
        if view["spec"].get("remote"):
            line += f"  (remote: {view['spec'].get('url')})"
        print(line)
    print(f"{'total':46} {format_bytes(total):>10}")
    return 0


def _remove(args: argparse.Namespace, paths: AppPaths) -> int:
    try:
        client = control_client(paths)
    except EngineNotRunning:
        store = offline_config_store(paths)
        edited = store.load().groups_naming(args.name)
        store.update(lambda c: c.without_server(args.name))
        print(_removed(args.name, edited))
        _offline_notice()
        return 0
    result = client.request("DELETE", f"/servers/{args.name}") or {}
    print(_removed(args.name, result.get("groups", [])))
    return 0


def _removed(name: str, groups: list[str] | tuple[str, ...]) -> str:
    if not groups:
        return f"Removed {name}."
    return f"Removed {name} (also from group(s): {', '.join(groups)})."


def _config(args: argparse.Namespace, paths: AppPaths) -> int:
    store = ConfigStore(paths.config_file)
    if args.action == "check":
        config = store.load()  # a damaged file raises ConfigError with line and hint
        print(f"{store.path}: OK ({len(config.servers)} servers, {len(config.groups)} groups).")
        for group in config.groups:
            for server in config.missing_members(group.name):
                print(
                    f"  group {group.name}: member {server!r} is not a configured server "
                    "(shown as missing)"
                )
        return 0
    try:
        control_client(paths).close()
    except EngineNotRunning:
        pass
    else:
        print(
            "error: Switchboard is running; quit it first (it rewrites the file from memory).",
            file=sys.stderr,
        )
        return 1
    used = store.restore()
    print(f"Restored {store.path} from {used}.")
    if store.damaged_path.exists():
        print(f"The replaced file is kept as {store.damaged_path}.")
    return 0


def _action(verb: str) -> Command:
    """The handler of ``start``, ``stop`` or ``restart``."""

    def run(args: argparse.Namespace, paths: AppPaths) -> int:
        result = control_client(paths).request("POST", f"/servers/{args.name}/{verb}")
        status = result["status"]
        print(_status_line(args.name, status))
        if result.get("warning"):
            print(f"Warning: {result['warning']}", file=sys.stderr)
        return 1 if status["state"] == "failed" else 0

    return run


def _status(args: argparse.Namespace, paths: AppPaths) -> int:
    with control_client(paths) as client:
        if args.name:
            view = client.request("GET", f"/servers/{args.name}")
            status = view["status"]
            print(_status_line(args.name, status))
            print(f"  url:      {view['url']}")
            if view["spec"].get("remote"):
                from switchboard.cli.remote import describe

                print(f"  remote:   {view['spec'].get('url')}")
                signin = client.request("GET", f"/servers/{args.name}/signin")
                print(f"  sign-in:  {describe(signin)}")
            else:
                print(f"  command:  {_command_line(view['spec'])}")
            if status.get("resolved_command"):
                print(f"  runs as:  {status['resolved_command']}")
            elif status.get("resolution_notice"):
                print(f"  notice:   {status['resolution_notice']}")
            if status.get("started_at"):
                up = time.time() - status["started_at"]
                print(f"  uptime:   {datetime.timedelta(seconds=int(up))}")
            print(f"  restarts: {status['restarts']}")
            spec = view["spec"]
            start = spec.get("start", "manual")
            if start == "on-demand":
                idle = spec.get("sleep_after", DEFAULT_SLEEP_AFTER)
                start += f" (sleeps after {idle:g} min idle)"
            print(f"  start:    {start}")
            if status.get("rss_bytes") is not None:
                print(f"  memory:   {format_bytes(status['rss_bytes'])} (process tree, resident)")
            if status["state"] == "failed" and status.get("last_stderr"):
                print("  last output:")
                for line in status["last_stderr"].splitlines():
                    print(f"    {line}")
            return 0
        info = client.request("GET", "/info")
        print(f"Switchboard {info['version']} running at {info['url']} (pid {info['pid']})")
        line = f"  servers: {info['servers']} configured, {info['running']} running"
        if info.get("sleeping"):
            line += f", {info['sleeping']} asleep"
        if info.get("rss_bytes"):
            line += f"; memory {format_bytes(info['rss_bytes'])}"
        print(line)
        print(f"  config:  {info['config_file']}")
        return 0


def _logs(args: argparse.Namespace, paths: AppPaths) -> int:
    try:
        client = control_client(paths)
    except EngineNotRunning:
        if args.follow:
            raise
        path = paths.server_log(args.name)
        if not path.exists():
            raise
        for text in path.read_text("utf-8", "replace").splitlines()[-args.n :]:
            print(text)
        return 0
    if args.follow:
        for line in client.stream_lines(f"/servers/{args.name}/logs", n=args.n, follow="1"):
            _print_log(line)
        return 0
    for line in client.request("GET", f"/servers/{args.name}/logs", n=args.n)["lines"]:
        _print_log(line)
    return 0


def _print_log(line: dict[str, Any]) -> None:
    stamp = datetime.datetime.fromtimestamp(line["time"]).strftime("%H:%M:%S")
    marker = "*" if line["stream"] == "system" else " "
    print(f"{stamp}{marker} {line['text']}", flush=True)


def _status_line(name: str, status: dict[str, Any]) -> str:
    text = f"{name}: {status['state']}"
    if status.get("pid"):
        text += f" (pid {status['pid']})"
    if status.get("detail") and status["state"] in ("failed", "backoff"):
        text += f" - {status['detail']}"
    if status["state"] == "needs-sign-in":
        text += f" - sign in: 'switchboard signin {name}'"
    return text


def _command_line(spec: dict[str, Any]) -> str:
    if spec.get("command"):
        return " ".join([spec["command"], *spec.get("args", [])])
    return str(spec.get("url", ""))
