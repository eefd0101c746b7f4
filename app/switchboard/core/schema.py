"""Type checks for documents that become frozen dataclasses (config file, control API).

TOML and JSON give us ``str``, ``int``, ``float``, ``bool``, lists and tables; the value
types in :mod:`switchboard.core.spec` say what each field must be. :func:`check_fields`
compares the two from the dataclass annotations, so a field added to a spec is checked
without writing a rule for it. Nothing is coerced: ``autostart = "false"`` is an error
(a non-empty string is truthy and would start the server), not ``False``.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Mapping
from typing import Any

from switchboard.core.errors import ValidationError

Path = tuple[str | int, ...]


def check_table(value: Any, path: Path, what: str) -> Mapping[str, Any]:
    """``value`` must be a table (TOML) / object (JSON)."""
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"{_where(path)} must be a table, not {_kind(value)}.",
            hint=f"Write it as a [{what}] section with key = value lines.",
            path=path,
        )
    return value


def check_fields(cls: type, data: Mapping[str, Any], path: Path = ()) -> None:
    """Raise ValidationError (with ``path``) for the first value of the wrong type."""
    hints = _hints(cls)
    for key, value in data.items():
        expected = hints.get(key)
        if expected is None:
            continue  # unknown keys are reported by the caller with the list of known ones
        problem = _problem(expected, value)
        if problem:
            raise ValidationError(
                f"{_where((*path, key))} must be {problem}, not {_kind(value)} {_show(value)}.",
                hint="Fix the value (strings in quotes, true/false without quotes).",
                path=(*path, key),
            )


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _problem(expected: Any, value: Any) -> str:
    """What ``value`` should have been ("a string", ...), or "" when it fits."""
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(expected) if a is not type(None)]
        wanted = [_problem(a, value) for a in options]
        return "" if value is None or not all(wanted) else " or ".join(wanted)
    if expected is bool:
        return "" if isinstance(value, bool) else "true or false"
    if expected is int:
        return "" if isinstance(value, int) and not isinstance(value, bool) else "a whole number"
    if expected is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return "" if ok else "a number"
    if expected is str:
        return "" if isinstance(value, str) else "a string"
    if isinstance(expected, type) and issubclass(expected, enum.Enum):
        choices = [m.value for m in expected]
        return "" if value in choices else "one of " + ", ".join(map(repr, choices))
    if origin in (tuple, list):
        ok = isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
        return "" if ok else "a list of strings"
    if origin in (Mapping, dict):
        ok = isinstance(value, Mapping) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        )
        return "" if ok else "a table of strings"
    if dataclasses.is_dataclass(expected):
        return "" if isinstance(value, Mapping) else "a table"
    return ""  # a type this checker does not know: the dataclass validates it


def _where(path: Path) -> str:
    if not path:
        return "The document"
    out = ""
    for part in path:
        out += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if out else part)
    return f"'{out}'"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a table"
    return type(value).__name__


def _show(value: Any) -> str:
    text = repr(value)
    return f"({text})" if len(text) <= 40 else f"({text[:37]}...)"


__all__ = ["check_fields", "check_table"]
