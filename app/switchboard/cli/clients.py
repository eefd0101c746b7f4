"""``switchboard client list | connect | disconnect``: point MCP clients (Cursor, VS
Code, Claude, ...) at Switchboard by editing their config files (only Switchboard's own
entries; the formats and edits are in :mod:`switchboard.clients`). ``--group NAME``
connects a client to a group: one entry for the group instead of one per server;
``--remote URL`` to a team's endpoint (docs/team-cluster.md) instead of this computer."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from urllib.parse import urlsplit

from switchboard.cli.common import SubParsers, configured_base_url, control_client
from switchboard.clients.manager import ClientManager, SyncReport
from switchboard.core.errors import EngineNotRunning, SwitchboardError, ValidationError
from switchboard.core.group import GroupSpec
from switchboard.core.loopback import is_loopback_host
from switchboard.core.paths import AppPaths
from switchboard.core.spec import suggest_name, validate_name
from switchboard.store.config import Config, ConfigStore


def add_parsers(sub: SubParsers) -> None:
    """``client list | connect | disconnect``."""
    c = sub.add_parser(
        "client",
        help="point MCP clients (Cursor, VS Code, Claude, ...) at Switchboard",
        description="Add Switchboard's servers to MCP clients' config files, or take them out "
        "again. Only Switchboard's own entries are touched; a backup of each file is kept "
        "next to it (*.switchboard.bak).",
    )
    verbs = c.add_subparsers(dest="client_verb", metavar="VERB", required=True)
    lst = verbs.add_parser("list", help="list known MCP clients, whether installed and connected")
    lst.add_argument(
        "--why",
        action="store_true",
        help="also say whether each client gets the gateway URL or the stdio bridge, and why",
    )
    con = verbs.add_parser("connect", help="add Switchboard's servers to a client's config")
    con.add_argument("clients", nargs="*", metavar="CLIENT", help="client id (see 'client list')")
    con.add_argument("--detected", action="store_true", help="every client found installed")
    con.add_argument(
        "--group",
        metavar="NAME",
        help="add one entry for this group (its /groups/NAME/mcp endpoint) instead of one "
        "per server; repeat the command for more groups",
    )
    con.add_argument(
        "--remote",
        metavar="URL",
        help="add one entry pointing at a team's MCP URL instead (e.g. a ToolHive cluster, "
        "docs/team-cluster.md); the client signs in there itself",
    )
    con.add_argument("--name", help="with --remote: the entry's name (default: from the URL)")
    dis = verbs.add_parser("disconnect", help="remove Switchboard's servers from a client")
    dis.add_argument("clients", nargs="+", metavar="CLIENT")
    dis.add_argument("--group", metavar="NAME", help="remove only this group's entry")
    c.set_defaults(handler=_client_cmd)


def remote_entry(url: str, name: str | None) -> tuple[str, str]:
    """(URL, entry name) for ``client connect --remote``: https, or http on loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationError(
            f"{url!r} is not an MCP URL.", hint="Give the https URL of the team's MCP endpoint."
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValidationError(
            f"{url!r} is plain http to another computer: tokens would cross the network "
            "unencrypted.",
            hint="Use the endpoint's https URL.",
        )
    if name is None:
        segments = [s for s in parts.path.split("/") if s and s not in ("mcp", "sse")]
        name = suggest_name(segments[-1] if segments else parts.hostname)
    return url, validate_name(name)


def gateway_urls(config: Config) -> dict[str, str]:
    """{server: gateway URL} from the config alone (the port is fixed by the settings)."""
    base = configured_base_url(config.settings)
    return {s.name: f"{base}/servers/{s.name}/mcp" for s in config.servers}


def group_urls(config: Config) -> dict[str, str]:
    """{group: its gateway URL} from the config alone."""
    base = configured_base_url(config.settings)
    return {g.name: f"{base}/{GroupSpec.kind}/{g.name}/mcp" for g in config.groups}


def current_groups(paths: AppPaths) -> dict[str, str]:
    """The groups: from the running engine, else the config file."""
    try:
        client = control_client(paths)
    except EngineNotRunning:
        return group_urls(ConfigStore(paths.config_file).load())
    try:
        views = client.request("GET", "/groups")["groups"]
    finally:
        client.close()
    return {v["spec"]["name"]: v["url"] for v in views}


def current_servers(paths: AppPaths) -> dict[str, str]:
    """The servers clients should see: from the running engine, else the config file."""
    try:
        client = control_client(paths)
    except EngineNotRunning:
        return gateway_urls(ConfigStore(paths.config_file).load())
    try:
        views = client.request("GET", "/servers")["servers"]
    finally:
        client.close()
    return {v["spec"]["name"]: v["url"] for v in views}


def _client_cmd(args: argparse.Namespace, paths: AppPaths) -> int:
    manager = ClientManager(paths)
    if args.client_verb == "list":
        for info in manager.clients():
            flags = "connected" if info.connected else ("installed" if info.installed else "-")
            ours = f"{len(info.ours)} server(s)" if info.ours else ""
            if info.groups:
                ours = f"group(s): {', '.join(info.groups)}"
            print(f"{info.kind.id:16} {info.kind.title:17} {flags:10} {ours:12} {info.config_path}")
            if info.error:
                print(f"{'':16} problem: {info.error}")
            if args.why:
                print(f"{'':16} {info.kind.form_reason}")
        return 0
    if args.client_verb == "connect":
        ids = list(args.clients)
        if args.detected:
            ids += [i.kind.id for i in manager.clients() if i.installed and i.kind.id not in ids]
        if not ids:
            print("Name a client (see 'switchboard client list') or use --detected.")
            return 2
        for client_id in ids:
            manager.kind(client_id)
        if args.remote:
            url, name = remote_entry(args.remote, args.name)
            reports: list[SyncReport] = []

            def add(cid: str) -> SyncReport:
                reports.append(manager.add_remote(cid, name, url))
                return reports[-1]

            failed = _each(manager, ids, add)
            if any(r.added or r.updated or r.unchanged for r in reports):
                print(
                    f"'{name}' points at {url}; Switchboard does not manage this entry "
                    "(remove it in the client's settings)."
                )
            return 1 if failed or any(r.conflicts for r in reports) else 0
        group = getattr(args, "group", None)
        if group is not None:
            groups = current_groups(paths)
            if group not in groups:
                raise ValidationError(
                    f"Unknown group {group!r}.",
                    hint="See 'switchboard group list'; create it with 'switchboard group create'.",
                )
            failed = _each(
                manager, ids, lambda cid: manager.connect(cid, {}, group=group, groups=groups)
            )
            return 1 if failed else 0
        servers = current_servers(paths)
        failed = _each(manager, ids, lambda cid: manager.connect(cid, servers))
        if not servers:
            print("(No servers yet: new ones are added to connected clients automatically.)")
        return 1 if failed else 0
    for client_id in args.clients:
        manager.kind(client_id)
    group = getattr(args, "group", None)
    if group is not None:
        groups = current_groups(paths)
        failed = _each(
            manager,
            args.clients,
            lambda cid: manager.disconnect(cid, group=group, groups=groups),
        )
        return 1 if failed else 0
    return 1 if _each(manager, args.clients, manager.disconnect) else 0


def _each(manager: ClientManager, ids: list[str], action: Callable[[str], SyncReport]) -> int:
    """Run ``action`` for every client; one client's problem is reported and the others
    still run. Returns how many failed."""
    failed = 0
    for client_id in ids:
        kind = manager.kind(client_id)
        try:
            report = action(client_id)
        except SwitchboardError as exc:
            failed += 1
            print(f"{kind.title}: {manager.config_path(kind)}")
            print(f"  not updated: {exc.message}")
            if exc.hint:
                print(f"  {exc.hint}")
            continue
        print(f"{kind.title}: {report.config_path}")
        for line in report.lines():
            print(line)
    return failed
