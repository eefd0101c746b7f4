"""Which URIs an RFC 6570 URI template expands to, decided in linear time.

A group routes ``resources/read`` of a URI that no member listed to the member whose
``resources/templates/list`` has a template matching it (``naming.py``). The templates
come from the member servers, so they are untrusted: a regular expression built from
``x{+a}y{+b}y{+c}y...`` backtracks exponentially on a URI like ``xyyyy...`` and would
hold the gateway's event loop (every server and group) for minutes. Here a template is
a sequence of literals and expressions, and a URI is matched by tracking the set of
positions reachable after each part: O(len(template) x len(uri)), no backtracking.

Expressions (RFC 6570 §3.2, levels 1-4, as far as routing needs): a simple ``{var}``
is one path segment (no ``/ ? #``), ``{+var}`` / ``{#var}`` anything, ``{/var}`` zero or
more ``/segment``, ``{.var}`` zero or more ``.label``, ``{;var}`` zero or more ``;param``,
``{?a,b}`` / ``{&a}`` an optional query part starting with ``?`` or ``&``.
"""

from __future__ import annotations

import dataclasses
import re

MAX_TEMPLATE = 2048
"""A longer template matches nothing (no real one is anywhere near; it bounds the work)."""

MAX_URI = 16384
"""A longer URI matches no template (it is scanned once per part of each template; a
client may send megabytes). Listed resources are routed by their exact URI."""

_EXPR = re.compile(r"\{([+#./;?&]?)([^}]*)\}")


@dataclasses.dataclass(frozen=True, slots=True)
class _Expr:
    """An expression's expansion: empty, or a string whose first character is in
    ``first`` (None: any character not in ``never``) and whose others are not in
    ``never``."""

    first: str | None
    never: str


_KINDS = {
    "": _Expr(None, "/?#"),
    "+": _Expr(None, ""),
    "#": _Expr(None, ""),
    "/": _Expr("/", "?#"),
    ".": _Expr(".", "/?#"),
    ";": _Expr(";", "/?#"),
    "?": _Expr("?&", ""),
    "&": _Expr("?&", ""),
}


class TemplateMatcher:
    """``fullmatch(uri)``: does the template expand to ``uri``?"""

    __slots__ = ("_parts", "template")

    def __init__(self, template: str) -> None:
        self.template = template
        self._parts: list[str | _Expr] | None = None
        if len(template) > MAX_TEMPLATE:
            return
        parts: list[str | _Expr] = []
        last = 0
        for match in _EXPR.finditer(template):
            if match.start() > last:
                parts.append(template[last : match.start()])
            parts.append(_KINDS[match.group(1)])
            last = match.end()
        if last < len(template):
            parts.append(template[last:])
        self._parts = parts

    def fullmatch(self, uri: str) -> bool:
        if self._parts is None or len(uri) > MAX_URI:
            return False
        n = len(uri)
        reach = [False] * (n + 1)
        reach[0] = True
        for part in self._parts:
            after = [False] * (n + 1)
            if isinstance(part, str):
                size = len(part)
                for i in range(n - size + 1):
                    if reach[i] and uri.startswith(part, i):
                        after[i + size] = True
            else:
                first, never = part.first, part.never
                going = False  # a non-empty expansion can continue through position j
                for j in range(n + 1):
                    if reach[j] or going:
                        after[j] = True
                    if j == n:
                        break
                    char = uri[j]
                    starts = reach[j] and (
                        char in first if first is not None else char not in never
                    )
                    going = starts or (going and char not in never)
            reach = after
            if not any(reach):
                return False
        return reach[n]
