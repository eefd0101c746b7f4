"""Byte-preserving edits of server entries in a YAML file (Goose, Continue).

ruamel.yaml parses the file twice: once into round-trip data (what the entries are)
and once into its node graph, whose marks say where every key and value sits in the
text. Edits are made on the text: a new entry is rendered on its own lines, indented
like its siblings, and inserted after the last line of the container; removing an
entry takes exactly its lines out. The person's other entries keep their bytes -
``bundled: null`` stays ``null``, comments, quoting, blank lines and CRLF stay.

Shapes that cannot be edited line by line (a flow-style ``{}``/``[]`` container, a
``null`` written out, an item written as ``-`` on a line of its own) fall back to
ruamel's round-trip dump of the whole document.
"""

from __future__ import annotations

import io
import re
from collections.abc import Collection, Mapping
from typing import Any

from switchboard.clients.textlines import (
    edit_failed,
    insert_block,
    last_nonblank_end,
    line_end,
    line_start,
    newline_of,
    remove_block,
)
from switchboard.clients.tomledit import plain
from switchboard.core.errors import ClientConfigError


def yaml_indent(text: str) -> tuple[int, int, int]:
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


class _Fallback(Exception):
    """This shape is not edited line by line."""


class YamlEditor:
    """Entries in a YAML mapping at ``path``, or - with ``keyed_list`` - a list of
    mappings identified by their ``name`` key (Continue's ``mcpServers``)."""

    def __init__(
        self, text: str, path: tuple[str, ...], source: str, *, keyed_list: bool = False
    ) -> None:
        self._path = path
        self._source = source
        self._keyed_list = keyed_list
        self._text = text
        self._nl = newline_of(text)
        self._indent = yaml_indent(text)
        self.created: set[str] = set()
        self._data = self._load(text)
        container = self._container_data(self._data)
        want = list if keyed_list else Mapping
        if container is not None and not isinstance(container, want):
            raise ClientConfigError(
                f"In {source}, {'.'.join(path)} is {type(container).__name__}, "
                "not a table of servers.",
                hint="Fix that part of the file by hand; Switchboard did not change it.",
            )

    # -- reading ----------------------------------------------------------------------
    def _yaml(self) -> Any:
        from ruamel.yaml import YAML

        yaml = YAML()
        yaml.preserve_quotes = True
        yaml.width = 4096
        mapping, sequence, offset = self._indent
        yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
        return yaml

    def _load(self, text: str) -> Any:
        from ruamel.yaml.error import YAMLError

        try:
            data = self._yaml().load(text) if text.strip() else None
        except YAMLError as exc:
            raise ClientConfigError(
                f"{self._source} is not valid YAML: {str(exc).splitlines()[0]}.",
                hint="Fix the file (or restore its backup); Switchboard leaves it untouched.",
            ) from None
        if data is not None and not isinstance(data, Mapping):
            raise ClientConfigError(
                f"{self._source} does not hold a YAML mapping.", hint="Fix the file by hand."
            )
        return data

    def _container_data(self, data: Any) -> Any:
        node = data
        for key in self._path:
            if not isinstance(node, Mapping) or node.get(key) is None:
                return None
            node = node[key]
        return node

    def entries(self) -> dict[str, Any]:
        container = self._container_data(self._data)
        if container is None:
            return {}
        if self._keyed_list:
            return {
                str(item["name"]): plain(item)
                for item in container
                if isinstance(item, Mapping) and "name" in item
            }
        return {str(k): plain(v) for k, v in container.items()}

    def text(self) -> str:
        return self._text

    # -- editing ----------------------------------------------------------------------
    def put(self, name: str, entry: Mapping[str, Any]) -> bool:
        want = plain(dict(entry))
        current = self.entries()
        if current.get(name) == want:
            return False
        try:
            if name in current:
                self._remove_lines(name)
            self._insert_lines(name, entry)
        except _Fallback:
            self._fallback_put(name, entry)
        if self.entries().get(name) != want:
            raise edit_failed(self._source)
        return True

    def remove(self, name: str, drop: Collection[str] = ()) -> bool:
        if name not in self.entries():
            return False
        try:
            self._remove_lines(name)
            if not self.entries():
                if "container:0" in drop:
                    self._drop_container()
                for part in drop:
                    if part.startswith("flow:"):
                        self._restore_flow(part)
        except _Fallback:
            self._fallback_remove(name)
        if name in self.entries():
            raise edit_failed(self._source)
        return True

    def _commit(self, text: str) -> None:
        self._data = self._load(text)
        self._text = text

    # -- line edits ---------------------------------------------------------------------
    def _nodes(self) -> tuple[Any, Any, Any]:
        """(root, container key node, container value node) of the node graph."""
        from ruamel.yaml.nodes import MappingNode

        if len(self._path) != 1:
            raise _Fallback
        root = self._yaml().compose(self._text) if self._text.strip() else None
        if root is None:
            return None, None, None
        if not isinstance(root, MappingNode) or root.flow_style:
            raise _Fallback
        for key, value in root.value:
            if key.value == self._path[0]:
                return root, key, value
        return root, None, None

    def _content_end(self, node: Any) -> int:
        from ruamel.yaml.nodes import MappingNode, SequenceNode

        if isinstance(node, MappingNode | SequenceNode):
            if not node.value or node.flow_style:
                return int(node.end_mark.index)
            last = node.value[-1]
            if isinstance(node, MappingNode):
                return max(self._content_end(last[0]), self._content_end(last[1]))
            return self._content_end(last)
        end = int(node.end_mark.index)
        if node.style in ("|", ">"):
            while end > node.start_mark.index and self._text[end - 1] in " \t\r\n":
                end -= 1
        return end

    def _render(self, name: str, entry: Mapping[str, Any], column: int) -> list[str]:
        from ruamel.yaml.comments import CommentedMap

        yaml = self._yaml()
        mapping = self._indent[0]
        yaml.indent(mapping=mapping, sequence=2, offset=0)
        yaml.representer.add_representer(
            type(None),
            lambda r, d: r.represent_scalar("tag:yaml.org,2002:null", "null"),
        )
        out = io.StringIO()
        value: Any = [CommentedMap(entry)] if self._keyed_list else {name: dict(entry)}
        yaml.dump(value, out)
        return [" " * column + line for line in out.getvalue().splitlines()]

    def _insert_lines(self, name: str, entry: Mapping[str, Any]) -> None:
        from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

        _root, key, value = self._nodes()
        mapping, _sequence, offset = self._indent
        step = offset if self._keyed_list else mapping
        if key is None:
            # No container yet: it goes at the end of the file.
            lines = [f"{self._path[0]}:", *self._render(name, entry, step)]
            at = last_nonblank_end(self._text)
            self.created.add("container:0")
        elif (
            isinstance(value, ScalarNode)
            and value.value == ""
            and (value.tag or "").endswith("null")
        ):
            # `extensions:` with nothing under it yet.
            lines = self._render(name, entry, key.start_mark.column + step)
            at = line_end(self._text, key.end_mark.index)
        elif (
            isinstance(value, MappingNode | SequenceNode)
            and value.flow_style
            and not value.value
            and value.start_mark.line == key.start_mark.line == value.end_mark.line
        ):
            # `extensions: {}` / `mcpServers: []`: the empty brackets make way for
            # block lines, and come back with the last entry (see remove()).
            begin, end = value.start_mark.index, value.end_mark.index
            token = self._text[begin:end]
            self.created.add(f"flow:{value.start_mark.column}:{token}")
            self._text = self._text[:begin] + self._text[end:]
            lines = self._render(name, entry, key.start_mark.column + step)
            at = line_end(self._text, key.end_mark.index)
        else:
            kind = SequenceNode if self._keyed_list else MappingNode
            if not isinstance(value, kind) or value.flow_style or not value.value:
                raise _Fallback
            first = value.value[0] if self._keyed_list else value.value[0][0]
            column = first.start_mark.column
            if self._keyed_list:
                # Items line up on their dashes: `  - name: ...`.
                begin = line_start(self._text, first.start_mark.index)
                prefix = self._text[begin : first.start_mark.index]
                if prefix.strip() != "-":
                    raise _Fallback
                column = prefix.index("-")
            lines = self._render(name, entry, column)
            at = line_end(self._text, self._content_end(value))
        self._commit(insert_block(self._text, at, self._nl.join(lines), self._nl))

    def _entry_span(self, name: str) -> tuple[int, int]:
        from ruamel.yaml.nodes import MappingNode, SequenceNode

        _root, key, value = self._nodes()
        if key is None:
            raise _Fallback
        if self._keyed_list:
            if not isinstance(value, SequenceNode) or value.flow_style:
                raise _Fallback
            for item in value.value:
                if not isinstance(item, MappingNode) or item.flow_style:
                    continue
                names = [v.value for k, v in item.value if k.value == "name"]
                if names == [name]:
                    start = line_start(self._text, item.start_mark.index)
                    if self._text[start : item.start_mark.index].strip() != "-":
                        raise _Fallback
                    return start, line_end(self._text, self._content_end(item))
        else:
            if not isinstance(value, MappingNode) or value.flow_style:
                raise _Fallback
            for k, v in value.value:
                if k.value == name:
                    start = line_start(self._text, k.start_mark.index)
                    if self._text[start : k.start_mark.index].strip():
                        raise _Fallback
                    end = max(self._content_end(k), self._content_end(v))
                    return start, line_end(self._text, end)
        raise _Fallback

    def _remove_lines(self, name: str) -> None:
        start, end = self._entry_span(name)
        self._commit(remove_block(self._text, start, end, self._nl))

    def _drop_container(self) -> None:
        from ruamel.yaml.nodes import ScalarNode

        _root, key, value = self._nodes()
        if key is None or not (isinstance(value, ScalarNode) and value.value == ""):
            return
        start = line_start(self._text, key.start_mark.index)
        end = line_end(self._text, key.end_mark.index)
        if self._text[key.end_mark.index : end].strip() not in (":", ""):
            return  # a comment on the line: the person's, keep the key
        self._commit(remove_block(self._text, start, end, self._nl))

    def _restore_flow(self, part: str) -> None:
        """Put back the ``{}``/``[]`` an empty flow container had before Switchboard
        added to it (``part`` is ``flow:<column>:<text>``)."""
        from ruamel.yaml.nodes import ScalarNode

        _flow, column, token = part.split(":", 2)
        _root, key, value = self._nodes()
        if key is None or not (isinstance(value, ScalarNode) and value.value == ""):
            return
        at = line_start(self._text, key.start_mark.index) + int(column)
        if at > line_end(self._text, key.end_mark.index) or self._text[at - 1 : at] not in " \t:":
            return
        self._commit(self._text[:at] + token + self._text[at:])

    # -- whole-document fallback ------------------------------------------------------
    def _fallback_container(self, *, create: bool) -> Any:
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

    def _dump(self) -> None:
        out = io.StringIO()
        self._yaml().dump(self._data, out)
        text = out.getvalue()
        if self._nl != "\n":
            text = text.replace("\n", self._nl)
        self._commit(text)

    def _fallback_put(self, name: str, entry: Mapping[str, Any]) -> None:
        from ruamel.yaml.comments import CommentedMap

        self._data = self._load(self._text)
        container = self._fallback_container(create=True)
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
        self._dump()

    def _fallback_remove(self, name: str) -> None:
        self._data = self._load(self._text)
        container = self._fallback_container(create=False)
        if container is None:
            return
        if self._keyed_list:
            for i, item in enumerate(container):
                if isinstance(item, Mapping) and item.get("name") == name:
                    del container[i]
                    break
        elif name in container:
            del container[name]
        self._dump()
