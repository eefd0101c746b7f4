"""The config file: servers and settings, human-readable TOML, versioned.

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

from switchboard.core.errors import ConfigError, ServerExists, ServerNotFound, ValidationError
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
    """The whole persisted configuration."""

    settings: Settings = dataclasses.field(default_factory=Settings)
    servers: tuple[ServerSpec, ...] = ()

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
        self.server(name)
        return dataclasses.replace(self, servers=tuple(s for s in self.servers if s.name != name))

    def to_document(self) -> dict[str, Any]:
        return {
            "version": SCHEMA_VERSION,
            "settings": self.settings.to_dict(),
            "servers": [s.to_dict() for s in self.servers],
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Config:
        unknown = sorted(set(doc) - {"version", "settings", "servers"})
        if unknown:
            raise ValidationError(
                f"Unknown top-level key(s): {', '.join(unknown)}.",
                hint="The file holds version, [settings] and [[servers]] only.",
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
        return cls(settings=settings, servers=servers)


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
                raise ConfigError(
                    f"The config file {self.path} is damaged: {exc.message}",
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


def key_re(key: str) -> re.Pattern[str]:
    """A ``key = ...`` line (bare or quoted key)."""
    return re.compile(rf"^\s*(?:\"{re.escape(key)}\"|{re.escape(key)})\s*=")


def _is_good(raw: bytes) -> bool:
    try:
        parse(raw)
    except ConfigError:
        return False
    return True


def _has_content(text: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines())


def locate(text: str, path: tuple[str | int, ...]) -> int | None:
    """The 1-based line of the value at ``path`` in a config file, best effort."""
    if not path:
        return None
    lines = text.splitlines()
    if path[0] == "servers" and len(path) >= 2 and isinstance(path[1], int):
        starts = [i for i, ln in enumerate(lines) if re.match(r"^\s*\[\[\s*servers\s*\]\]", ln)]
        if path[1] >= len(starts):
            return None
        begin = starts[path[1]]
        end = starts[path[1] + 1] if path[1] + 1 < len(starts) else len(lines)
        if len(path) >= 3 and isinstance(path[-1], str):
            pattern = key_re(path[-1])
            for i in range(begin, end):
                if pattern.match(lines[i]):
                    return i + 1
        return begin + 1
    if path[0] == "settings" and len(path) >= 2 and isinstance(path[1], str):
        pattern = key_re(path[1])
        in_settings = False
        for i, ln in enumerate(lines):
            if re.match(r"^\s*\[", ln):
                in_settings = bool(re.match(r"^\s*\[\s*settings\s*\]", ln))
            elif in_settings and pattern.match(ln):
                return i + 1
    pattern = key_re(str(path[0]))
    for i, ln in enumerate(lines):
        if re.match(r"^\s*\[", ln):
            if re.match(rf"^\s*\[+\s*{re.escape(str(path[0]))}\s*\]", ln):
                return i + 1
            break
        if pattern.match(ln):
            return i + 1
    return None


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_drop_none(v) for v in value if v is not None]
    return value
