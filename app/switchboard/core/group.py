"""Groups: one MCP endpoint for several servers, with per-item choices.

A group is served at ``/groups/<name>/mcp`` (and ``/sse``) by the gateway's aggregator
(``gateway/groups/``): its lists are the members' lists merged, its calls go to the
member that owns the name. What the person chose per member lives here:

- a tool, prompt or resource (by URI) can be switched off: it is absent from the
  group's lists and a call to it is refused without reaching the server;
- a tool can be renamed and its description overridden.

Names exposed by a group (:class:`Naming`): ``prefix`` (default) puts the server name in
front of every tool and prompt name (``time__get_current_time``), so members never
collide and names stay stable when members change; ``priority`` keeps the servers' own
names and, on a collision, the earlier member in ``servers`` wins (the later one is
hidden and reported); ``manual`` keeps the own names and hides every colliding name
until the person renames it. Tool names stay within the MCP 2025-11-25 tool-name rules
(``[A-Za-z0-9_.-]``, 1-128 characters, see :func:`exposed_name`).

Lean mode replaces the merged ``tools/list`` with two meta-tools (search the group's
tools by words; call one by name), so a client's model loads schemas on demand.

Frozen values like :mod:`switchboard.core.spec`: a change is a new value.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from switchboard.core.errors import ValidationError
from switchboard.core.schema import check_fields, check_table
from switchboard.core.spec import AuthMode, validate_name

SEPARATOR = "__"
"""Between the server name and the item name in ``prefix`` naming."""

MAX_TOOL_NAME = 128
"""MCP 2025-11-25 server/tools "Tool names": SHOULD be 1-128 characters."""

_TOOL_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


class Naming(enum.Enum):
    """How a group names the members' tools and prompts (see the module docstring)."""

    PREFIX = "prefix"
    PRIORITY = "priority"
    MANUAL = "manual"


def exposed_name(server: str, name: str) -> str:
    """``server__name`` within the tool-name charset and length: characters outside
    ``[A-Za-z0-9_.-]`` become ``_``; a name over 128 characters is cut and ends with 8
    hex digits of its hash, so two long names stay distinct."""
    raw = f"{server}{SEPARATOR}{name}"
    clean = re.sub(r"[^A-Za-z0-9_.-]", "_", raw)
    if len(clean) <= MAX_TOOL_NAME and clean == raw:
        return clean
    digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
    return f"{clean[: MAX_TOOL_NAME - 9]}-{digest}" if len(clean) > MAX_TOOL_NAME else clean


@dataclasses.dataclass(frozen=True, slots=True)
class ToolChoice:
    """What the person chose for one tool of one member (defaults: on, as the server says)."""

    enabled: bool = True
    rename: str | None = None
    """The name the group exposes instead (no prefix is added to a rename)."""
    description: str | None = None
    """Shown instead of the server's description."""

    def __post_init__(self) -> None:
        if self.rename is not None and not _TOOL_NAME_RE.fullmatch(self.rename):
            raise ValidationError(
                f"Invalid tool name {self.rename!r}.",
                hint="Use 1-128 letters, digits, '_', '-' or '.' (MCP tool-name rules).",
            )

    @property
    def is_default(self) -> bool:
        return self.enabled and self.rename is None and self.description is None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if not self.enabled:
            out["enabled"] = False
        if self.rename is not None:
            out["rename"] = self.rename
        if self.description is not None:
            out["description"] = self.description
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class MemberChoices:
    """The choices for one member server; anything not named here is on, unchanged."""

    tools: Mapping[str, ToolChoice] = dataclasses.field(default_factory=dict)
    """By the server's own tool name."""
    prompts_off: frozenset[str] = frozenset()
    """Prompt names (the server's own) switched off."""
    resources_off: frozenset[str] = frozenset()
    """Resource URIs (and resource-template URI templates) switched off."""

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "tools", {k: v for k, v in dict(self.tools).items() if not v.is_default}
        )
        object.__setattr__(self, "prompts_off", frozenset(self.prompts_off))
        object.__setattr__(self, "resources_off", frozenset(self.resources_off))

    def tool(self, name: str) -> ToolChoice:
        return self.tools.get(name) or _DEFAULT_TOOL

    @property
    def is_default(self) -> bool:
        return not self.tools and not self.prompts_off and not self.resources_off

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.tools:
            out["tools"] = {k: v.to_dict() for k, v in sorted(self.tools.items())}
        if self.prompts_off:
            out["prompts_off"] = sorted(self.prompts_off)
        if self.resources_off:
            out["resources_off"] = sorted(self.resources_off)
        return out


_DEFAULT_TOOL = ToolChoice()
_NO_CHOICES = MemberChoices()


@dataclasses.dataclass(frozen=True, slots=True)
class GroupSpec:
    """A named set of servers served as one MCP endpoint."""

    kind: ClassVar[str] = "groups"
    """The gateway path segment (``/groups/<name>/mcp``); ServerSpec's is ``servers``."""

    name: str
    servers: tuple[str, ...] = ()
    """Member server names, in priority order."""
    naming: Naming = Naming.PREFIX
    lean: bool = False
    """Expose the two meta-tools (search, call) instead of every tool schema."""
    description: str = ""
    auth: AuthMode = AuthMode.SWITCHBOARD
    """Who may call the group: Switchboard tokens (default) or nobody-checks (``off``)."""
    choices: Mapping[str, MemberChoices] = dataclasses.field(default_factory=dict)
    """Member server name -> the person's choices for it."""

    external_issuer: ClassVar[None] = None
    """Groups only take Switchboard's own tokens (the auth port reads this like a server's)."""

    def __post_init__(self) -> None:
        try:
            validate_name(self.name)
        except ValidationError as exc:
            raise ValidationError(f"Invalid group name {self.name!r}.", hint=exc.hint) from None
        servers = tuple(self.servers)
        object.__setattr__(self, "servers", servers)
        for server in servers:
            validate_name(server)
        if len(set(servers)) != len(servers):
            raise ValidationError(
                f"Group {self.name!r} lists a server twice.",
                hint="Name each member server once.",
            )
        if self.auth is AuthMode.EXTERNAL:
            raise ValidationError(
                f"Group {self.name!r} cannot use an external issuer.",
                hint="Groups take Switchboard's own tokens (auth = 'switchboard') or none ('off').",
            )
        object.__setattr__(
            self, "choices", {k: v for k, v in dict(self.choices).items() if not v.is_default}
        )

    def member(self, server: str) -> MemberChoices:
        """The choices for ``server`` (all on when none were made)."""
        return self.choices.get(server) or _NO_CHOICES

    def with_choices(self, server: str, choices: MemberChoices) -> GroupSpec:
        return dataclasses.replace(self, choices={**self.choices, server: choices})

    def with_tool(self, server: str, tool: str, **change: Any) -> GroupSpec:
        """A copy with ``server``'s tool ``tool`` changed: ``enabled=``, ``rename=``,
        ``description=`` (None = back to the server's own)."""
        member = self.member(server)
        choice = dataclasses.replace(member.tool(tool), **change)
        tools = {**member.tools, tool: choice}
        return self.with_choices(server, dataclasses.replace(member, tools=tools))

    def with_prompt(self, server: str, prompt: str, enabled: bool) -> GroupSpec:
        member = self.member(server)
        off = member.prompts_off - {prompt} if enabled else member.prompts_off | {prompt}
        return self.with_choices(server, dataclasses.replace(member, prompts_off=off))

    def with_resource(self, server: str, uri: str, enabled: bool) -> GroupSpec:
        member = self.member(server)
        off = member.resources_off - {uri} if enabled else member.resources_off | {uri}
        return self.with_choices(server, dataclasses.replace(member, resources_off=off))

    def with_servers(self, servers: tuple[str, ...]) -> GroupSpec:
        """A copy with these members (choices of servers that left are dropped)."""
        kept = {k: v for k, v in self.choices.items() if k in servers}
        return dataclasses.replace(self, servers=tuple(servers), choices=kept)

    def tag(self) -> str:
        """A hash of this definition: an entity tag (RFC 9110 section 8.8.3) that a
        read-change-write client sends back so a change made meanwhile is not lost."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON/TOML-friendly form (omits defaults to keep files short)."""
        out: dict[str, Any] = {"name": self.name, "servers": list(self.servers)}
        if self.naming is not Naming.PREFIX:
            out["naming"] = self.naming.value
        if self.lean:
            out["lean"] = True
        if self.description:
            out["description"] = self.description
        if self.auth is not AuthMode.SWITCHBOARD:
            out["auth"] = self.auth.value
        choices = {k: v.to_dict() for k, v in sorted(self.choices.items())}
        if choices:
            out["choices"] = choices
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: tuple[str | int, ...] = ()) -> GroupSpec:
        """Build from :meth:`to_dict` output: unknown keys and wrong types are errors
        naming the key (never coerced), like ``ServerSpec.from_dict``."""
        data = check_table(data, path, "[groups]")
        known = {"name", "servers", "naming", "lean", "description", "auth", "choices"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValidationError(
                f"Unknown group setting(s): {', '.join(unknown)}.",
                hint=f"Known settings: {', '.join(sorted(known))}.",
                path=(*path, unknown[0]),
            )
        if "name" not in data:
            raise ValidationError("A group entry has no name.", hint='Add name = "...".', path=path)
        name = data["name"]
        servers = data.get("servers", [])
        if not isinstance(servers, list | tuple) or not all(isinstance(s, str) for s in servers):
            raise ValidationError(
                f"Group {name!r}: servers must be a list of server names.",
                hint='Write servers = ["time", "github"].',
                path=(*path, "servers"),
            )
        for server in servers:
            try:
                validate_name(server)
            except ValidationError as exc:
                raise ValidationError(
                    f"Group {name!r}: {exc.message}", hint=exc.hint, path=(*path, "servers")
                ) from None
        for key, kind in (("lean", bool), ("description", str), ("name", str)):
            if key in data and type(data[key]) is not kind:
                raise ValidationError(
                    f"Group {name!r}: {key} must be "
                    f"{'true or false' if kind is bool else 'a string'}.",
                    hint="Fix the value in the config.",
                    path=(*path, key),
                )
        try:
            naming = Naming(data.get("naming", Naming.PREFIX.value))
        except ValueError:
            raise ValidationError(
                f"Group {name!r}: unknown naming {data.get('naming')!r}.",
                hint="Use " + ", ".join(n.value for n in Naming) + ".",
                path=(*path, "naming"),
            ) from None
        try:
            auth = AuthMode(data.get("auth", AuthMode.SWITCHBOARD.value))
        except ValueError:
            raise ValidationError(
                f"Group {name!r}: unknown auth {data.get('auth')!r}.",
                hint="Use 'switchboard' or 'off'.",
                path=(*path, "auth"),
            ) from None
        if auth is AuthMode.EXTERNAL:
            raise ValidationError(
                f"Group {name!r} cannot use an external issuer.",
                hint="Groups take Switchboard's own tokens (auth = 'switchboard') or none ('off').",
                path=(*path, "auth"),
            )
        choices_raw = check_table(data.get("choices", {}), (*path, "choices"), "groups.choices")
        choices: dict[str, MemberChoices] = {}
        for server, raw in choices_raw.items():
            where = (*path, "choices", server)
            raw = check_table(raw, where, "groups.choices.SERVER")
            extra = sorted(set(raw) - {"tools", "prompts_off", "resources_off"})
            if extra:
                raise ValidationError(
                    f"Group {name!r}: unknown choice(s) {', '.join(extra)} for {server!r}.",
                    hint="Known: tools, prompts_off, resources_off.",
                    path=(*where, extra[0]),
                )
            tools_raw = check_table(raw.get("tools", {}), (*where, "tools"), "tools")
            tools: dict[str, ToolChoice] = {}
            for tool, choice in tools_raw.items():
                choice = check_table(choice, (*where, "tools", tool), "tool")
                check_fields(ToolChoice, choice, (*where, "tools", tool))
                bad = sorted(set(choice) - {"enabled", "rename", "description"})
                if bad:
                    raise ValidationError(
                        f"Group {name!r}: unknown tool choice {bad[0]!r} for {server}/{tool}.",
                        hint="Known: enabled, rename, description.",
                        path=(*where, "tools", tool, bad[0]),
                    )
                try:
                    tools[tool] = ToolChoice(**choice)
                except ValidationError as exc:
                    where_rename = (*where, "tools", tool, "rename")
                    raise ValidationError(exc.message, hint=exc.hint, path=where_rename) from None
            lists: dict[str, frozenset[str]] = {}
            for key in ("prompts_off", "resources_off"):
                value = raw.get(key, [])
                if not isinstance(value, list | tuple) or not all(
                    isinstance(v, str) for v in value
                ):
                    raise ValidationError(
                        f"Group {name!r}: {key} of {server!r} must be a list of strings.",
                        hint="Fix the value in the config.",
                        path=(*where, key),
                    )
                lists[key] = frozenset(value)
            choices[server] = MemberChoices(tools=tools, **lists)
        try:
            return cls(
                name=name,
                servers=tuple(servers),
                naming=naming,
                lean=data.get("lean", False),
                description=data.get("description", ""),
                auth=auth,
                choices=choices,
            )
        except ValidationError as exc:
            if exc.path or not path:
                raise
            raise ValidationError(exc.message, hint=exc.hint, path=path) from None
