"""Export and import of a declarative servers file (backup, sharing, a new machine).

The file is TOML (JSON is accepted on import)::

    switchboard_export = 1
    [[servers]]
    name = "github"
    command = "npx"
    args = ["-y", "@modelcontextprotocol/server-github"]
    secrets = { GITHUB_PERSONAL_ACCESS_TOKEN = "github.token" }

    [[groups]]
    name = "dev"
    servers = ["github", "time"]

Secrets appear only as references to keyring entries, exactly as in the config. Import
validates every entry first (nothing is imported from an invalid file), adds the
servers and groups that are new, leaves identical ones alone and reports every
conflict - a server or group of the same name that differs - instead of overwriting
it. A group keeps members that are not configured (they show as missing until added).
Imported servers are never started automatically.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import tomllib
from collections.abc import Iterable, Sequence
from typing import Any

import tomli_w

from switchboard.core.errors import ValidationError
from switchboard.core.group import GroupSpec
from switchboard.core.spec import ServerSpec, StartMode
from switchboard.store.config import Config

EXPORT_KEY = "switchboard_export"
EXPORT_VERSION = 1


def _portable(spec: ServerSpec) -> dict[str, Any]:
    data = spec.to_dict()
    if spec.start is not StartMode.ON_DEMAND:  # always/manual: whether it ran here
        data.pop("start", None)
    return data


def export_servers(servers: Iterable[ServerSpec], groups: Iterable[GroupSpec] = ()) -> str:
    """The servers (and groups) as an export file (TOML text)."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = (
        f"# Switchboard servers, exported {stamp}.\n"
        "# Secrets are names of keyring entries, never values: on another machine set them\n"
        "# with 'switchboard secret set NAME'. Import with 'switchboard import FILE'.\n"
    )
    doc: dict[str, Any] = {EXPORT_KEY: EXPORT_VERSION, "servers": [_portable(s) for s in servers]}
    group_list = [g.to_dict() for g in groups]
    if group_list:
        doc["groups"] = group_list
    return header + tomli_w.dumps(doc)


@dataclasses.dataclass(frozen=True, slots=True)
class Exported:
    """The validated content of an export file."""

    servers: tuple[ServerSpec, ...] = ()
    groups: tuple[GroupSpec, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Conflict:
    """An imported server (or group) whose name exists with a different definition."""

    name: str
    fields: tuple[str, ...]
    """Settings that differ."""
    kind: str = "server"


@dataclasses.dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import does (or did)."""

    added: tuple[ServerSpec, ...] = ()
    unchanged: tuple[str, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    added_groups: tuple[GroupSpec, ...] = ()
    unchanged_groups: tuple[str, ...] = ()

    @property
    def secrets(self) -> tuple[str, ...]:
        """Secret names the added servers refer to."""
        return tuple(sorted({ref for s in self.added for ref in s.secrets.values()}))

    def lines(self) -> list[str]:
        out = [f"  add       {s.name}: {_command(s)}" for s in self.added]
        out += [f"  unchanged {n}" for n in self.unchanged]
        out += [
            f"  add       group {g.name}: {', '.join(g.servers) or '(no members)'}"
            for g in self.added_groups
        ]
        out += [f"  unchanged group {n}" for n in self.unchanged_groups]
        out += [
            f"  CONFLICT  {'group ' if c.kind == 'group' else ''}{c.name}: exists with "
            f"different {', '.join(c.fields)}; kept yours "
            "(remove or rename it first to import this one)"
            for c in self.conflicts
        ]
        return out


def _command(spec: ServerSpec) -> str:
    if spec.command:
        return " ".join([spec.command, *spec.args])
    return f"{spec.transport.value} {spec.url}"


def parse_export(text: str, source: str = "the import file") -> list[ServerSpec]:
    """The servers of an export file (see :func:`parse_export_file`)."""
    return list(parse_export_file(text, source).servers)


def parse_export_file(text: str, source: str = "the import file") -> Exported:
    """Read and validate every server and group; all problems are reported together."""
    stripped = text.lstrip()
    try:
        doc = json.loads(text) if stripped.startswith("{") else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError(
            f"{source} is not valid TOML or JSON: {exc}.", hint="Fix the file and try again."
        ) from None
    if (
        not isinstance(doc, dict)
        or not isinstance(doc.get("servers", []), list)
        or not isinstance(doc.get("groups", []), list)
        or ("servers" not in doc and "groups" not in doc)
    ):
        raise ValidationError(
            f"{source} has no list of servers.",
            hint="An export file has [[servers]] tables (make one with 'switchboard export').",
        )
    version = doc.get(EXPORT_KEY, EXPORT_VERSION)
    if not isinstance(version, int) or version > EXPORT_VERSION:
        raise ValidationError(
            f"{source} was written by a newer Switchboard (format {version}).",
            hint="Update Switchboard to import it.",
        )
    specs: list[ServerSpec] = []
    problems: list[str] = []
    for i, raw in enumerate(doc.get("servers", []), 1):
        label = raw.get("name", f"#{i}") if isinstance(raw, dict) else f"#{i}"
        if isinstance(raw, dict):
            raw = {
                k: v
                for k, v in raw.items()
                if k != "autostart" and (k != "start" or v == StartMode.ON_DEMAND.value)
            }
        try:
            specs.append(ServerSpec.from_dict(raw))
        except ValidationError as exc:
            problems.append(f"server {label}: {exc.message}")
    names = [s.name for s in specs]
    problems += [
        f"server {n}: appears more than once" for n in sorted(set(names)) if names.count(n) > 1
    ]
    groups: list[GroupSpec] = []
    for i, raw in enumerate(doc.get("groups", []), 1):
        label = raw.get("name", f"#{i}") if isinstance(raw, dict) else f"#{i}"
        try:
            groups.append(GroupSpec.from_dict(raw))
        except ValidationError as exc:
            problems.append(f"group {label}: {exc.message}")
    names = [g.name for g in groups]
    problems += [
        f"group {n}: appears more than once" for n in sorted(set(names)) if names.count(n) > 1
    ]
    if problems:
        raise ValidationError(
            f"{source} has {len(problems)} problem(s); nothing was imported: "
            + "; ".join(problems),
            hint="Fix those entries and import again.",
        )
    return Exported(tuple(specs), tuple(groups))


def plan_import(
    config: Config, specs: Sequence[ServerSpec], groups: Sequence[GroupSpec] = ()
) -> ImportReport:
    """Sort imported servers and groups into new, unchanged and conflicting."""
    added: list[ServerSpec] = []
    unchanged: list[str] = []
    conflicts: list[Conflict] = []
    for spec in specs:
        if not config.has(spec.name):
            if spec.start is StartMode.ALWAYS:
                spec = dataclasses.replace(spec, start=StartMode.MANUAL)
            added.append(spec)
            continue
        mine, theirs = _portable(config.server(spec.name)), _portable(spec)
        differs = tuple(sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k)))
        if differs:
            conflicts.append(Conflict(spec.name, differs))
        else:
            unchanged.append(spec.name)
    added_groups: list[GroupSpec] = []
    unchanged_groups: list[str] = []
    for group in groups:
        if not config.has_group(group.name):
            added_groups.append(group)
            continue
        mine, theirs = config.group(group.name).to_dict(), group.to_dict()
        differs = tuple(sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k)))
        if differs:
            conflicts.append(Conflict(group.name, differs, kind="group"))
        else:
            unchanged_groups.append(group.name)
    return ImportReport(
        tuple(added),
        tuple(unchanged),
        tuple(conflicts),
        tuple(added_groups),
        tuple(unchanged_groups),
    )


def apply_import(config: Config, report: ImportReport) -> Config:
    """The config with the report's new servers and groups added (conflicts untouched)."""
    for spec in report.added:
        config = config.with_server(spec)
    for group in report.added_groups:
        config = config.with_group(group)
    return config
