"""Byte-preserving edits of server tables in a TOML file (Codex's ``config.toml``).

tomlkit parses and checks the document; the edits themselves are made on the text: a
server is added as its own ``[mcp_servers.NAME]`` table after the last table of the
container (or at the end of the file), separated by one blank line, and removed by
taking exactly those lines out again. Everything else - comments, blank lines, key
order, CRLF line breaks, a missing final newline - keeps its bytes. After every edit
the text is parsed again and compared with what was meant; a mismatch is refused
instead of written.

An *inline* container (``mcp_servers = { docs = { ... } }``) cannot take a new table
without rewriting the person's line, so it is refused with an explanation.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from switchboard.clients.textlines import (
    edit_failed,
    insert_block,
    last_nonblank_end,
    newline_of,
    remove_block,
)
from switchboard.core.errors import ClientConfigError

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def plain(value: Any) -> Any:
    """tomlkit / ruamel containers -> plain dict/list/str/... for comparisons."""
    if hasattr(value, "unwrap"):
        value = value.unwrap()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)


def parse_key(text: str) -> tuple[str, ...] | None:
    """A dotted TOML key (``a."b c".'d'``) -> its parts; None if it is not one."""
    parts: list[str] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            return None
        if text[i] == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                return None
            try:
                parts.append(json.loads(text[i : j + 1]))
            except ValueError:
                return None
            i = j + 1
        elif text[i] == "'":
            j = text.find("'", i + 1)
            if j < 0:
                return None
            parts.append(text[i + 1 : j])
            i = j + 1
        else:
            m = _BARE.match(text, i)
            if not m:
                return None
            parts.append(m.group())
            i = m.end()
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            return tuple(parts)
        if text[i] != ".":
            return None
        i += 1


@dataclasses.dataclass(frozen=True, slots=True)
class _Line:
    start: int
    end: int
    """End of the line's content (before CR/LF)."""
    header: tuple[str, ...] | None = None
    array: bool = False
    content: bool = False
    """Not blank and not only a comment."""


_HEADER = re.compile(r"^\s*(\[\[?)(.*?)(\]\]?)\s*(#.*)?$")


def _lines(text: str) -> list[_Line]:
    out = []
    pos = 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        stripped = body.strip()
        header = None
        array = False
        m = _HEADER.match(body)
        if m and len(m.group(1)) == len(m.group(3)):
            header = parse_key(m.group(2))
            array = m.group(1) == "[["
        content = bool(stripped) and not stripped.startswith("#")
        out.append(_Line(pos, pos + len(body), header, array, content))
        pos += len(raw)
    return out


def _key_text(parts: tuple[str, ...]) -> str:
    import tomlkit

    return ".".join(tomlkit.key(p).as_string() for p in parts)


class TomlEditor:
    """Entries as sub-tables ``[path.name]`` of a TOML document."""

    def __init__(self, text: str, path: tuple[str, ...], source: str) -> None:
        self._path = path
        self._source = source
        self._text = text
        self._nl = newline_of(text)
        self.created: set[str] = set()
        self._doc = self._parse(text)
        container = self._container()
        if container is not None and not isinstance(container, Mapping):
            raise ClientConfigError(
                f"In {source}, {'.'.join(path)} is {type(container).__name__}, "
                "not a table of servers.",
                hint="Fix that part of the file by hand; Switchboard did not change it.",
            )

    def _parse(self, text: str) -> Any:
        import tomlkit
        import tomlkit.exceptions

        try:
            return tomlkit.parse(text)
        except tomlkit.exceptions.ParseError as exc:
            raise ClientConfigError(
                f"{self._source} is not valid TOML: {exc}.",
                hint="Fix the file (or restore its backup); Switchboard leaves it untouched.",
            ) from None

    def _container(self) -> Any:
        node: Any = self._doc
        for key in self._path:
            if not isinstance(node, Mapping) or key not in node:
                return None
            node = node[key]
        return node

    def entries(self) -> dict[str, Any]:
        table = self._container()
        return {} if table is None else {str(k): plain(v) for k, v in table.items()}

    def text(self) -> str:
        return self._text

    # -- editing ----------------------------------------------------------------------
    def put(self, name: str, entry: Mapping[str, Any]) -> bool:
        want = plain(entry)
        current = self.entries()
        if current.get(name) == want:
            return False
        self._refuse_inline()
        if name in current:
            self._remove_text(name)
        self._insert_text(name, entry)
        if self.entries().get(name) != want:
            raise edit_failed(self._source)
        return True

    def remove(self, name: str, drop: Collection[str] = ()) -> bool:
        if name not in self.entries():
            return False
        self._remove_text(name)
        if name in self.entries():
            raise edit_failed(self._source)
        return True

    def _refuse_inline(self) -> None:
        from tomlkit.items import InlineTable

        if isinstance(self._container(), InlineTable):
            dotted = ".".join(self._path)
            raise ClientConfigError(
                f"In {self._source}, {dotted} is written as one inline table "
                f"({dotted} = {{ ... }}); Switchboard adds each server as its own "
                f"[{dotted}.NAME] table and will not rewrite your line.",
                hint=f"Write each server as a [{dotted}.NAME] table (as 'codex mcp add' "
                "does), then connect again. Other clients are not affected.",
            )

    def _commit(self, text: str) -> None:
        self._doc = self._parse(text)
        self._text = text

    def _insert_text(self, name: str, entry: Mapping[str, Any]) -> None:
        import tomlkit

        nl = self._nl
        body = tomlkit.dumps(dict(entry)).splitlines()
        block = [f"[{_key_text((*self._path, name))}]", *body]
        at = self._insert_point()
        lines = block if at == 0 else ["", *block]
        self._commit(insert_block(self._text, at, nl.join(lines), nl))

    def _insert_point(self) -> int:
        """End of the last content line of the last table that holds the container
        (``[path]`` or ``[path.*]``), or of the root table when dotted keys define it
        there; the end of the file's last non-blank line when there is no container."""
        lines = _lines(self._text)
        n = len(self._path)
        last_table = -1
        for i, line in enumerate(lines):
            if line.header is not None and not line.array and line.header[:n] == self._path:
                last_table = i
        if last_table < 0 and self._container() is None:
            return last_nonblank_end(self._text)
        # The body of that table (the root table when last_table is -1).
        end = len(lines)
        for j in range(last_table + 1, len(lines)):
            if lines[j].header is not None:
                end = j
                break
        for j in range(end - 1, last_table - 1, -1):
            if j >= 0 and lines[j].content:
                return lines[j].end
        return 0

    def _remove_text(self, name: str) -> None:
        lines = _lines(self._text)
        key = (*self._path, name)
        own = [i for i, line in enumerate(lines) if line.header == key and not line.array]
        nested = [
            i
            for i, line in enumerate(lines)
            if line.header is not None and line.header[: len(key)] == key and line.header != key
        ]
        if len(own) != 1 or nested:
            self._remove_structured(name)
            return
        first = own[0]
        end = len(lines)
        for j in range(first + 1, len(lines)):
            if lines[j].header is not None:
                end = j
                break
        last = max(j for j in range(first, end) if j == first or lines[j].content)
        start = lines[first].start
        nl = self._nl
        if first > 0 and not lines[first - 1].content and lines[first - 1].header is None:
            blank = lines[first - 1]
            if blank.start == blank.end and blank.start >= len(nl):
                start = blank.start
        stop = lines[last].end
        if (
            start == 0
            and last + 2 < len(lines)
            and lines[last + 1].start == lines[last + 1].end
            and lines[last + 2].header is not None
        ):
            # First table of the file: the blank line that separated the next one goes.
            stop = lines[last + 1].end
        self._commit(remove_block(self._text, start, stop, nl))

    def _remove_structured(self, name: str) -> None:
        """The entry is not a plain ``[path.name]`` table (dotted keys, a value in
        ``[path]``, sub-tables): let tomlkit take it out."""
        import tomlkit

        table = self._container()
        del table[name]
        self._commit(tomlkit.dumps(self._doc))
