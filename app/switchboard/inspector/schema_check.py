"""Checking values against a JSON Schema, for the Inspector's form and CLI.

:func:`validate` uses ``jsonschema`` with the dialect the schema's ``$schema`` names
(JSON Schema 2020-12 when it names none, as MCP 2025-11-25 ``server/tools`` says of a
tool's ``inputSchema``) and gives :class:`Problem` s, each with the path of the field it
is about; :func:`parse_number` reads what a person typed into a number field.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import jsonschema
import jsonschema.validators

Path = tuple[str | int, ...]


@dataclasses.dataclass(frozen=True)
class Problem:
    """Why a value does not fit; ``path`` names the field (``()``: the whole value)."""

    path: Path
    message: str

    @property
    def where(self) -> str:
        return path_text(self.path)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.path else self.message


def path_text(path: Path) -> str:
    """``a.b[0].c`` for a path (``""`` for the root)."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def parse_number(text: str, *, integer: bool) -> int | float:
    """``text`` as a JSON number (an integer for ``integer`` fields)."""
    raw = text.strip()
    try:
        number = float(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a number.") from None
    if not math.isfinite(number):
        raise ValueError(f"{raw!r} is not a finite number.")
    if integer:
        if not number.is_integer():
            raise ValueError(f"{raw!r} is not a whole number.")
        return int(number)
    plain = "." not in raw and "e" not in raw.lower()
    return int(number) if number.is_integer() and plain else number


def validate(schema: Mapping[str, Any], value: Any) -> list[Problem]:
    """Where ``value`` breaks ``schema`` (JSON Schema: the ``$schema`` dialect, 2020-12
    otherwise). An invalid schema is reported as one problem at the root."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return [Problem((), f"The tool's input schema is not valid JSON Schema: {exc.message}")]
    problems: list[Problem] = []
    for error in cls(schema).iter_errors(value):
        path: Path = tuple(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            for key in error.validator_value:
                if key not in error.instance:
                    problems.append(Problem((*path, key), "Required."))
            continue
        problems.append(Problem(path, error.message))
    problems.sort(key=lambda p: [str(x) for x in p.path])
    return problems


__all__ = ["Path", "Problem", "parse_number", "path_text", "validate"]
