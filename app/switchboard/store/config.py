"""The config file: servers, groups and settings, human-readable TOML, versioned.

Writes are atomic and keep :data:`GENERATIONS` backups of the last good files
(``config.toml.bak``, ``.bak.1``, ``.bak.2``, newest first). A damaged file — unparseable,
invalid, or empty (Switchboard never writes an empty file, so an empty one is damage,
not "no servers") — is never rotated over a good backup and never read as defaults:
loading raises ConfigError naming the file, the line and the backups, and
``switchboard config restore`` puts the newest good backup back. Should the engine ever
save over a file damaged by hand while it ran, that file is first kept aside as
``config.toml.damaged``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import threading
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomli_w

from switchboard.core.errors import (
    ConfigError,
    GroupExists,
    GroupNotFound,
    ServerExists,
    ServerNotFound,
    ValidationError,
)
from switchboard.core.group import GroupSpec
from switchboard.core.spec import ServerSpec, Settings
from switchboard.store.atomic import atomic_write

log = logging.getLogger("switchboard.store")

SCHEMA_VERSION = 1
GENERATIONS = 3
"""How many good versions of the config are kept as backups."""

Migration = Callable[[dict[str, Any]], dict[str, Any]]
MIGRATIONS: dict[int, Migration] = {}
"""``MIGRATIONS[n]`` turns a version-n document into version n+1."""

_HEADER = (
    "# Switchboard configuration. Edited by the app; safe to edit by hand while it is\n"
    "# not running. Secrets are never stored here, only the names of keyring entries.\n"
)


@dataclasses.dataclass(frozen=True, slots=True)
class Config:
    """The whole persisted configuration.

    A group may name servers that do not exist (yet): they are shown as missing, never
    an error. Removing or renaming a server edits every group that names it in the same
    value, so one save commits both."""

    settings: Settings = dataclasses.field(default_factory=Settings)
    servers: tuple[ServerSpec, ...] = ()
    groups: tuple[GroupSpec, ...] = ()

    def server(self, name: str) -> ServerSpec:
        for spec in self.servers:
            if spec.name == name:
                return spec
        raise ServerNotFound(name)

    def has(self, name: str) -> bool:
        return any(s.name == name for s in self.servers)

    def with_server(self, spec: ServerSpec, *, replace: bool = False) -> Config:
        if self.has(spec.name):
            if not replace:
                raise ServerExists(spec.name)
            servers = tuple(spec if s.name == spec.name else s for s in self.servers)
        else:
            if replace:
                raise ServerNotFound(spec.name)
            servers = (*self.servers, spec)
        return dataclasses.replace(self, servers=servers)

    def without_server(self, name: str) -> Config:
        """The config without server ``name``; it leaves every group too (members and
        choices: :meth:`groups_naming` says which groups that edits)."""
        self.server(name)
        return dataclasses.replace(
            self,
            servers=tuple(s for s in self.servers if s.name != name),
            groups=tuple(_group_without(g, name) for g in self.groups),
        )

    def rename_server(self, old: str, new: str) -> Config:
        """Server ``old`` renamed to ``new``; every group naming it follows (its place
        among the members and its choices are kept)."""
        spec = self.server(old)
        if old == new:
            return self
        if self.has(new):
            raise ServerExists(new)
        renamed = dataclasses.replace(spec, name=new)
        return dataclasses.replace(
            self,
            servers=tuple(renamed if s.name == old else s for s in self.servers),
            groups=tuple(_group_renaming(g, old, new) for g in self.groups),
        )

    def groups_naming(self, server: str) -> tuple[str, ...]:
        """The groups that list ``server`` as a member or hold choices for it."""
        return tuple(g.name for g in self.groups if server in g.servers or server in g.choices)

    # -- groups ---------------------------------------------------------------------
    def group(self, name: str) -> GroupSpec:
        for spec in self.groups:
            if spec.name == name:
                return spec
        raise GroupNotFound(name)

    def has_group(self, name: str) -> bool:
        return any(g.name == name for g in self.groups)

    def with_group(self, spec: GroupSpec, *, replace: bool = False) -> Config:
        if self.has_group(spec.name):
            if not replace:
                raise GroupExists(spec.name)
            groups = tuple(spec if g.name == spec.name else g for g in self.groups)
        else:
            if replace:
                raise GroupNotFound(spec.name)
            groups = (*self.groups, spec)
        return dataclasses.replace(self, groups=groups)

    def without_group(self, name: str) -> Config:
        self.group(name)
        return dataclasses.replace(self, groups=tuple(g for g in self.groups if g.name != name))

    def rename_group(self, old: str, new: str) -> Config:
        """Group ``old`` renamed to ``new``, members and choices kept, same place."""
        spec = self.group(old)
        if old == new:
            return self
        if self.has_group(new):
            raise GroupExists(new)
        renamed = dataclasses.replace(spec, name=new)
        return dataclasses.replace(
            self, groups=tuple(renamed if g.name == old else g for g in self.groups)
        )

    def missing_members(self, group: str) -> tuple[str, ...]:
        """Members of ``group`` that are not configured servers (shown as missing)."""
        return tuple(s for s in self.group(group).servers if not self.has(s))

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "version": SCHEMA_VERSION,
            "settings": self.settings.to_dict(),
            "servers": [s.to_dict() for s in self.servers],
        }
        if self.groups:
            doc["groups"] = [g.to_dict() for g in self.groups]
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Config:
        unknown = sorted(set(doc) - {"version", "settings", "servers", "groups"})
        if unknown:
            raise ValidationError(
                f"Unknown top-level key(s): {', '.join(unknown)}.",
                hint="The file holds version, [settings], [[servers]] and [[groups]] only.",
                path=(unknown[0],),
            )
        settings = Settings.from_dict(doc.get("settings", {}), ("settings",))
        servers_raw = doc.get("servers", [])
        if not isinstance(servers_raw, list):
            raise ValidationError(
                "'servers' must be a list of tables.", hint="Use [[servers]].", path=("servers",)
            )
        servers = tuple(ServerSpec.from_dict(s, ("servers", i)) for i, s in enumerate(servers_raw))
        names = [s.name for s in servers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValidationError(
                f"Duplicate server name(s): {', '.join(dupes)}.", hint="Rename or remove one."
            )
        groups_raw = doc.get("groups", [])
        if not isinstance(groups_raw, list):
            raise ValidationError(
                "'groups' must be a list of tables.", hint="Use [[groups]].", path=("groups",)
            )
        groups = tuple(GroupSpec.from_dict(g, ("groups", i)) for i, g in enumerate(groups_raw))
        seen: set[str] = set()
        for i, group in enumerate(groups):
            if group.name in seen:
                raise ValidationError(
                    f"Duplicate group name: {group.name}.",
                    hint="Rename or remove one of the [[groups]] entries.",
                    path=("groups", i, "name"),
                )
            seen.add(group.name)
        return cls(settings=settings, servers=servers, groups=groups)


def _group_without(group: GroupSpec, server: str) -> GroupSpec:
    if server not in group.servers and server not in group.choices:
        return group
    return dataclasses.replace(
        group,
        servers=tuple(s for s in group.servers if s != server),
        choices={k: v for k, v in group.choices.items() if k != server},
    )


def _group_renaming(group: GroupSpec, old: str, new: str) -> GroupSpec:
    if old not in group.servers and old not in group.choices:
        return group
    if new in group.servers:
        # Both were members: the renamed server takes the place of the one it names now.
        servers = tuple(s for s in group.servers if s != old)
    else:
        servers = tuple(new if s == old else s for s in group.servers)
    choices = {k: v for k, v in group.choices.items() if k != old}
    if old in group.choices:  # the renamed server's choices win over a missing namesake's
        choices[new] = group.choices[old]
    return dataclasses.replace(group, servers=servers, choices=choices)


def migrate(doc: dict[str, Any], migrations: dict[int, Migration] | None = None) -> dict[str, Any]:
    """Bring a parsed document up to SCHEMA_VERSION, one step at a time."""
    migrations = MIGRATIONS if migrations is None else migrations
    version = doc.get("version", 1)
    if not isinstance(version, int) or version < 1:
        raise ValidationError(f"Invalid config version {version!r}.", hint="Use version = 1.")
    if version > SCHEMA_VERSION:
        raise ValidationError(
            f"The config was written by a newer Switchboard (schema {version}, "
            f"this one reads up to {SCHEMA_VERSION}).",
            hint="Update Switchboard, or restore an older config.",
        )
    while version < SCHEMA_VERSION:
        doc = migrations[version](doc)
        version += 1
        doc["version"] = version
    return doc


class ConfigStore:
    """Loads and saves :class:`Config` at one path. Thread-safe; call from a thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.backup_path = path.with_name(path.name + ".bak")
        self.damaged_path = path.with_name(path.name + ".damaged")
        self._lock = threading.Lock()

    @property
    def backups(self) -> list[Path]:
        """Backup files, newest first (some may not exist)."""
        return [self.backup_path] + [
            self.backup_path.with_name(f"{self.backup_path.name}.{n}")
            for n in range(1, GENERATIONS)
        ]

    def load(self) -> Config:
        """Read the config. Missing file -> defaults. Damaged file -> ConfigError."""
        with self._lock:
            try:
                raw = self.path.read_bytes()
            except FileNotFoundError:
                return Config()
            except OSError as exc:
                raise ConfigError(
                    f"Cannot read the config file {self.path}: {exc.strerror}.",
                    hint="Check its permissions.",
                ) from exc
            try:
                return parse(raw)
            except ConfigError as exc:
                # The value's own hint ("Use prefix, priority, manual.") stays with it.
                fix = f" {exc.hint}" if exc.hint else ""
                raise ConfigError(
                    f"The config file {self.path} is damaged: {exc.message}{fix}",
                    hint=self._restore_hint(),
                ) from exc

    def save(self, config: Config) -> None:
        """Write ``config``; the file it replaces becomes the newest backup if it was good.

        Raises StoreError (disk full, permissions); the previous file is then untouched."""
        data = (_HEADER + tomli_w.dumps(_drop_none(config.to_document()))).encode("utf-8")
        with self._lock:
            current = self._read_current()
            if current is not None and not _is_good(current):
                # Damaged by hand while we ran: keep it for the person, never as a backup.
                log.warning("config file %s was damaged; kept as %s", self.path, self.damaged_path)
                atomic_write(self.damaged_path, current)
            elif current is not None and current != data:
                self._rotate(current)
            atomic_write(self.path, data)

    def update(self, change: Callable[[Config], Config]) -> Config:
        """Load, apply ``change``, save; returns the new config."""
        new = change(self.load())
        self.save(new)
        return new

    def restore(self) -> Path:
        """Put the newest good backup over the config file (the damaged one is kept as
        ``config.toml.damaged``). Returns the backup used; ConfigError when none is good."""
        with self._lock:
            for backup in self.backups:
                try:
                    raw = backup.read_bytes()
                except OSError:
                    continue
                if _is_good(raw):
                    current = self._read_current()
                    if current is not None and current != raw:
                        atomic_write(self.damaged_path, current)
                    atomic_write(self.path, raw)
                    return backup
        raise ConfigError(
            f"There is no good backup of {self.path}.",
            hint="Fix the file by hand, or move it away to start with no servers.",
        )

    def _read_current(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError:
            return None

    def _rotate(self, current: bytes) -> None:
        """Shift the backups one generation down and keep ``current`` as the newest."""
        chain = self.backups
        for older, newer in zip(reversed(chain[1:]), reversed(chain[:-1]), strict=True):
            if newer.exists():
                try:
                    os.replace(newer, older)
                except OSError as exc:
                    log.warning("could not rotate config backup %s: %s", newer, exc)
        atomic_write(self.backup_path, current)

    def _restore_hint(self) -> str:
        good = [b for b in self.backups if b.exists()]
        if good:
            return (
                f"Run 'switchboard config restore' to put the last good version back "
                f"({good[0]}; the damaged file is kept as {self.damaged_path.name}), "
                "or fix the file by hand."
            )
        return "There is no backup; fix the file by hand or move it away to start fresh."


def parse(raw: bytes) -> Config:
    """Parse config file bytes; ConfigError (with the line where known) when damaged."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"it is not UTF-8 text (byte {exc.start}).") from exc
    if not _has_content(text):
        raise ConfigError(
            "it is empty (Switchboard never writes an empty config, so it was cut short "
            "or emptied by another program)."
        )
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"it is not valid TOML: {exc}.") from exc
    try:
        return Config.from_document(migrate(doc))
    except ValidationError as exc:
        line = locate(text, exc.path)
        where = f"line {line}: " if line else ""
        raise ValidationError(f"{where}{exc.message}", hint=exc.hint, path=exc.path) from exc


def _is_good(raw: bytes) -> bool:
    try:
        parse(raw)
    except ConfigError:
        return False
    return True


def _has_content(text: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines())


def locate(text: str, path: tuple[str | int, ...]) -> int | None:
    """The 1-based line of the value at ``path`` in a config file, best effort.

    ``path`` is a ValidationError's path, e.g. ``("groups", 1, "choices", "time",
    "tools", "now", "rename")``: the line defining that key, else the nearest enclosing
    table or key that is written in the file (``[[groups]]``, ``[groups.choices.time]``).
    """
    if not path:
        return None
    best: tuple[int, int] | None = None  # (matched length, line)
    for where, line in _key_lines(text.splitlines()):
        n = min(len(where), len(path))
        if where[:n] != path[:n]:
            continue
        if len(where) > len(path):
            n = len(path)  # a key inside the table the path names: that table's line
        if best is None or n > best[0]:
            best = (n, line)
            if n == len(path) and len(where) == len(path):
                break
    return best[1] if best else None


_KEY_PART = re.compile(r"""\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*""")
_ARRAY_HEADER = re.compile(r"^\s*\[\[(.*)\]\]\s*(?:#.*)?$")
_TABLE_HEADER = re.compile(r"^\s*\[(.*)\]\s*(?:#.*)?$")


def _dotted(text: str) -> tuple[str, ...] | None:
    """A TOML dotted key (``groups.choices."my.server"``) as its parts."""
    parts: list[str] = []
    pos = 0
    while True:
        m = _KEY_PART.match(text, pos)
        if m is None or m.end() == pos:
            return None
        bare = m.group(3)
        parts.append(bare if bare is not None else (m.group(1) or m.group(2) or ""))
        pos = m.end()
        if pos == len(text):
            return tuple(parts)
        if text[pos] != ".":
            return None
        pos += 1


def _key_lines(lines: list[str]) -> list[tuple[tuple[str | int, ...], int]]:
    """Every header and ``key = value`` line with the document path it defines (array
    tables get their index: the second ``[[groups]]`` is ``("groups", 1)``)."""
    out: list[tuple[tuple[str | int, ...], int]] = []
    counts: dict[tuple[str, ...], int] = {}
    table: tuple[str | int, ...] = ()
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        array = _ARRAY_HEADER.match(line)
        header = array or _TABLE_HEADER.match(line)
        if header:
            parts = _dotted(header.group(1))
            if parts is None:
                continue
            if array:
                counts[parts] = counts.get(parts, -1) + 1
            where: list[str | int] = []
            for j in range(1, len(parts) + 1):
                where.append(parts[j - 1])
                if parts[:j] in counts and (j < len(parts) or array):
                    where.append(counts[parts[:j]])
            table = tuple(where)
            out.append((table, number))
            continue
        key, sep, _ = line.partition("=")
        parts = _dotted(key) if sep else None
        if parts is not None:
            out.append(((*table, *parts), number))
    return out


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_drop_none(v) for v in value if v is not None]
    return value
