"""Round-trip editors for the three config formats MCP clients use.

Each editor works on one file's text, exposes the map of server entries found at a
container path (``mcpServers``, ``servers``, ``mcp_servers``, ``extensions``, ...),
puts or removes one entry, and gives the new text back. Comments, key order, unknown
keys and the person's formatting survive: JSON(C) through :mod:`.jsonc` (byte-level
edits), TOML through tomlkit, YAML through ruamel.yaml's round-trip mode.
"""

from __future__ import annotations

import enum
import io
import re
from collections.abc import Mapping
from typing import Any, Protocol

from switchboard.clients.jsonc import JsoncDocument
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

    def put(self, name: str, entry: Mapping[str, Any]) -> bool:
        """Add or replace an entry; False when it was already exactly that."""

    def remove(self, name: str) -> bool:
        """Remove an entry; False when there was none."""

    def text(self) -> str: ...


def _plain(value: Any) -> Any:
    """tomlkit / ruamel containers -> plain dict/list/str/... for comparisons."""
    if hasattr(value, "unwrap"):
        value = value.unwrap()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)


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
        return self._doc.set((*self._path, name), dict(entry))

    def remove(self, name: str) -> bool:
        return self._doc.remove((*self._path, name))

    def text(self) -> str:
        return self._doc.text


class TomlEditor:
    """Entries as sub-tables ``[path.name]`` of a TOML document (tomlkit round trip)."""

    def __init__(self, text: str, path: tuple[str, ...], source: str) -> None:
        import tomlkit
        import tomlkit.exceptions

        try:
            self._doc = tomlkit.parse(text)
        except tomlkit.exceptions.ParseError as exc:
            raise ClientConfigError(
                f"{source} is not valid TOML: {exc}.",
                hint="Fix the file (or restore its backup); Switchboard leaves it untouched.",
            ) from None
        self._path = path
        self._source = source
        self._original = text
        self._changed = False
        table = self._table(create=False)
        if table is not None and not isinstance(table, Mapping):
            raise _container_error(source, path, type(table).__name__)

    def _table(self, *, create: bool) -> Any:
        import tomlkit

        node: Any = self._doc
        for key in self._path:
            if key not in node:
                if not create:
                    return None
                node[key] = tomlkit.table(is_super_table=True)
            node = node[key]
            if not isinstance(node, Mapping):
                raise _container_error(self._source, self._path, type(node).__name__)
        return node

    def entries(self) -> dict[str, Any]:
        table = self._table(create=False)
        return {} if table is None else {str(k): _plain(v) for k, v in table.items()}

    def put(self, name: str, entry: Mapping[str, Any]) -> bool:
        import tomlkit

        if self.entries().get(name) == _plain(entry):
            return False
        table = self._table(create=True)
        new = tomlkit.table()
        for key, value in entry.items():
            new[key] = value
        new.add(tomlkit.nl())
        if name in table:
            table[name] = new
        else:
            table.append(name, new)
        self._changed = True
        return True

    def remove(self, name: str) -> bool:
        table = self._table(create=False)
        if table is None or name not in table:
            return False
        del table[name]
        self._changed = True
        return True

    def text(self) -> str:
        import tomlkit

        return tomlkit.dumps(self._doc) if self._changed else self._original


def _yaml_indent(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) indentation the file already uses."""
    mapping = 2
    for m in re.finditer(r"^[^\s#-][^\n]*:\s*\n( +)[^\s-]", text, re.M):
        mapping = len(m.group(1))
        break
    offset = 0
    for m in re.finditer(r"^( *)[^\s#][^\n]*:\s*\n( *)- ", text, re.M):
        offset = max(0, len(m.group(2)) - len(m.group(1)))
        break
    return mapping, max(mapping, offset + 2), offset


class YamlEditor:
    """Entries in a YAML mapping at ``path``, or - with ``keyed_list`` - a list of
    mappings identified by their ``name`` key (Continue's ``mcpServers``)."""

    def __init__(
        self, text: str, path: tuple[str, ...], source: str, *, keyed_list: bool = False
    ) -> None:
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError

        self._yaml = YAML()
        self._yaml.preserve_quotes = True
        self._yaml.width = 4096
        mapping, sequence, offset = _yaml_indent(text)
        self._yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
        try:
            self._data = self._yaml.load(text) if text.strip() else None
        except YAMLError as exc:
            raise ClientConfigError(
                f"{source} is not valid YAML: {str(exc).splitlines()[0]}.",
                hint="Fix the file (or restore its backup); Switchboard leaves it untouched.",
            ) from None
        if self._data is not None and not isinstance(self._data, Mapping):
            raise ClientConfigError(f"{source} does not hold a YAML mapping.", hint="Fix it.")
        self._path = path
        self._source = source
        self._keyed_list = keyed_list
        self._original = text
        self._changed = False
        container = self._container(create=False)
        want = list if keyed_list else Mapping
        if container is not None and not isinstance(container, want):
            raise _container_error(source, path, type(container).__name__)

    def _container(self, *, create: bool) -> Any:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        if self._data is None:
            if not create:
                return None
            self._data = CommentedMap()
        node: Any = self._data
        for i, key in enumerate(self._path):
            last = i == len(self._path) - 1
            if node.get(key) is None:
                if not create:
                    return None
                node[key] = CommentedSeq() if (last and self._keyed_list) else CommentedMap()
            node = node[key]
        return node

    def entries(self) -> dict[str, Any]:
        container = self._container(create=False)
        if container is None:
            return {}
        if self._keyed_list:
            return {
                str(item["name"]): _plain(item)
                for item in container
                if isinstance(item, Mapping) and "name" in item
            }
        return {str(k): _plain(v) for k, v in container.items()}

    def put(self, name: str, entry: Mapping[str, Any]) -> bool:
        from ruamel.yaml.comments import CommentedMap

        if self.entries().get(name) == _plain(entry):
            return False
        container = self._container(create=True)
        new = CommentedMap(entry)
        if self._keyed_list:
            for i, item in enumerate(container):
                if isinstance(item, Mapping) and item.get("name") == name:
                    container[i] = new
                    break
            else:
                container.append(new)
        else:
            container[name] = new
        self._changed = True
        return True

    def remove(self, name: str) -> bool:
        container = self._container(create=False)
        if container is None:
            return False
        if self._keyed_list:
            for i, item in enumerate(container):
                if isinstance(item, Mapping) and item.get("name") == name:
                    del container[i]
                    self._changed = True
                    return True
            return False
        if name not in container:
            return False
        del container[name]
        self._changed = True
        return True

    def text(self) -> str:
        if not self._changed:
            return self._original
        out = io.StringIO()
        self._yaml.dump(self._data, out)
        return out.getvalue()


def open_editor(
    fmt: Format, text: str, path: tuple[str, ...], source: str, *, keyed_list: bool = False
) -> Editor:
    if fmt is Format.JSON:
        return JsonEditor(text, path, source)
    if fmt is Format.TOML:
        return TomlEditor(text, path, source)
    return YamlEditor(text, path, source, keyed_list=keyed_list)
