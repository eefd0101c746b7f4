"""The catalog a person browses: the bundled offline list plus the registry cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

from switchboard.catalog.model import CatalogEntry
from switchboard.catalog.registry import RegistryClient
from switchboard.core.errors import CatalogError

RESOURCES_ENV = "SWITCHBOARD_RESOURCES"


def resources_dir() -> Path:
    """``resources/`` of the source tree (or ``$SWITCHBOARD_RESOURCES`` when packaged)."""
    override = os.environ.get(RESOURCES_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "resources"


def bundled_path() -> Path:
    return resources_dir() / "catalog" / "servers.json"


def load_bundled(path: Path | None = None) -> list[CatalogEntry]:
    path = path or bundled_path()
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogError(
            f"The bundled catalog {path} could not be read: {exc}.",
            hint="Reinstall Switchboard, or set SWITCHBOARD_RESOURCES to its resources folder.",
        ) from exc
    items = data.get("servers", []) if isinstance(data, dict) else []
    return [CatalogEntry.from_json(item) for item in items]


class Catalog:
    """Bundled entries, overridden by newer ones from the registry cache. Blocking."""

    def __init__(self, registry: RegistryClient | None = None, bundled: Path | None = None):
        self.registry = registry
        self._bundled = bundled

    def entries(self) -> list[CatalogEntry]:
        merged = {e.name: e for e in load_bundled(self._bundled)}
        if self.registry is not None:
            for entry in self.registry.cached():
                merged[entry.name] = entry
        return sorted(merged.values(), key=lambda e: e.name)

    def search(self, query: str) -> list[CatalogEntry]:
        scored = [(e.matches(query), e) for e in self.entries()]
        return [e for s, e in sorted(scored, key=lambda p: (-p[0], p[1].name)) if s > 0]

    def get(self, key: str) -> CatalogEntry:
        """By full name, handle, short name, or package identifier."""
        entries = self.entries()
        for test in (
            lambda e: e.name == key,
            lambda e: e.handle == key,
            lambda e: e.short_name == key,
            lambda e: any(p.identifier == key for p in e.packages),
        ):
            found = [e for e in entries if test(e)]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise CatalogError(
                    f"{key!r} matches several catalog entries: {', '.join(e.name for e in found)}.",
                    hint="Use the full name.",
                )
        raise CatalogError(
            f"No catalog entry named {key!r}.",
            hint="Search with 'switchboard catalog search WORD' "
            "('switchboard catalog sync' fetches the registry).",
        )
