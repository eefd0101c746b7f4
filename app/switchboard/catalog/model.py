"""Catalog entries in the official MCP registry's ``server.json`` format.

Only what Switchboard needs is modelled; unknown fields are ignored so newer registry
schemas still load. Parsing is lenient about absent optional fields and strict about
types: a malformed entry raises CatalogError naming the entry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from switchboard.core.errors import CatalogError
from switchboard.core.spec import suggest_name

OFFICIAL_META = "io.modelcontextprotocol.registry/official"


def _str(data: Mapping[str, Any], key: str, default: str = "") -> str:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str | int | float):
        raise CatalogError(f"Field {key!r} should be text, not {type(value).__name__}.")
    return str(value)


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise CatalogError(f"Field {key!r} should be a list, not {type(value).__name__}.")
    return value


def _choices(data: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(c) for c in _list(data, "choices"))


def _variables(data: Mapping[str, Any]) -> dict[str, EnvVar]:
    """``variables`` of an input: {name: Input} (server.json ``InputWithVariables``)."""
    raw = data.get("variables") or {}
    if not isinstance(raw, Mapping):
        raise CatalogError("Field 'variables' should be an object.")
    out = {}
    for key, value in raw.items():
        if not isinstance(value, Mapping):
            raise CatalogError(f"Variable {key!r} is not an object.")
        out[str(key)] = EnvVar.from_json({**value, "name": str(key)})
    return out


@dataclasses.dataclass(frozen=True, slots=True)
class Argument:
    """A command-line argument of a package (``positional`` or ``named``)."""

    kind: str
    name: str = ""
    """For named arguments: the flag, e.g. ``--db-path``."""
    value: str = ""
    """A fixed value (always passed)."""
    value_hint: str = ""
    default: str = ""
    description: str = ""
    is_required: bool = False
    is_repeated: bool = False
    is_secret: bool = False
    choices: tuple[str, ...] = ()
    format: str = ""
    variables: Mapping[str, EnvVar] = dataclasses.field(default_factory=dict)
    """Inputs filled into ``{name}`` placeholders of ``value`` (server.json
    ``InputWithVariables``)."""

    @property
    def key(self) -> str:
        """How a person names it on the command line (``--arg KEY=VALUE``)."""
        return self.name.lstrip("-") if self.kind == "named" else (self.value_hint or "arg")

    @property
    def is_flag(self) -> bool:
        return self.kind == "named" and self.format == "boolean" and not self.value

    @classmethod
    def from_json(cls, data: Any) -> Argument:
        if not isinstance(data, Mapping):
            raise CatalogError("An argument is not an object.")
        kind = _str(data, "type", "positional")
        if kind not in ("positional", "named"):
            raise CatalogError(f"Unknown argument type {kind!r}.")
        if kind == "named" and not _str(data, "name"):
            raise CatalogError("A named argument has no name.")
        return cls(
            kind=kind,
            name=_str(data, "name"),
            value=_str(data, "value"),
            value_hint=_str(data, "valueHint"),
            default=_str(data, "default"),
            description=_str(data, "description"),
            is_required=bool(data.get("isRequired", False)),
            is_repeated=bool(data.get("isRepeated", False)),
            is_secret=bool(data.get("isSecret", False)),
            choices=_choices(data),
            format=_str(data, "format"),
            variables=_variables(data),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class EnvVar:
    """An environment variable a package reads."""

    name: str
    description: str = ""
    is_required: bool = False
    is_secret: bool = False
    default: str = ""
    choices: tuple[str, ...] = ()
    format: str = ""
    value: str = ""
    """A fixed value, possibly a template of ``variables``."""
    variables: Mapping[str, EnvVar] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any) -> EnvVar:
        if not isinstance(data, Mapping) or not _str(data, "name"):
            raise CatalogError("An environment variable entry has no name.")
        return cls(
            name=_str(data, "name"),
            description=_str(data, "description"),
            is_required=bool(data.get("isRequired", False)),
            is_secret=bool(data.get("isSecret", False)),
            default=_str(data, "default"),
            choices=_choices(data),
            format=_str(data, "format"),
            value=_str(data, "value"),
            variables=_variables(data),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Package:
    """One way to run a server: an npm, PyPI or OCI package."""

    registry_type: str
    identifier: str
    version: str = ""
    registry_base_url: str = ""
    """Where the package is downloaded from (npm/PyPI default when empty)."""
    runtime_hint: str = ""
    transport: str = "stdio"
    transport_url: str = ""
    runtime_arguments: tuple[Argument, ...] = ()
    package_arguments: tuple[Argument, ...] = ()
    environment_variables: tuple[EnvVar, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> Package:
        if not isinstance(data, Mapping):
            raise CatalogError("A package entry is not an object.")
        transport = data.get("transport") or {}
        if not isinstance(transport, Mapping):
            raise CatalogError("A package's transport is not an object.")
        identifier = _str(data, "identifier")
        registry_type = _str(data, "registryType") or _str(data, "registry_type")
        if not identifier or not registry_type:
            raise CatalogError("A package entry lacks registryType or identifier.")
        return cls(
            registry_type=registry_type,
            identifier=identifier,
            version=_str(data, "version"),
            registry_base_url=_str(data, "registryBaseUrl") or _str(data, "registry_base_url"),
            runtime_hint=_str(data, "runtimeHint"),
            transport=_str(transport, "type", "stdio"),
            transport_url=_str(transport, "url"),
            runtime_arguments=tuple(Argument.from_json(a) for a in _list(data, "runtimeArguments")),
            package_arguments=tuple(Argument.from_json(a) for a in _list(data, "packageArguments")),
            environment_variables=tuple(
                EnvVar.from_json(e) for e in _list(data, "environmentVariables")
            ),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One server of the catalog (a registry ``server.json``)."""

    name: str
    description: str = ""
    title: str = ""
    version: str = ""
    repository: str = ""
    website: str = ""
    packages: tuple[Package, ...] = ()
    remotes: tuple[str, ...] = ()
    status: str = "active"
    is_latest: bool = True
    updated_at: str = ""
    raw: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @property
    def short_name(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    @property
    def display(self) -> str:
        return self.title or self.short_name

    @property
    def handle(self) -> str:
        """Short name people type (``github``, ``brave-search``); the default server name."""
        return suggest_name(self.title or self.short_name)

    @classmethod
    def from_json(cls, item: Any) -> CatalogEntry:
        """From a registry list item ``{"server": {...}, "_meta": {...}}`` or a bare
        ``server.json``."""
        if not isinstance(item, Mapping):
            raise CatalogError("A catalog entry is not an object.")
        server = item.get("server", item)
        if not isinstance(server, Mapping) or not _str(server, "name"):
            raise CatalogError("A catalog entry has no name.")
        meta = item.get("_meta") or server.get("_meta") or {}
        official = meta.get(OFFICIAL_META, {}) if isinstance(meta, Mapping) else {}
        if not isinstance(official, Mapping):
            official = {}
        name = _str(server, "name")
        try:
            repo = server.get("repository") or {}
            remotes = tuple(
                _str(r, "url") for r in _list(server, "remotes") if isinstance(r, Mapping)
            )
            return cls(
                name=name,
                description=_str(server, "description"),
                title=_str(server, "title"),
                version=_str(server, "version"),
                repository=_str(repo, "url") if isinstance(repo, Mapping) else "",
                website=_str(server, "websiteUrl"),
                packages=tuple(Package.from_json(p) for p in _list(server, "packages")),
                remotes=remotes,
                status=_str(official, "status", "active"),
                is_latest=bool(official.get("isLatest", True)),
                updated_at=_str(official, "updatedAt") or _str(official, "publishedAt"),
                raw=dict(item),
            )
        except CatalogError as exc:
            raise CatalogError(
                f"Catalog entry {name!r} is malformed: {exc.message}",
                hint="Report it to the server's publisher; other entries still work.",
            ) from None

    def matches(self, query: str) -> int:
        """A crude relevance score for offline search (0 = no match)."""
        words = query.lower().split()
        if not words:
            return 1
        hay = " ".join(
            [
                self.handle,
                self.short_name,
                self.title,
                self.description,
                *(p.identifier for p in self.packages),
            ]
        ).lower()
        score = 0
        for word in words:
            if word not in hay:
                return 0
            score += 1
            if word in self.handle or word in self.title.lower():
                score += 3
        return score
