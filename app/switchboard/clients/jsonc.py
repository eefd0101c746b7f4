"""A small comment-preserving editor for JSON and JSONC files.

MCP clients keep their settings in JSON with comments and trailing commas (VS Code,
Zed, OpenCode, ...). No maintained Python library edits such files without dropping
comments, so this does what VS Code's ``jsonc-parser`` ``modify`` does: parse the text
into nodes that know their character offsets, then change only the bytes of the one
member being set or removed. Everything else - comments, blank lines, key order,
indentation, unknown keys - stays byte for byte.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from typing import Any

from switchboard.core.errors import ClientConfigError


@dataclasses.dataclass(slots=True)
class Node:
    """A parsed value: ``start``/``end`` are offsets into the text (end exclusive)."""

    kind: str  # "object" | "array" | "scalar"
    start: int
    end: int
    value: Any = None
    members: list[Member] = dataclasses.field(default_factory=list)
    items: list[Node] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(slots=True)
class Member:
    """One ``"key": value`` of an object; ``comma`` is the offset of its comma or -1."""

    key: str
    key_start: int
    value: Node
    comma: int = -1


class _Parser:
    _NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.pos = 0
        self.source = source

    def fail(self, what: str) -> ClientConfigError:
        line = self.text.count("\n", 0, self.pos) + 1
        col = self.pos - (self.text.rfind("\n", 0, self.pos) + 1) + 1
        return ClientConfigError(
            f"{self.source} is not valid JSON: {what} at line {line}, column {col}.",
            hint="Fix the file (or restore its backup); Switchboard leaves it untouched.",
        )

    def skip(self) -> None:
        """Skip whitespace and comments."""
        text, n = self.text, len(self.text)
        while self.pos < n:
            c = text[self.pos]
            if c in " \t\r\n\ufeff":
                self.pos += 1
            elif text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = n if end < 0 else end
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.fail("unterminated comment")
                self.pos = end + 2
            else:
                return

    def document(self) -> Node | None:
        self.skip()
        if self.pos >= len(self.text):
            return None
        node = self.value()
        self.skip()
        if self.pos < len(self.text):
            raise self.fail("unexpected text after the value")
        return node

    def value(self) -> Node:
        self.skip()
        if self.pos >= len(self.text):
            raise self.fail("unexpected end of file")
        c = self.text[self.pos]
        if c == "{":
            return self.obj()
        if c == "[":
            return self.arr()
        if c == '"':
            start = self.pos
            text = self.string()
            return Node("scalar", start, self.pos, text)
        for word, val in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.pos):
                start = self.pos
                self.pos += len(word)
                return Node("scalar", start, self.pos, val)
        m = self._NUMBER.match(self.text, self.pos)
        if m:
            self.pos = m.end()
            return Node("scalar", m.start(), m.end(), json.loads(m.group()))
        raise self.fail(f"unexpected character {c!r}")

    def string(self) -> str:
        start = self.pos
        i = start + 1
        text, n = self.text, len(self.text)
        while i < n:
            c = text[i]
            if c == "\\":
                i += 2
                continue
            if c == '"':
                break
            if c == "\n":
                raise self.fail("line break inside a string")
            i += 1
        else:
            raise self.fail("unterminated string")
        self.pos = i + 1
        try:
            value = json.loads(text[start : i + 1])
        except ValueError:
            raise self.fail("invalid string escape") from None
        assert isinstance(value, str)
        return value

    def obj(self) -> Node:
        node = Node("object", self.pos, -1)
        self.pos += 1
        value: dict[str, Any] = {}
        while True:
            self.skip()
            if self.pos >= len(self.text):
                raise self.fail("unterminated object")
            if self.text[self.pos] == "}":
                self.pos += 1
                break
            if self.text[self.pos] != '"':
                raise self.fail("expected a quoted key")
            key_start = self.pos
            key = self.string()
            self.skip()
            if not self.text.startswith(":", self.pos):
                raise self.fail("expected ':'")
            self.pos += 1
            child = self.value()
            member = Member(key, key_start, child)
            node.members.append(member)
            value[key] = child.value
            self.skip()
            if self.text.startswith(",", self.pos):
                member.comma = self.pos
                self.pos += 1
            elif not self.text.startswith("}", self.pos):
                raise self.fail("expected ',' or '}'")
        node.end = self.pos
        node.value = value
        return node

    def arr(self) -> Node:
        node = Node("array", self.pos, -1)
        self.pos += 1
        values: list[Any] = []
        while True:
            self.skip()
            if self.pos >= len(self.text):
                raise self.fail("unterminated array")
            if self.text[self.pos] == "]":
                self.pos += 1
                break
            child = self.value()
            node.items.append(child)
            values.append(child.value)
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1
            elif not self.text.startswith("]", self.pos):
                raise self.fail("expected ',' or ']'")
        node.end = self.pos
        node.value = values
        return node


def parse(text: str, source: str = "The file") -> Any:
    """Parse JSON with comments and trailing commas into plain Python values."""
    root = _Parser(text, source).document()
    return None if root is None else root.value


class JsoncDocument:
    """Edits one JSON/JSONC text in place, touching only what changes."""

    def __init__(self, text: str, source: str = "The file") -> None:
        self.source = source
        self.text = text
        self._root = self._parse()

    def _parse(self) -> Node | None:
        return _Parser(self.text, self.source).document()

    @property
    def data(self) -> Any:
        return None if self._root is None else self._root.value

    # -- reading ----------------------------------------------------------------------
    def _find(self, path: Sequence[str]) -> Node | None:
        node = self._root
        for key in path:
            if node is None or node.kind != "object":
                return None
            node = next((m.value for m in reversed(node.members) if m.key == key), None)
        return node

    def get(self, path: Sequence[str]) -> Any:
        node = self._find(path)
        return None if node is None else node.value

    # -- editing ----------------------------------------------------------------------
    def set(self, path: Sequence[str], value: Any) -> bool:
        """Set the value at ``path`` (creating objects on the way). False if unchanged."""
        if not path:
            raise ValueError("empty path")
        if self._root is None:
            self.add_root()
        assert self._root is not None
        if self._root.kind != "object":
            raise ClientConfigError(
                f"{self.source} does not hold a JSON object at the top level.",
                hint="Fix the file; Switchboard leaves it untouched.",
            )
        node = self._root
        for i, key in enumerate(path):
            member = next((m for m in reversed(node.members) if m.key == key), None)
            rest = path[i + 1 :]
            if member is None:
                nested: Any = value
                for k in reversed(rest):
                    nested = {k: nested}
                self._insert(node, key, nested)
                return True
            if not rest:
                if member.value.value == value and type(member.value.value) is type(value):
                    return False
                self._replace(member, value)
                return True
            if member.value.kind != "object":
                nested = value
                for k in reversed(rest[1:]):
                    nested = {k: nested}
                self._replace(member, {rest[0]: nested})
                return True
            node = member.value
        return False  # pragma: no cover - loop always returns

    def remove(self, path: Sequence[str]) -> bool:
        """Remove the member at ``path``. False if it was not there."""
        if not path:
            raise ValueError("empty path")
        parent = self._find(path[:-1])
        if parent is None or parent.kind != "object":
            return False
        index = next((i for i, m in enumerate(parent.members) if m.key == path[-1]), None)
        if index is None:
            return False
        self._delete(parent, index)
        return True

    def add_root(self) -> None:
        """Give an empty or comments-only document a ``{}`` top-level object.

        It goes after the last non-blank character (on a line of its own), so
        :meth:`drop_root` can take exactly those bytes out again.
        """
        if self._root is not None:
            return
        end = len(self.text.rstrip())
        nl = self._nl
        new = ("{}" + nl) if end == 0 else (nl + "{}")
        self.text = self.text[:end] + new + self.text[end:]
        self._root = self._parse()

    def drop_root(self) -> bool:
        """Undo :meth:`add_root`: remove an empty ``{}`` top-level object (and the line
        break that came with it). False (nothing changed) when the object is not empty."""
        root = self._root
        if root is None or root.kind != "object" or root.end - root.start != 2:
            return False
        nl = self._nl
        start, end = root.start, root.end
        if start == 0 and self.text.startswith(nl, end):
            end += len(nl)
        elif self.text[max(0, start - len(nl)) : start] == nl:
            start -= len(nl)
        self.text = self.text[:start] + self.text[end:]
        self._root = self._parse()
        return True

    # -- text surgery -------------------------------------------------------------------
    def _apply(self, edits: list[tuple[int, int, str]]) -> None:
        for start, end, new in sorted(edits, key=lambda e: e[0], reverse=True):
            self.text = self.text[:start] + new + self.text[end:]
        self._root = self._parse()

    def _line_start(self, pos: int) -> int:
        return self.text.rfind("\n", 0, pos) + 1

    def _indent_of(self, pos: int) -> str:
        start = self._line_start(pos)
        m = re.match(r"[ \t]*", self.text[start:pos])
        return m.group() if m else ""

    def _unit(self) -> str:
        """The file's indentation step (detected; two spaces when there is none)."""
        for m in re.finditer(r"\n([ \t]+)[\"\]}{\[]", self.text):
            ws = m.group(1)
            return "\t" if ws.startswith("\t") else " " * len(ws)
        return "  "

    @property
    def _nl(self) -> str:
        """The file's line break (Windows files keep their CRLF)."""
        return "\r\n" if "\r\n" in self.text else "\n"

    def _dump(self, value: Any, indent: str) -> str:
        unit = self._unit()
        text = json.dumps(value, indent=unit, ensure_ascii=False)
        return text.replace("\n", self._nl + indent)

    def _replace(self, member: Member, value: Any) -> None:
        indent = self._indent_of(member.key_start)
        node = member.value
        self._apply([(node.start, node.end, self._dump(value, indent))])

    def _end_of_line(self, pos: int) -> int | None:
        """Offset of the newline ending ``pos``'s line if only blanks/comments follow."""
        text, n, i = self.text, len(self.text), pos
        while i < n:
            c = text[i]
            if c in " \t\r":
                i += 1
            elif c == "\n":
                return i - 1 if i > pos and text[i - 1] == "\r" else i
            elif text.startswith("//", i):
                end = text.find("\n", i)
                if end < 0:
                    return n
                return end - 1 if text[end - 1] == "\r" else end
            elif text.startswith("/*", i):
                end = text.find("*/", i + 2)
                if end < 0 or "\n" in text[i:end]:
                    return i
                i = end + 2
            else:
                return None
        return n

    def _insert(self, obj: Node, key: str, value: Any) -> None:
        key_text = json.dumps(key, ensure_ascii=False)
        if obj.members:
            last = obj.members[-1]
            indent = self._indent_of(last.key_start)
            after = last.comma + 1 if last.comma >= 0 else last.value.end
            eol = self._end_of_line(after)
            if eol is None or self.text.count("\n", last.value.end, obj.end) == 0:
                # Compact object on one line: {"a": 1} -> {"a": 1, "key": ...}, in the
                # object's own spacing (minified files stay minified).
                item_sep, key_sep = self._separators(obj)
                compact = json.dumps(value, ensure_ascii=False, separators=(item_sep, key_sep))
                new = f"{item_sep}{key_text}{key_sep}{compact}"
                self._apply([(last.value.end, last.value.end, new)])
                return
            new = f"{self._nl}{indent}{key_text}: {self._dump(value, indent)}"
            if last.comma >= 0:
                # Keep the file's trailing-comma style.
                self._apply([(eol, eol, new + ",")])
            elif eol == last.value.end:
                self._apply([(eol, eol, "," + new)])
            else:
                self._apply([(last.value.end, last.value.end, ","), (eol, eol, new)])
            return
        outer = self._indent_of(obj.start)
        if self.text.count("\n", obj.start, obj.end) == 0 and obj.start != self._line_start(
            obj.start
        ):
            # A member's value `{}`: indent from the line that holds it.
            outer = self._indent_of(obj.start)
        indent = outer + self._unit()
        new = f"{self._nl}{indent}{key_text}: {self._dump(value, indent)}"
        if self.text.count("\n", obj.start, obj.end) == 0:
            new += f"{self._nl}{outer}"
        self._apply([(obj.start + 1, obj.start + 1, new)])

    def _separators(self, obj: Node) -> tuple[str, str]:
        """(item, key) separators an object uses: ``", "``/``": "`` or minified."""
        first = obj.members[0]
        between = self.text[first.key_start : first.value.start]
        key_sep = ": " if between[-1:] in (" ", "\t") else ":"
        if first.comma >= 0 and len(obj.members) > 1:
            item_sep = ", " if self.text[first.comma + 1 : first.comma + 2] == " " else ","
        else:
            item_sep = ", " if key_sep == ": " else ","
        return item_sep, key_sep

    def _blank_between(self, start: int, end: int, *, comma: bool) -> bool:
        """Only spaces/tabs (and, if ``comma``, one comma) between the offsets."""
        gap = self.text[start:end]
        if comma:
            gap = gap.replace(",", "", 1)
        return not gap.strip(" \t")

    def _delete(self, obj: Node, index: int) -> None:
        """Remove one member; the exact inverse of :meth:`_insert` for what it inserted."""
        member = obj.members[index]
        start, end = member.key_start, member.value.end
        inner_start, inner_end = obj.start + 1, obj.end - 1
        nl = self._nl
        if len(obj.members) == 1:
            after = member.comma + 1 if member.comma >= 0 else end
            if not self.text[inner_start:start].strip() and not self.text[after:inner_end].strip():
                if self.text[after:inner_end] == nl + self._indent_of(obj.start) or (
                    "\n" not in self.text[inner_start:inner_end]
                ):
                    # Inserted into `{}`: back to `{}`.
                    self._apply([(inner_start, inner_end, "")])
                else:
                    # The object's own blank lines (Cline's default file) stay.
                    self._apply([(inner_start, after, "")])
                return
        if index > 0:
            prev = obj.members[index - 1]
            if "\n" not in self.text[prev.value.end : start] and self._blank_between(
                prev.value.end, start, comma=True
            ):
                # Same line as the previous member: `, "key": value` goes.
                self._apply([(prev.value.end, end, "")])
                return
        elif member.comma >= 0 and len(obj.members) > 1:
            nxt = obj.members[1]
            if "\n" not in self.text[end : nxt.key_start] and self._blank_between(
                end, nxt.key_start, comma=True
            ):
                self._apply([(start, nxt.key_start, "")])
                return
        edits: list[tuple[int, int, str]] = []
        if member.comma >= 0:
            end = member.comma + 1
        elif index > 0:
            prev = obj.members[index - 1]
            if prev.comma >= 0:
                edits.append((prev.comma, prev.comma + 1, ""))
        line_start = self._line_start(start)
        if not self.text[line_start:start].strip():
            eol = self._end_of_line(end)
            if eol is not None and not self.text[end:eol].strip():
                # The member had its own line(s): remove them whole.
                start = line_start
                end = eol + (2 if self.text.startswith("\r\n", eol) else 1)
                end = min(end, len(self.text))
        elif self.text[end : end + 1] == " ":
            end += 1
        edits.append((start, end, ""))
        self._apply(edits)
