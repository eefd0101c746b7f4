"""``switchboard tools NAME`` and ``switchboard call NAME TOOL``: the Inspector from the
command line (through the running engine's control API, which asks the live server
through the gateway; nothing is started here).

``call`` types ``--arg key=value`` by the tool's input schema
(:mod:`switchboard.inspector.arguments`) and checks the arguments against it before
sending. Exit status: 0 done, 1 the tool reported an error (``isError``), 2 the call
could not be made (no engine, unknown server or tool, bad arguments, server down).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

from switchboard.cli.common import SubParsers, control_client
from switchboard.core.errors import SwitchboardError, ValidationError
from switchboard.core.paths import AppPaths
from switchboard.inspector.arguments import check, parse_json_arguments, parse_pairs
from switchboard.inspector.results import annotation_badges, as_text, tool_result

EXIT_TOOL_ERROR = 1
EXIT_FAILED = 2


def add_parsers(sub: SubParsers) -> None:
    """``tools``, ``call``."""
    t = sub.add_parser(
        "tools",
        help="list a running server's tools, prompts and resources",
        description="Ask a running server what it offers (its live tools/list, "
        "prompts/list, resources/list), through Switchboard's gateway.",
    )
    t.add_argument("name", help="server name (or group name, with --group)")
    t.add_argument("--group", action="store_true", help="NAME is a group: the tools it exposes")
    t.add_argument("--json", action="store_true", help="print the whole listing as JSON")
    t.set_defaults(handler=_tools)
    c = sub.add_parser(
        "call",
        help="call a tool of a running server",
        description="Call TOOL on server NAME and print its result. Values of --arg are "
        "typed by the tool's input schema (numbers, true/false, enum values; repeat a key "
        "for an array; JSON for objects; a.b=1 for a nested field). Exit status 1 when "
        "the tool reports an error, 2 when it could not be called. Example: switchboard "
        "call everything get-sum --arg a=2 --arg b=3",
    )
    c.add_argument("name", help="server name (or group name, with --group)")
    c.add_argument("tool", help="tool name (see 'switchboard tools NAME')")
    c.add_argument(
        "--group", action="store_true", help="NAME is a group; TOOL is the name it exposes"
    )
    group = c.add_mutually_exclusive_group()
    group.add_argument(
        "--arg", action="append", default=[], metavar="KEY=VALUE", help="one argument"
    )
    group.add_argument("--json", metavar="OBJECT", help="all arguments as one JSON object")
    c.add_argument("--raw", action="store_true", help="print the whole CallToolResult as JSON")
    c.set_defaults(handler=_call)


def _fail(exc: SwitchboardError) -> int:
    print(f"error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"hint: {exc.hint}", file=sys.stderr)
    return EXIT_FAILED


def _first_line(text: Any, width: int) -> str:
    line = str(text or "").strip().splitlines()[0] if str(text or "").strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def _listing_path(args: argparse.Namespace) -> str:
    return f"/groups/{args.name}/tools" if args.group else f"/servers/{args.name}/listing"


def _tools(args: argparse.Namespace, paths: AppPaths) -> int:
    try:
        with contextlib.closing(control_client(paths)) as client:
            listing = client.request("GET", _listing_path(args))
    except SwitchboardError as exc:
        return _fail(exc)
    if args.json:
        print(json.dumps(listing, indent=2, ensure_ascii=False))
        return 0
    tools = listing.get("tools") or []
    rows = [
        (
            str(t.get("name", "")),
            ", ".join(annotation_badges(t)),
            _first_line(t.get("description") or t.get("title"), 70),
        )
        for t in tools
        if isinstance(t, dict)
    ]
    if rows:
        w0 = max(len("TOOL"), *(len(r[0]) for r in rows))
        w1 = max(len("HINTS"), *(len(r[1]) for r in rows))
        print(f"{'TOOL':<{w0}}  {'HINTS':<{w1}}  DESCRIPTION")
        for name, hints, desc in rows:
            print(f"{name:<{w0}}  {hints:<{w1}}  {desc}".rstrip())
    else:
        print(f"{'Group' if args.group else 'Server'} {args.name!r} offers no tools.")
    for member in listing.get("members") or []:
        if isinstance(member, dict) and member.get("error"):
            print(f"note: member {member.get('server')!r}: {member['error']}", file=sys.stderr)
    for key, label, field in (
        ("prompts", "Prompts", "name"),
        ("resources", "Resources", "uri"),
        ("resourceTemplates", "Resource templates", "uriTemplate"),
    ):
        items = [i for i in listing.get(key) or [] if isinstance(i, dict)]
        if items:
            print(f"\n{label} ({len(items)}):")
            for item in items:
                desc = _first_line(item.get("description") or item.get("name"), 60)
                print(f"  {item.get(field, '')}  {desc}".rstrip())
    return 0


def _call(args: argparse.Namespace, paths: AppPaths) -> int:
    try:
        with contextlib.closing(control_client(paths)) as client:
            listing = client.request("GET", _listing_path(args))
            tools = {t.get("name"): t for t in listing.get("tools") or [] if isinstance(t, dict)}
            tool = tools.get(args.tool)
            if tool is None:
                raise ValidationError(
                    f"{'Group' if args.group else 'Server'} {args.name!r} has no tool "
                    f"{args.tool!r}.",
                    hint=f"Its tools: {', '.join(sorted(map(str, tools))) or 'none'}.",
                )
            schema = tool.get("inputSchema")
            if args.json is not None:
                arguments = parse_json_arguments(args.json)
            else:
                arguments = parse_pairs(schema, args.arg)
            check(schema, arguments)
            kind = "groups" if args.group else "servers"
            reply = client.request(
                "POST", f"/{kind}/{args.name}/call", {"tool": args.tool, "arguments": arguments}
            )
    except SwitchboardError as exc:
        return _fail(exc)
    result = reply.get("result") if isinstance(reply, dict) else None
    outcome = tool_result(result)
    if args.raw:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        text = as_text(outcome)
        if text:
            print(text)
    if outcome.is_error:
        print(f"error: tool {args.tool!r} reported an error (isError).", file=sys.stderr)
        return EXIT_TOOL_ERROR
    return 0


__all__ = ["add_parsers"]
