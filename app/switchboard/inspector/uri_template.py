"""Resource templates (MCP 2025-11-25 ``server/resources``: ``uriTemplate`` is an RFC
6570 URI template): the variables the Inspector asks for, and the URI they make."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

_VAR = re.compile(r"\{([^{}]*)\}")


def template_variables(template: str) -> list[str] | None:
    """The variables of a URI template whose expressions are all simple ``{name}`` or
    ``{+name}`` (RFC 6570 levels 1-2); None for anything else (then the URI is typed)."""
    names = []
    for expr in _VAR.findall(template):
        name = expr[1:] if expr.startswith("+") else expr
        if not re.fullmatch(r"[A-Za-z0-9_.%]+", name):
            return None
        names.append(name)
    return names


def expand_template(template: str, values: dict[str, Any]) -> str:
    """RFC 6570 simple (``{x}``: percent-encoded) and reserved (``{+x}``) expansion."""

    def one(m: re.Match[str]) -> str:
        expr = m.group(1)
        reserved = expr.startswith("+")
        value = str(values.get(expr[1:] if reserved else expr, ""))
        return urllib.parse.quote(value, safe=":/?#[]@!$&'()*+,;=" if reserved else "")

    return _VAR.sub(one, template)


__all__ = ["expand_template", "template_variables"]
