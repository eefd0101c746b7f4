"""``switchboard group tool | prompt | resource``: the per-item choices of a group's
member (a tool switched on or off, renamed or described anew; a prompt or resource
switched on or off; see :mod:`switchboard.core.group`).
"""

from __future__ import annotations

import argparse
from typing import Any

from switchboard.cli.common import Command, SubParsers
from switchboard.cli.group_store import Change, Groups, require_member, with_groups
from switchboard.core.errors import ControlAPIError, EngineNotRunning
from switchboard.core.group import GroupSpec, ToolChoice


def add_choice_parsers(gs: SubParsers) -> None:
    """``group tool on|off|rename|describe``, ``group prompt``, ``group resource``."""
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


def _member_args(p: argparse.ArgumentParser, kind: str, what: str = "") -> None:
    p.add_argument("name", help="group name")
    p.add_argument("server", help="member server")
    p.add_argument("item", metavar=kind.upper(), help=what or f"the server's own {kind} name")


def _edit_tool(args: argparse.Namespace, **fields: Any) -> Change:
    def change(spec: GroupSpec) -> GroupSpec:
        require_member(spec, args.server)
        return spec.with_tool(args.server, args.item, **fields)

    return change


def _note_tool(groups: Groups, args: argparse.Namespace) -> None:
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
    @with_groups
    def run(groups: Groups, args: argparse.Namespace) -> int:
        groups.edit(args.name, _edit_tool(args, enabled=on))
        print(f"Group {args.name}: tool {args.item} of {args.server} is {'on' if on else 'off'}.")
        _note_tool(groups, args)
        return 0

    return run


@with_groups
def _tool_rename(groups: Groups, args: argparse.Namespace) -> int:
    new = args.new or None
    ToolChoice(rename=new)  # the tool-name rules, before anything is sent
    groups.edit(args.name, _edit_tool(args, rename=new))
    what = f"is exposed as {new}" if new else "keeps its exposed name"
    print(f"Group {args.name}: tool {args.item} of {args.server} {what}.")
    _note_tool(groups, args)
    return 0


@with_groups
def _tool_describe(groups: Groups, args: argparse.Namespace) -> int:
    text = args.text.strip() or None
    groups.edit(args.name, _edit_tool(args, description=text))
    what = "has your description" if text else "has the server's description again"
    print(f"Group {args.name}: tool {args.item} of {args.server} {what}.")
    return 0


def _item_toggle(kind: str) -> Command:
    @with_groups
    def run(groups: Groups, args: argparse.Namespace) -> int:
        on = args.state == "on"

        def change(spec: GroupSpec) -> GroupSpec:
            require_member(spec, args.server)
            if kind == "prompt":
                return spec.with_prompt(args.server, args.item, on)
            return spec.with_resource(args.server, args.item, on)

        groups.edit(args.name, change)
        print(f"Group {args.name}: {kind} {args.item} of {args.server} is {args.state}.")
        return 0

    return run


__all__ = ["add_choice_parsers"]
