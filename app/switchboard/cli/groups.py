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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from switchboard.audit import offline_config_store
from switchboard.cli.common import Command, SubParsers, configured_base_url, control_client
from switchboard.cli.groupview import describe, listing_lines
from switchboard.core.errors import (
    ControlAPIError,
    EngineNotRunning,
    GroupChanged,
    ValidationError,
)
from switchboard.core.group import GroupSpec, Naming, ToolChoice
from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode
from switchboard.store.config import Config

if TYPE_CHECKING:
    from switchboard.control.client import ControlClient

Change = Callable[[GroupSpec], GroupSpec]

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

    tl = gs.add_parser(
        "tool",
        help="switch a member's tool on or off, rename it or change its description",
        description="TOOL is the server's own tool name ('switchboard group show NAME' "
        "lists them).",
    )
    ts = tl.add_subparsers(dest="tool_cmd", metavar="ACTION", required=True)
    for state in ("on", "off"):
        t = ts.add_parser(state, help=f"switch a tool {state}")
        _member_args(t, "tool")
        t.set_defaults(group_run=_tool_enabled(state == "on"))
    trn = ts.add_parser("rename", help="expose a tool under another name ('' = its own)")
    _member_args(trn, "tool")
    trn.add_argument("new", help="the new name (letters, digits, '_', '-', '.'; max 128)")
    trn.set_defaults(group_run=_tool_rename)
    tds = ts.add_parser("describe", help="replace a tool's description ('' = back to the server's)")
    _member_args(tds, "tool")
    tds.add_argument("text")
    tds.set_defaults(group_run=_tool_describe)

    for kind, what in (("prompt", "prompt name"), ("resource", "resource URI or URI template")):
        k = gs.add_parser(kind, help=f"switch a member's {kind} on or off")
        k.add_argument("state", choices=["on", "off"])
        _member_args(k, kind, what)
        k.set_defaults(group_run=_item_toggle(kind))

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


def _member_args(p: argparse.ArgumentParser, kind: str, what: str = "") -> None:
    p.add_argument("name", help="group name")
    p.add_argument("server", help="member server")
    p.add_argument("item", metavar=kind.upper(), help=what or f"the server's own {kind} name")


# -- where the groups are: the running engine, or the config file -----------------------
class _Groups:
    """Group reads and changes through the control API, or with no engine running, on
    the config file (each change one atomic load-change-save)."""

    def __init__(self, paths: AppPaths, *, need_engine: bool = False) -> None:
        self.paths = paths
        self.store = offline_config_store(paths)
        self.client: ControlClient | None
        try:
            self.client = control_client(paths)
        except EngineNotRunning:
            if need_engine:
                raise
            self.client = None

    @property
    def online(self) -> bool:
        return self.client is not None

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    def views(self) -> list[dict[str, Any]]:
        if self.client is not None:
            return list(self.client.request("GET", "/groups")["groups"])
        config = self.store.load()
        return [_offline_view(config, g) for g in config.groups]

    def view(self, name: str) -> dict[str, Any]:
        if self.client is not None:
            return dict(self.client.request("GET", f"/groups/{name}"))
        config = self.store.load()
        return _offline_view(config, config.group(name))

    def get(self, name: str) -> GroupSpec:
        return GroupSpec.from_dict(self.view(name)["spec"])

    def servers(self) -> set[str]:
        """Configured server names."""
        if self.client is not None:
            return {v["spec"]["name"] for v in self.client.request("GET", "/servers")["servers"]}
        return {s.name for s in self.store.load().servers}

    def create(self, spec: GroupSpec) -> dict[str, Any]:
        if self.client is not None:
            return dict(self.client.request("POST", "/groups", spec.to_dict()))
        config = self.store.update(lambda c: c.with_group(spec))
        return _offline_view(config, spec)

    def edit(self, name: str, change: Change) -> tuple[GroupSpec, GroupSpec]:
        """Apply ``change`` to the group; (before, after)."""
        if self.client is not None:
            # Read, change, write only if nobody changed it meanwhile (the app's Groups
            # page, another command); then read again and redo the change.
            for _ in range(5):
                before = self.get(name)
                after = change(before)
                try:
                    self.client.request(
                        "PUT", f"/groups/{name}", after.to_dict(), expect=before.tag()
                    )
                except ControlAPIError as exc:
                    if exc.status == 409:
                        continue
                    raise
                return before, after
            raise GroupChanged(name)
        seen: list[GroupSpec] = []

        def apply(config: Config) -> Config:
            seen.append(config.group(name))
            seen.append(change(seen[0]))
            return config.with_group(seen[1], replace=True)

        self.store.update(apply)
        return seen[0], seen[1]

    def rename(self, old: str, new: str) -> dict[str, Any]:
        if self.client is not None:
            return dict(self.client.request("POST", f"/groups/{old}/rename", {"name": new}))
        config = self.store.update(lambda c: c.rename_group(old, new))
        return _offline_view(config, config.group(new))

    def delete(self, name: str) -> None:
        if self.client is not None:
            self.client.request("DELETE", f"/groups/{name}")
        else:
            self.store.update(lambda c: c.without_group(name))


def _offline_view(config: Config, spec: GroupSpec) -> dict[str, Any]:
    url = f"{configured_base_url(config.settings)}/{GroupSpec.kind}/{spec.name}/mcp"
    members = [
        {
            "server": s,
            "state": "not running" if config.has(s) else "missing",
            "missing": not config.has(s),
        }
        for s in spec.servers
    ]
    return {
        "spec": spec.to_dict(),
        "url": url,
        "sse_url": url.removesuffix("/mcp") + "/sse",
        "members": members,
    }


def _with_groups(run: Callable[[_Groups, argparse.Namespace], int]) -> Command:
    def handler(args: argparse.Namespace, paths: AppPaths) -> int:
        groups = _Groups(paths)
        try:
            code = run(groups, args)
        finally:
            groups.close()
        if not groups.online and code == 0 and args.group_cmd not in ("list", "show", "url"):
            print("Switchboard is not running; the change is saved and applies when it starts.")
        return code

    return handler


# -- verbs ------------------------------------------------------------------------------
def _note_missing(groups: _Groups, servers: list[str] | tuple[str, ...]) -> None:
    configured = groups.servers()
    for server in servers:
        if server not in configured:
            print(
                f"Note: {server!r} is not a configured server (yet); the group shows it as "
                f"missing until you add it ('switchboard add {server} -- COMMAND ...')."
            )


@_with_groups
def _create(groups: _Groups, args: argparse.Namespace) -> int:
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


@_with_groups
def _list(groups: _Groups, args: argparse.Namespace) -> int:
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


@_with_groups
def _show(groups: _Groups, args: argparse.Namespace) -> int:
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


def _require_member(spec: GroupSpec, server: str) -> None:
    if server not in spec.servers:
        members = ", ".join(spec.servers) or "none"
        raise ValidationError(
            f"{server!r} is not a member of group {spec.name!r}.",
            hint=f"Its members: {members}. Add it with 'switchboard group add {spec.name} "
            f"{server}'.",
        )


@_with_groups
def _add(groups: _Groups, args: argparse.Namespace) -> int:
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


@_with_groups
def _remove(groups: _Groups, args: argparse.Namespace) -> int:
    def change(spec: GroupSpec) -> GroupSpec:
        for server in args.servers:
            _require_member(spec, server)
        return spec.with_servers(tuple(s for s in spec.servers if s not in args.servers))

    groups.edit(args.name, change)
    print(
        f"Removed {', '.join(dict.fromkeys(args.servers))} from group {args.name} "
        "(the servers stay configured)."
    )
    return 0


def _edit_tool(args: argparse.Namespace, **fields: Any) -> Change:
    def change(spec: GroupSpec) -> GroupSpec:
        _require_member(spec, args.server)
        return spec.with_tool(args.server, args.item, **fields)

    return change


def _note_tool(groups: _Groups, args: argparse.Namespace) -> None:
    """After a tool choice: say so when the running member has no such tool (a typo?)
    or when the tool ends up hidden by a name collision (the live listing; nothing is
    said without a running engine or while the member is down)."""
    if groups.client is None:
        return
    try:
        listing = groups.client.request("GET", f"/groups/{args.name}/listing")
    except (ControlAPIError, EngineNotRunning):
        return
    members = listing.get("members") if isinstance(listing, dict) else None
    member = next(
        (m for m in members or () if isinstance(m, dict) and m.get("server") == args.server),
        None,
    )
    if member is None or member.get("error"):
        return
    tools = [t for t in member.get("tools") or () if isinstance(t, dict)]
    tool = next((t for t in tools if t.get("name") == args.item), None)
    if tool is None:
        names = ", ".join(str(t.get("name")) for t in tools[:12]) or "none"
        more = ", ..." if len(tools) > 12 else ""
        print(
            f"Note: {args.server} has no tool {args.item!r} now (its tools: {names}{more}); "
            "the choice is kept and applies if the tool appears."
        )
    elif tool.get("hidden_by") == "collision":
        wanted = getattr(args, "new", None) or args.item
        print(
            f"Note: {wanted!r} is taken by another tool of the group: {args.item} of "
            f"{args.server} is hidden until you rename one of them "
            f"('switchboard group show {args.name}')."
        )


def _tool_enabled(on: bool) -> Command:
    @_with_groups
    def run(groups: _Groups, args: argparse.Namespace) -> int:
        groups.edit(args.name, _edit_tool(args, enabled=on))
        print(f"Group {args.name}: tool {args.item} of {args.server} is {'on' if on else 'off'}.")
        _note_tool(groups, args)
        return 0

    return run


@_with_groups
def _tool_rename(groups: _Groups, args: argparse.Namespace) -> int:
    new = args.new or None
    ToolChoice(rename=new)  # the tool-name rules, before anything is sent
    groups.edit(args.name, _edit_tool(args, rename=new))
    what = f"is exposed as {new}" if new else "keeps its exposed name"
    print(f"Group {args.name}: tool {args.item} of {args.server} {what}.")
    _note_tool(groups, args)
    return 0


@_with_groups
def _tool_describe(groups: _Groups, args: argparse.Namespace) -> int:
    text = args.text.strip() or None
    groups.edit(args.name, _edit_tool(args, description=text))
    what = "has your description" if text else "has the server's description again"
    print(f"Group {args.name}: tool {args.item} of {args.server} {what}.")
    return 0


def _item_toggle(kind: str) -> Command:
    @_with_groups
    def run(groups: _Groups, args: argparse.Namespace) -> int:
        on = args.state == "on"

        def change(spec: GroupSpec) -> GroupSpec:
            _require_member(spec, args.server)
            if kind == "prompt":
                return spec.with_prompt(args.server, args.item, on)
            return spec.with_resource(args.server, args.item, on)

        groups.edit(args.name, change)
        print(f"Group {args.name}: {kind} {args.item} of {args.server} is {args.state}.")
        return 0

    return run


@_with_groups
def _naming(groups: _Groups, args: argparse.Namespace) -> int:
    naming = Naming(args.strategy)
    groups.edit(args.name, lambda s: dataclasses.replace(s, naming=naming))
    print(f"Group {args.name}: naming is {naming.value}.")
    return 0


@_with_groups
def _lean(groups: _Groups, args: argparse.Namespace) -> int:
    on = args.state == "on"
    groups.edit(args.name, lambda s: dataclasses.replace(s, lean=on))
    print(f"Group {args.name}: lean mode is {args.state}.")
    return 0


@_with_groups
def _rename(groups: _Groups, args: argparse.Namespace) -> int:
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


@_with_groups
def _delete(groups: _Groups, args: argparse.Namespace) -> int:
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


@_with_groups
def _url(groups: _Groups, args: argparse.Namespace) -> int:
    view = groups.view(args.name)
    print(view["sse_url"] if args.sse else view["url"])
    return 0


__all__ = ["add_parsers"]
