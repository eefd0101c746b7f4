"""The config file: servers and settings, human-readable TOML, versioned.

Writes are atomic and keep ``config.toml.bak`` (the last good file). A file that
cannot be read is never silently replaced: loading raises ConfigError naming the
file and the backup, and nothing is written until the person fixes or restores it.
"""

from __future__ import annotations

import dataclasses
import logging
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
        settings = Settings.from_dict(doc.get("settings", {}))
        servers_raw = doc.get("servers", [])
        if not isinstance(servers_raw, list):
            raise ValidationError("'servers' must be a list of tables.", hint="Use [[servers]].")
        servers = tuple(ServerSpec.from_dict(s) for s in servers_raw)
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
        self._lock = threading.Lock()

    def load(self) -> Config:
        """Read the config. Missing file -> defaults. Broken file -> ConfigError."""
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
                doc = tomllib.loads(raw.decode("utf-8"))
                return Config.from_document(migrate(doc))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError, ValidationError) as exc:
                detail = exc.message if isinstance(exc, ValidationError) else str(exc)
                backup = (
                    f"The last good version is in {self.backup_path}; copy it over the broken "
                    "file to restore it, or fix the file by hand."
                    if self.backup_path.exists()
                    else "There is no backup; fix the file by hand or move it away to start fresh."
                )
                raise ConfigError(
                    f"The config file {self.path} is corrupt or invalid: {detail}", hint=backup
                ) from exc

    def save(self, config: Config) -> None:
        data = (_HEADER + tomli_w.dumps(_drop_none(config.to_document()))).encode("utf-8")
        with self._lock:
            atomic_write(
                self.path, data, backup=self.backup_path if self._current_is_good() else None
            )

    def update(self, change: Callable[[Config], Config]) -> Config:
        """Load, apply ``change``, save; returns the new config."""
        new = change(self.load())
        self.save(new)
        return new

    def _current_is_good(self) -> bool:
        try:
            Config.from_document(migrate(tomllib.loads(self.path.read_text("utf-8"))))
        except Exception:
            return False
        return True


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_drop_none(v) for v in value if v is not None]
    return value
