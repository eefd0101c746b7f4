"""How ``switchboard group show`` prints a group: its settings, members and choices,
and the live listing from ``Gateway.group_listing`` (per member, each tool and prompt
as the group exposes it, or ``-`` and why it is hidden)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from switchboard.core.group import GroupSpec


def describe(spec: GroupSpec, view: dict[str, Any]) -> Iterator[str]:
    yield f"Group {spec.name}"
    yield f"  url:      {view['url']}"
    yield f"  legacy:   {view['sse_url']}"
    yield f"  naming:   {spec.naming.value}"
    yield f"  lean:     {'on' if spec.lean else 'off'}"
    yield f"  auth:     {spec.auth.value}"
    if spec.description:
        yield f"  about:    {spec.description}"
    yield "  members:" if view["members"] else "  members:  (none; add some with 'group add')"
    for m in view["members"]:
        state = "MISSING (not a configured server)" if m["missing"] else m["state"]
        yield f"    {m['server']:20} {state}"
    choices = list(_choice_lines(spec))
    if choices:
        yield "  choices:"
        yield from (f"    {line}" for line in choices)


def _choice_lines(spec: GroupSpec) -> Iterator[str]:
    for server, member in sorted(spec.choices.items()):
        for tool, choice in sorted(member.tools.items()):
            if not choice.enabled:
                yield f"{server}: tool {tool} off"
            if choice.rename is not None:
                yield f"{server}: tool {tool} renamed to {choice.rename}"
            if choice.description is not None:
                yield f"{server}: tool {tool} described as {choice.description!r}"
        for prompt in sorted(member.prompts_off):
            yield f"{server}: prompt {prompt} off"
        for uri in sorted(member.resources_off):
            yield f"{server}: resource {uri} off"


def listing_lines(listing: dict[str, Any]) -> Iterator[str]:
    """``Gateway.group_listing``: per member, each tool and prompt as the group exposes
    it (``-`` and why when hidden), and how many resources it offers."""
    yield f"  live tools ({listing.get('exposed_tools', 0)} exposed):"
    for member in listing.get("members", []):
        head = f"    {member.get('server')} ({member.get('state')})"
        if member.get("error"):
            head += f": {member['error']}"
        yield head
        for tool in member.get("tools", []):
            lines = str(tool.get("description") or "").strip().splitlines()
            about = lines[0][:60] if lines else ""
            yield f"      {_exposed(tool):40} {tool.get('name')!s:28} {about}".rstrip()
        for prompt in member.get("prompts", []):
            yield f"      {_exposed(prompt):40} prompt {prompt.get('name')}"
        resources = member.get("resources", [])
        if resources:
            hidden = sum(1 for r in resources if r.get("hidden_by"))
            yield f"      {len(resources)} resource(s), {hidden} hidden"


def _exposed(item: dict[str, Any]) -> str:
    if item.get("exposed"):
        return str(item["exposed"])
    why = item.get("hidden_by") or ("off" if not item.get("enabled", True) else "")
    return f"- ({why})" if why else "-"


__all__ = ["describe", "listing_lines"]
