"""``switchboard group ...``: groups of servers served as one MCP endpoint (issue 14).

A group is served at ``/groups/<name>/mcp`` (legacy SSE: ``/sse``): its lists are the
members' lists merged, with the person's choices (tools, prompts, resources switched
off; tools renamed or described anew; see :mod:`switchboard.core.group`).

Like the server verbs, changes go to the running engine through its control API
(they apply at once); with none running they are saved to the config file and apply
when it starts. ``start``, ``stop`` and ``show``'s live tools need the engine.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from switchboard.cli.common import Command, SubParsers, control_client
from switchboard.cli.group_choices import add_choice_parsers
from switchboard.cli.group_store import Groups, require_member, with_groups
from switchboard.cli.groupview import describe, listing_lines
from switchboard.core.errors import ControlAPIError
from switchboard.core.group import GroupSpec, Naming
from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode

_NAMING_HELP = (
    "how the group names the members' tools and prompts: 'prefix' (default: "
    "server__tool, never collides), 'priority' (the servers' own names; on a collision "
    "the earlier member wins), 'manual' (own names; colliding ones are hidden until you "
    "rename them)"
)


def add_parsers(sub: SubParsers) -> None:
    """``group create | list | show | add | remove | tool | prompt | resource | naming |
    lean | rename | delete | start | stop | url``."""
    g = sub.add_parser(
        "group",
        help="groups: several servers behind one MCP URL",
        description="A group serves several servers at one URL "
        "(http://127.0.0.1:PORT/groups/NAME/mcp): one client entry for all of them, with "
        "the tools, prompts and resources you choose. Example: switchboard group create "
        "dev time github",
    )
    gs = g.add_subparsers(dest="group_cmd", metavar="ACTION", required=True)
    g.set_defaults(handler=_dispatch)

    c = gs.add_parser(
        "create",
        help="create a group",
        description="Create a group. Servers that are not configured (yet) are allowed: "
        "the group shows them as missing.",
    )
    c.add_argument("name", help="group name (lowercase letters, digits, '-', '_', '.')")
    c.add_argument("servers", nargs="*", metavar="SERVER", help="member servers, in priority order")
    c.add_argument(
        "--naming", choices=[n.value for n in Naming], default="prefix", help=_NAMING_HELP
    )
    c.add_argument(
        "--lean",
        action="store_true",
        help="offer two tools (search the group's tools, call one) instead of every tool's "
        "schema, so the client's model loads schemas on demand",
    )
    c.add_argument("--description", default="")
    c.add_argument(
        "--auth",
        choices=["switchboard", "off"],
        default="switchboard",
        help="who may call it: 'switchboard' (default: each client signs in and you approve "
        "it once) or 'off': anyone on this computer, including any local program, can call "
        "every member through the group; web pages cannot",
    )
    c.set_defaults(group_run=_create)

    ls = gs.add_parser("list", help="list groups with their members and URLs")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(group_run=_list)

    sh = gs.add_parser(
        "show",
        help="a group's members, state, choices and live tools",
        description="Members (with their state), the choices made, and, while Switchboard "
        "runs, the tools the group exposes right now.",
    )
    sh.add_argument("name")
    sh.add_argument("--json", action="store_true", help="print JSON")
    sh.set_defaults(group_run=_show)

    ad = gs.add_parser("add", help="add member servers")
    ad.add_argument("name")
    ad.add_argument("servers", nargs="+", metavar="SERVER")
    ad.set_defaults(group_run=_add)
    rm = gs.add_parser("remove", help="remove member servers (the servers stay configured)")
    rm.add_argument("name")
    rm.add_argument("servers", nargs="+", metavar="SERVER")
    rm.set_defaults(group_run=_remove)
    add_choice_parsers(gs)

    nm = gs.add_parser("naming", help="how tool and prompt names are exposed")
    nm.add_argument("name")
    nm.add_argument("strategy", choices=[n.value for n in Naming], help=_NAMING_HELP)
    nm.set_defaults(group_run=_naming)
    ln = gs.add_parser("lean", help="lean mode: two meta-tools instead of every tool schema")
    ln.add_argument("name")
    ln.add_argument("state", choices=["on", "off"])
    ln.set_defaults(group_run=_lean)

    rn = gs.add_parser("rename", help="rename a group (its URL changes; choices stay)")
    rn.add_argument("old")
    rn.add_argument("new")
    rn.set_defaults(group_run=_rename)
    de = gs.add_parser("delete", help="delete a group (its servers stay configured)")
    de.add_argument("name")
    de.set_defaults(group_run=_delete)

    for verb in ("start", "stop"):
        v = gs.add_parser(verb, help=f"{verb} every member server")
        v.add_argument("name")
        v.set_defaults(group_run=_action(verb))
    u = gs.add_parser("url", help="print the group's MCP URL (for a client's config)")
    u.add_argument("name")
    u.add_argument("--sse", action="store_true", help="the legacy SSE URL instead")
    u.set_defaults(group_run=_url)


def _dispatch(args: argparse.Namespace, paths: AppPaths) -> int:
    """Every ``group`` action binds its own handler as ``group_run``."""
    run: Command = args.group_run
    return run(args, paths)


# -- verbs ------------------------------------------------------------------------------
def _note_missing(groups: Groups, servers: list[str] | tuple[str, ...]) -> None:
    configured = groups.servers()
    for server in servers:
        if server not in configured:
            print(
                f"Note: {server!r} is not a configured server (yet); the group shows it as "
                f"missing until you add it ('switchboard add {server} -- COMMAND ...')."
            )


@with_groups
def _create(groups: Groups, args: argparse.Namespace) -> int:
    spec = GroupSpec(
        name=args.name,
        servers=tuple(args.servers),
        naming=Naming(args.naming),
        lean=args.lean,
        description=args.description,
        auth=AuthMode(args.auth),
    )
    view = groups.create(spec)
    print(f"Created group {spec.name}: {view['url']}")
    if spec.auth is AuthMode.OFF:
        print(
            "Warning: auth is off: anyone on this computer, including any local program, "
            "can call every member through this group (web pages cannot).",
            file=sys.stderr,
        )
    _note_missing(groups, spec.servers)
    return 0


@with_groups
def _list(groups: Groups, args: argparse.Namespace) -> int:
    views = groups.views()
    if args.json:
        print(json.dumps({"groups": views}, indent=2))
        return 0
    if not views:
        print("No groups. Create one with 'switchboard group create NAME SERVER ...'.")
    for view in views:
        print(f"{view['spec']['name']:20} {view['url']}")
        members = ", ".join(f"{m['server']} ({m['state']})" for m in view["members"])
        print(f"  {members or '(no members)'}")
    if not groups.online:
        print("(Switchboard is not running.)")
    return 0


@with_groups
def _show(groups: Groups, args: argparse.Namespace) -> int:
    view = groups.view(args.name)
    listing: dict[str, Any] | None = None
    listing_note = "Switchboard is not running: start it to see the live tools."
    if groups.client is not None:
        try:
            listing = groups.client.request("GET", f"/groups/{args.name}/listing")
        except ControlAPIError as exc:
            listing_note = f"{exc.message} {exc.hint}".strip()
    if args.json:
        out = {**view, "listing": listing}
        if listing is None:
            out["listing_error"] = listing_note
        print(json.dumps(out, indent=2))
        return 0
    spec = GroupSpec.from_dict(view["spec"])
    for line in describe(spec, view):
        print(line)
    if listing is None:
        print(f"  live tools: {listing_note}")
    else:
        for line in listing_lines(listing):
            print(line)
    return 0


@with_groups
def _add(groups: Groups, args: argparse.Namespace) -> int:
    def change(spec: GroupSpec) -> GroupSpec:
        new = [s for s in dict.fromkeys(args.servers) if s not in spec.servers]
        return spec.with_servers((*spec.servers, *new))

    before, after = groups.edit(args.name, change)
    added = [s for s in after.servers if s not in before.servers]
    for server in args.servers:
        if server in before.servers:
            print(f"{server} is a member of {args.name} already.")
    if added:
        print(f"Added {', '.join(added)} to group {args.name}.")
        _note_missing(groups, added)
    return 0


@with_groups
def _remove(groups: Groups, args: argparse.Namespace) -> int:
    def change(spec: GroupSpec) -> GroupSpec:
        for server in args.servers:
            require_member(spec, server)
        return spec.with_servers(tuple(s for s in spec.servers if s not in args.servers))

    groups.edit(args.name, change)
    print(
        f"Removed {', '.join(dict.fromkeys(args.servers))} from group {args.name} "
        "(the servers stay configured)."
    )
    return 0


@with_groups
def _naming(groups: Groups, args: argparse.Namespace) -> int:
    naming = Naming(args.strategy)
    groups.edit(args.name, lambda s: dataclasses.replace(s, naming=naming))
    print(f"Group {args.name}: naming is {naming.value}.")
    return 0


@with_groups
def _lean(groups: Groups, args: argparse.Namespace) -> int:
    on = args.state == "on"
    groups.edit(args.name, lambda s: dataclasses.replace(s, lean=on))
    print(f"Group {args.name}: lean mode is {args.state}.")
    return 0


@with_groups
def _rename(groups: Groups, args: argparse.Namespace) -> int:
    view = groups.rename(args.old, args.new)
    print(f"Renamed group {args.old} to {args.new}; its URL is now {view['url']}.")
    if groups.client is not None:  # the engine's client sync moves their entries
        print(
            "Clients Switchboard connected to the group follow the new URL ('switchboard "
            "client list'); other clients configured with the old URL need the new one."
        )
    else:
        print("Clients configured with the old URL need the new one.")
    return 0


@with_groups
def _delete(groups: Groups, args: argparse.Namespace) -> int:
    groups.delete(args.name)
    print(f"Deleted group {args.name} (its servers stay configured).")
    return 0


def _action(verb: str) -> Command:
    def run(args: argparse.Namespace, paths: AppPaths) -> int:
        client = control_client(paths)
        try:
            result = client.request("POST", f"/groups/{args.name}/{verb}")
        finally:
            client.close()
        failed = False
        for status in result["servers"]:
            line = f"{status['name']}: {status['state']}"
            if status.get("pid"):
                line += f" (pid {status['pid']})"
            if status["state"] in ("failed", "backoff") and status.get("detail"):
                line += f" - {status['detail']}"
            failed = failed or status["state"] == "failed"
            print(line)
        for server in result["missing"]:
            print(f"{server}: missing (not a configured server; skipped)")
        if not result["servers"] and not result["missing"]:
            print(f"Group {args.name} has no members.")
        if result.get("warning"):
            print(f"Warning: {result['warning']}", file=sys.stderr)
        return 1 if failed else 0

    return run


@with_groups
def _url(groups: Groups, args: argparse.Namespace) -> int:
    view = groups.view(args.name)
    print(view["sse_url"] if args.sse else view["url"])
    return 0


__all__ = ["add_parsers"]
