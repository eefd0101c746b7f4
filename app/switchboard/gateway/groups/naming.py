"""A group's merged lists: which member item is exposed under which name (issue 14.2-3).

Input: the group (:class:`~switchboard.core.group.GroupSpec`) and each member's
:class:`Listing` (its ``tools/list``, ``prompts/list``, ``resources/list`` and
``resources/templates/list`` as the server sent them). Output: a :class:`Merged` value
with the exposed lists, the routing indexes (exposed name -> member and own name; URI ->
member) and, per member, what became of each item (``hidden_by`` filter or collision)
for ``Gateway.group_listing``.

Naming (``core/group.py``, :class:`~switchboard.core.group.Naming`): ``prefix`` exposes
``server__name`` (a rename is exposed as is); ``priority`` keeps own names and the
earlier member wins a collision; ``manual`` hides every colliding name until renamed.
Resource URIs are never renamed (they are addresses): on a URI collision the earlier
member wins. A member that is down contributes nothing, but its last known names are
kept in :attr:`Merged.down_names` so that a call says which server is down.

Pure: no I/O, unit-tested in ``tests/unit/gateway/test_groups_naming.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from switchboard.core.group import GroupSpec, MemberChoices, Naming, exposed_name
from switchboard.gateway.groups.uritemplate import TemplateMatcher

Item = dict[str, Any]

RUNNING = "running"


@dataclasses.dataclass(frozen=True, slots=True)
class Listing:
    """One member's lists as its server sent them (``error`` says why there are none)."""

    server: str
    state: str = RUNNING
    tools: tuple[Item, ...] = ()
    prompts: tuple[Item, ...] = ()
    resources: tuple[Item, ...] = ()
    templates: tuple[Item, ...] = ()
    error: str | None = None
    capabilities: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    instructions: str | None = None

    @property
    def up(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """The shape of ``Gateway.server_listing`` (DESIGN.md)."""
        return {
            "server": self.server,
            "state": self.state,
            "tools": list(self.tools),
            "prompts": list(self.prompts),
            "resources": list(self.resources),
            "resourceTemplates": list(self.templates),
            "error": self.error,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    """Where an exposed name goes: the member server and the item's own name."""

    server: str
    name: str


@dataclasses.dataclass(slots=True)
class Merged:
    """What a group exposes now (see the module docstring)."""

    tools: list[Item] = dataclasses.field(default_factory=list)
    tool_routes: dict[str, Route] = dataclasses.field(default_factory=dict)
    prompts: list[Item] = dataclasses.field(default_factory=list)
    prompt_routes: dict[str, Route] = dataclasses.field(default_factory=dict)
    resources: list[Item] = dataclasses.field(default_factory=list)
    resource_routes: dict[str, str] = dataclasses.field(default_factory=dict)
    templates: list[Item] = dataclasses.field(default_factory=list)
    template_routes: list[tuple[TemplateMatcher, str]] = dataclasses.field(default_factory=list)
    hidden: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict)
    """Exposed-or-would-be tool/prompt name -> (server, why hidden: filter|collision)."""
    resources_off: dict[str, str] = dataclasses.field(default_factory=dict)
    """URI switched off -> its member: never routed, not even through a template."""
    own_names: dict[str, str] = dataclasses.field(default_factory=dict)
    """A switched-off tool/prompt's would-be name -> its own name (for the hint)."""
    down_names: dict[str, str] = dataclasses.field(default_factory=dict)
    """Names (tools, prompts, URIs) of members that are down -> the server."""
    members: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    """Per member, for ``Gateway.group_listing``."""
    capabilities: dict[str, Any] = dataclasses.field(default_factory=dict)
    instructions: str | None = None
    lean: bool = False
    """The group's lean mode (its ``tools/list`` is the two meta-tools)."""

    def resource_server(self, uri: str) -> str | None:
        """The member that serves ``uri``: listed, else the first matching template."""
        server = self.resource_routes.get(uri)
        if server is not None:
            return server
        if uri in self.resources_off:
            return None
        for pattern, owner in self.template_routes:
            if pattern.fullmatch(uri):
                return owner
        return None


def _candidate(spec: GroupSpec, server: str, own: str, rename: str | None) -> str:
    if rename is not None:
        return rename
    if spec.naming is Naming.PREFIX:
        return exposed_name(server, own)
    return own


def _assign(
    spec: GroupSpec, wanted: Sequence[tuple[str, str, str]]
) -> tuple[dict[tuple[str, str], str], set[tuple[str, str]]]:
    """(server, own, candidate) in member order -> exposed names and the collided items."""
    counts: dict[str, int] = {}
    for _, _, name in wanted:
        counts[name] = counts.get(name, 0) + 1
    taken: dict[str, tuple[str, str]] = {}
    exposed: dict[tuple[str, str], str] = {}
    collided: set[tuple[str, str]] = set()
    for server, own, name in wanted:
        key = (server, own)
        if name in taken or (spec.naming is Naming.MANUAL and counts[name] > 1):
            collided.add(key)
            continue
        taken[name] = key
        exposed[key] = name
    return exposed, collided


def template_pattern(template: str) -> TemplateMatcher:
    """What matches the URIs an RFC 6570 URI template expands to (``uritemplate.py``:
    linear time, as the templates come from the member servers)."""
    return TemplateMatcher(template)


def _merge_caps(listings: Iterable[Listing]) -> dict[str, Any]:
    """The union of the members' capabilities; a group always announces list changes
    (edits and members coming and going change its lists) and always has tools (lean
    mode's meta-tools; an empty group lists none)."""
    caps: dict[str, Any] = {}
    for listing in listings:
        for key, value in listing.capabilities.items():
            if key in ("experimental", "tasks") or not isinstance(value, dict):
                continue
            caps[key] = {**caps.get(key, {}), **value}
    caps["tools"] = {**caps.get("tools", {}), "listChanged": True}
    if "prompts" in caps:
        caps["prompts"] = {**caps["prompts"], "listChanged": True}
    if "resources" in caps:
        caps["resources"] = {**caps["resources"], "listChanged": True}
    return caps


def _named(items: tuple[Item, ...]) -> tuple[Item, ...]:
    """The items whose ``name`` is a non-empty string (a hostile or broken server's
    others are left out rather than exposed as ``server__None``)."""
    return tuple(i for i in items if isinstance(i.get("name"), str) and i["name"])


def merge(spec: GroupSpec, listings: Mapping[str, Listing]) -> Merged:
    """The group's exposed lists and indexes from its members' listings (in the
    group's member order; a member with no listing counts as missing)."""
    merged = Merged(lean=spec.lean)
    ups: list[Listing] = []
    members: list[Listing] = []
    for server in spec.servers:
        listing = listings.get(server) or Listing(
            server, state="missing", error=f"Server {server!r} is not configured."
        )
        if listing.up:  # an item without a name is not one (MCP: names are 1+ characters)
            listing = dataclasses.replace(
                listing, tools=_named(listing.tools), prompts=_named(listing.prompts)
            )
        members.append(listing)
        if listing.up:
            ups.append(listing)
        else:
            for tool in listing.tools:
                own = str(tool.get("name"))
                choice = spec.member(server).tool(own)
                merged.down_names[_candidate(spec, server, own, choice.rename)] = server
            for prompt in listing.prompts:
                own = str(prompt.get("name"))
                merged.down_names[_candidate(spec, server, own, None)] = server
            for res in listing.resources:
                merged.down_names[str(res.get("uri"))] = server
    # -- tools ----------------------------------------------------------------------
    wanted: list[tuple[str, str, str]] = []
    for listing in ups:
        choices = spec.member(listing.server)
        for tool in listing.tools:
            own = str(tool.get("name"))
            choice = choices.tool(own)
            if choice.enabled:
                wanted.append(
                    (listing.server, own, _candidate(spec, listing.server, own, choice.rename))
                )
            else:
                name = _candidate(spec, listing.server, own, choice.rename)
                merged.hidden.setdefault(name, (listing.server, "filter"))
                merged.own_names.setdefault(name, own)
    exposed, collided = _assign(spec, wanted)
    for listing in ups:
        choices = spec.member(listing.server)
        for tool in listing.tools:
            own = str(tool.get("name"))
            name_or_none = exposed.get((listing.server, own))
            if name_or_none is None:
                if (listing.server, own) in collided:
                    name = _candidate(spec, listing.server, own, choices.tool(own).rename)
                    merged.hidden.setdefault(name, (listing.server, "collision"))
                continue
            if name_or_none in merged.tool_routes:
                continue  # the member listed the same name twice: its first one counts
            item = dict(tool)
            item["name"] = name_or_none
            description = choices.tool(own).description
            if description is not None:
                item["description"] = description
            merged.tools.append(item)
            merged.tool_routes[name_or_none] = Route(listing.server, own)
    tool_collided = collided
    # -- prompts --------------------------------------------------------------------
    wanted = []
    for listing in ups:
        off = spec.member(listing.server).prompts_off
        for prompt in listing.prompts:
            own = str(prompt.get("name"))
            name = _candidate(spec, listing.server, own, None)
            if own in off:
                merged.hidden.setdefault(name, (listing.server, "filter"))
                merged.own_names.setdefault(name, own)
            else:
                wanted.append((listing.server, own, name))
    exposed_prompts, prompt_collided = _assign(spec, wanted)
    for listing in ups:
        for prompt in listing.prompts:
            own = str(prompt.get("name"))
            name_or_none = exposed_prompts.get((listing.server, own))
            if name_or_none is None:
                if (listing.server, own) in prompt_collided:
                    merged.hidden.setdefault(
                        _candidate(spec, listing.server, own, None), (listing.server, "collision")
                    )
                continue
            if name_or_none in merged.prompt_routes:
                continue
            merged.prompts.append({**prompt, "name": name_or_none})
            merged.prompt_routes[name_or_none] = Route(listing.server, own)
    # -- resources and templates: URIs kept, the earlier member wins ------------------
    for listing in ups:
        off = spec.member(listing.server).resources_off
        for off_uri in off:
            merged.resources_off.setdefault(off_uri, listing.server)
        for res in listing.resources:
            uri = res.get("uri")
            if not isinstance(uri, str) or uri in off or uri in merged.resource_routes:
                continue
            merged.resources.append(res)
            merged.resource_routes[uri] = listing.server
        for tpl in listing.templates:
            uri_template = tpl.get("uriTemplate")
            if not isinstance(uri_template, str) or uri_template in off:
                continue
            merged.templates.append(tpl)
            merged.template_routes.append((template_pattern(uri_template), listing.server))
    merged.capabilities = _merge_caps(ups)
    texts = [f"{m.server}: {m.instructions}" for m in ups if m.instructions]
    merged.instructions = "\n\n".join(texts) or None
    merged.members = [
        _member_view(spec, m, exposed, tool_collided, exposed_prompts, merged) for m in members
    ]
    return merged


def _member_view(
    spec: GroupSpec,
    listing: Listing,
    exposed: Mapping[tuple[str, str], str],
    collided: set[tuple[str, str]],
    exposed_prompts: Mapping[tuple[str, str], str],
    merged: Merged,
) -> dict[str, Any]:
    """One member for ``Gateway.group_listing`` (DESIGN.md)."""
    choices: MemberChoices = spec.member(listing.server)
    tools = []
    for tool in listing.tools:
        own = str(tool.get("name"))
        choice = choices.tool(own)
        name = exposed.get((listing.server, own)) if listing.up else None
        hidden_by = None
        if not choice.enabled:
            hidden_by = "filter"
        elif (listing.server, own) in collided:
            hidden_by = "collision"
        description = (
            choice.description if choice.description is not None else tool.get("description")
        )
        tools.append(
            {
                "name": own,
                "exposed": name,
                "enabled": choice.enabled,
                "description": description,
                "hidden_by": hidden_by,
            }
        )
    prompts = []
    for prompt in listing.prompts:
        own = str(prompt.get("name"))
        enabled = own not in choices.prompts_off
        name = exposed_prompts.get((listing.server, own)) if listing.up else None
        prompts.append(
            {
                "name": own,
                "exposed": name,
                "enabled": enabled,
                "hidden_by": None
                if name is not None or not listing.up
                else ("filter" if not enabled else "collision"),
            }
        )
    resources = []
    for res in listing.resources:
        uri = str(res.get("uri"))
        enabled = uri not in choices.resources_off
        owner = merged.resource_routes.get(uri)
        hidden_by = None
        if not enabled:
            hidden_by = "filter"
        elif listing.up and owner != listing.server:
            hidden_by = "collision"
        resources.append(
            {"uri": uri, "name": res.get("name"), "enabled": enabled, "hidden_by": hidden_by}
        )
    return {
        "server": listing.server,
        "state": listing.state,
        "error": listing.error,
        "tools": tools,
        "prompts": prompts,
        "resources": resources,
    }
