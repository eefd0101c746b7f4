"""Editors for the three config formats MCP clients use.

Each editor works on one file's text, exposes the map of server entries found at a
container path (``mcpServers``, ``servers``, ``mcp_servers``, ``extensions``, ...),
puts or removes one entry, and gives the new text back. All three edit bytes, not
re-serialised documents: JSON(C) through :mod:`.jsonc`, TOML through
:mod:`.tomledit`, YAML through :mod:`.yamledit`. Adding an entry and removing it
again gives the original bytes back; what an editor had to create on the way (the
container, the top-level object of an empty file) is reported in ``created`` so the
caller can ask for it to be dropped again when the last entry goes.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from typing import Any, Protocol

from switchboard.clients.jsonc import JsoncDocument
from switchboard.clients.tomledit import TomlEditor
from switchboard.clients.yamledit import YamlEditor
from switchboard.core.errors import ClientConfigError


class Format(enum.Enum):
    JSON = "json"
    """JSON, comments and trailing commas tolerated (JSONC)."""
    TOML = "toml"
    YAML = "yaml"


class Editor(Protocol):
    """One config file being edited."""

    def entries(self) -> dict[str, Any]:
        """Server name -> entry (plain Python values)."""

    created: set[str]
    """What adding entries had to create: ``container:<depth>`` (the container,
    from that depth of its path on) and ``root`` (the top-level object)."""

    def put(self, name: str, entry: Mapping[str, Any]) -> bool:
        """Add or replace an entry; False when it was already exactly that."""

    def remove(self, name: str, drop: Collection[str] = ()) -> bool:
        """Remove an entry; False when there was none. ``drop`` names what an earlier
        ``put`` created and should go too once nothing is left in it."""

    def text(self) -> str: ...


def _container_error(source: str, path: tuple[str, ...], what: str) -> ClientConfigError:
    return ClientConfigError(
        f"In {source}, {'.'.join(path)} is {what}, not a table of servers.",
        hint="Fix that part of the file by hand; Switchboard did not change it.",
    )


class JsonEditor:
    """Entries in an object at ``path`` of a JSON/JSONC document."""

    def __init__(self, text: str, path: tuple[str, ...], source: str) -> None:
        self._doc = JsoncDocument(text, source)
        self._path = path
        self._source = source
        self.created: set[str] = set()
        data = self._doc.data
        if data is not None and not isinstance(data, dict):
            raise ClientConfigError(
                f"{source} does not hold a JSON object.", hint="Fix the file by hand."
            )
        found = self._doc.get(path)
        if found is not None and not isinstance(found, dict):
            raise _container_error(source, path, type(found).__name__)

    def entries(self) -> dict[str, Any]:
        found = self._doc.get(self._path)
        return dict(found) if isinstance(found, dict) else {}

    def put(self, name: str, entry: Mapping[str, Any]) -> bool:
        if self._doc.data is None:
            self._doc.add_root()
            self.created.add("root")
        for depth in range(len(self._path)):
            if self._doc.get(self._path[: depth + 1]) is None:
                self.created.add(f"container:{depth}")
                break
        return self._doc.set((*self._path, name), dict(entry))

    def remove(self, name: str, drop: Collection[str] = ()) -> bool:
        if not self._doc.remove((*self._path, name)):
            return False
        for part in drop:
            if part.startswith("container:") and self._only_chain(int(part.split(":")[1])):
                self._doc.remove(self._path[: int(part.split(":")[1]) + 1])
        if "root" in drop and self._doc.data == {}:
            self._doc.drop_root()
        return True

    def _only_chain(self, depth: int) -> bool:
        """Is ``path[depth:]`` nothing but the (now empty) chain Switchboard made?"""
        for i in range(depth, len(self._path)):
            node = self._doc.get(self._path[: i + 1])
            rest = self._path[i + 1 : i + 2]
            if not isinstance(node, dict) or list(node) != list(rest):
                return False
        return True

    def text(self) -> str:
        return self._doc.text


def open_editor(
    fmt: Format, text: str, path: tuple[str, ...], source: str, *, keyed_list: bool = False
) -> Editor:
    if fmt is Format.JSON:
        return JsonEditor(text, path, source)
    if fmt is Format.TOML:
        return TomlEditor(text, path, source)
    return YamlEditor(text, path, source, keyed_list=keyed_list)
