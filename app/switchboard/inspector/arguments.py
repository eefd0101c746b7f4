"""``switchboard call NAME TOOL --arg key=value ...``: typed arguments from the tool's
input schema (MCP 2025-11-25 ``server/tools``: ``tools/call`` ``arguments`` is an object
that must fit ``inputSchema``).

Each value is read as its field's JSON Schema type says: numbers and integers as JSON
numbers, booleans from ``true/false/yes/no/1/0``, enum values by their text, arrays by
repeating the key (``--arg tag=a --arg tag=b``) or as one JSON array, objects and
untyped fields as JSON (an untyped field that is not JSON is a string). ``a.b=1`` sets a
nested object's field. Bad input raises :class:`ArgumentsError` naming the key and what
to type instead; :func:`check` validates the whole object against the schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from switchboard.core.errors import ValidationError
from switchboard.inspector.schema_form import (
    FieldSpec,
    field_spec,
    parse_number,
    validate,
)

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class ArgumentsError(ValidationError):
    """A ``--arg``/``--json`` value that does not fit the tool's input schema."""


def parse_json_arguments(text: str) -> dict[str, Any]:
    """``--json '{...}'``: one JSON object."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ArgumentsError(
            f"--json is not valid JSON: {exc}.", hint="Pass one object, e.g. --json '{\"a\": 1}'."
        ) from None
    if not isinstance(value, dict):
        raise ArgumentsError(
            "--json must be a JSON object (the tool's arguments).",
            hint="Wrap the values in {...}, e.g. --json '{\"a\": 1}'.",
        )
    return value


def parse_pairs(schema: Mapping[str, Any] | None, pairs: Sequence[str]) -> dict[str, Any]:
    """``key=value`` strings -> the arguments object, typed by ``schema``."""
    root = field_spec(schema if isinstance(schema, Mapping) else {}, required=True)
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ArgumentsError(
                f"Invalid argument {pair!r}.", hint="Use --arg KEY=VALUE (e.g. --arg a=1)."
            )
        parts = key.split(".")
        target = out
        spec: FieldSpec | None = root
        for i, part in enumerate(parts):
            sub = spec.prop(part) if spec is not None and spec.kind == "object" else None
            if sub is None and spec is not None and spec.kind == "object" and spec.closed:
                known = ", ".join(k for k, _ in spec.properties) or "none"
                raise ArgumentsError(
                    f"The tool has no argument {'.'.join(parts[: i + 1])!r}.",
                    hint=f"Its arguments: {known} (see 'switchboard tools').",
                )
            if i == len(parts) - 1:
                _put(target, part, key, text, sub)
            else:
                nxt = target.setdefault(part, {})
                if not isinstance(nxt, dict):
                    raise ArgumentsError(
                        f"Argument {'.'.join(parts[: i + 1])!r} is given twice.",
                        hint="Give it once, as an object or by its fields.",
                    )
                target, spec = nxt, sub
    return out


def _put(target: dict[str, Any], part: str, key: str, text: str, spec: FieldSpec | None) -> None:
    if spec is not None and spec.kind == "array" and spec.items is not None:
        if text.lstrip().startswith("["):
            target[part] = _json(key, text)
        else:
            items = target.setdefault(part, [])
            items.append(_typed(key, text, spec.items))
        return
    if part in target:
        raise ArgumentsError(
            f"Argument {key!r} is given twice.",
            hint="Repeat a key only for array arguments.",
        )
    target[part] = _typed(key, text, spec)


def _typed(key: str, text: str, spec: FieldSpec | None) -> Any:
    kind = spec.kind if spec is not None else "json"
    if spec is not None and spec.nullable and text == "null":
        return None
    if kind == "string":
        return text
    if kind in ("number", "integer"):
        try:
            return parse_number(text, integer=kind == "integer")
        except ValueError as exc:
            raise ArgumentsError(
                f"Argument {key!r}: {exc}",
                hint=f"It is {'an integer' if kind == 'integer' else 'a number'}, e.g. {key}=2.",
            ) from None
    if kind == "boolean":
        low = text.strip().lower()
        if low in _TRUE or low in _FALSE:
            return low in _TRUE
        raise ArgumentsError(
            f"Argument {key!r}: {text!r} is not true or false.", hint=f"Use {key}=true."
        )
    if kind == "enum" and spec is not None:
        for value in spec.enum:
            if (value if isinstance(value, str) else json.dumps(value)) == text:
                return value
        choices = ", ".join(v if isinstance(v, str) else json.dumps(v) for v in spec.enum)
        raise ArgumentsError(f"Argument {key!r}: {text!r} is not one of {choices}.")
    if kind in ("object", "array"):
        return _json(key, text)
    try:  # untyped: JSON when it is JSON, else the text
        return json.loads(text)
    except ValueError:
        return text


def _json(key: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ArgumentsError(
            f"Argument {key!r} is not valid JSON: {exc}.",
            hint=f"Objects and arrays are JSON, e.g. {key}='{{\"x\": 1}}'.",
        ) from None


def check(schema: Mapping[str, Any] | None, arguments: Mapping[str, Any]) -> None:
    """Raise :class:`ArgumentsError` listing where ``arguments`` break ``schema``."""
    if not isinstance(schema, Mapping):
        return
    problems = validate(schema, dict(arguments))
    if problems:
        raise ArgumentsError(
            "The arguments do not fit the tool's input schema: "
            + "; ".join(str(p) for p in problems[:5])
            + ("" if len(problems) <= 5 else f" (and {len(problems) - 5} more)."),
            hint="See the tool's arguments with 'switchboard tools NAME --json'.",
        )


__all__ = ["ArgumentsError", "check", "parse_json_arguments", "parse_pairs"]
