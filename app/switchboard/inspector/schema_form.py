"""A tool's input schema as a form: JSON Schema -> field tree -> the JSON value it makes.

MCP 2025-11-25 ``server/tools``: a tool's ``inputSchema`` is a JSON Schema (2020-12 when
it names no ``$schema``) whose root is ``"type": "object"``. This module is Qt-free: the
Inspector's widgets (``ui/inspector/``) draw one editor per :class:`Node`, the CLI
(``arguments.py``) reads the same :class:`FieldSpec` tree to type ``--arg key=value``.

- :func:`field_spec` turns a schema into :class:`FieldSpec` values: strings, numbers,
  integers, booleans, enums (``enum``/``const``), arrays, nested objects; local ``$ref``
  (JSON Pointer, RFC 6901) is followed; ``type: [T, "null"]`` and ``anyOf``/``oneOf`` with
  ``null`` are a nullable ``T``; anything else (no type, unions, recursion too deep) is a
  raw-JSON field.
- :class:`Node` is a field with its state (what the person typed, whether an optional
  field is included); :meth:`Node.to_json` is the value it makes, :meth:`Node.load` fills
  it from a value (the raw-JSON editor's text going back to the form).
- :func:`validate` (``schema_check.py``) checks a value against the schema with
  ``jsonschema`` (the dialect its ``$schema`` names, JSON Schema 2020-12 otherwise) and
  gives :class:`Problem` s, each with the path of the field it is about.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from typing import Any, Final

from switchboard.inspector.schema_check import Path, Problem, parse_number, path_text, validate


class _Missing:
    """No value: an optional field left out of the arguments."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()
KINDS = ("string", "number", "integer", "boolean", "enum", "array", "object", "json")
MAX_DEPTH = 8
"""Deeper (or recursive) schemas become a raw-JSON field."""


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """One field of the form, as the schema describes it."""

    kind: str
    schema: Mapping[str, Any]
    title: str = ""
    description: str = ""
    required: bool = False
    default: Any = MISSING
    enum: tuple[Any, ...] = ()
    nullable: bool = False
    format: str = ""
    properties: tuple[tuple[str, FieldSpec], ...] = ()
    items: FieldSpec | None = None

    def prop(self, name: str) -> FieldSpec | None:
        for key, spec in self.properties:
            if key == name:
                return spec
        return None

    @property
    def closed(self) -> bool:
        """An object that allows no properties beyond the listed ones."""
        return self.schema.get("additionalProperties") is False


# -- schema -> specs -------------------------------------------------------------------
def _pointer(root: Mapping[str, Any], ref: str) -> Mapping[str, Any] | None:
    """Resolve a local ``#/...`` reference (RFC 6901 JSON Pointer); None if it is not."""
    if not ref.startswith("#"):
        return None
    node: Any = root
    for raw in ref[1:].split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node if isinstance(node, Mapping) else None


def _deref(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any] | None:
    seen = 0
    while isinstance(schema.get("$ref"), str):
        target = _pointer(root, schema["$ref"])
        if target is None or seen > MAX_DEPTH:
            return None
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **rest}
        seen += 1
    return schema


def _is_null(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("type") == "null"


def field_spec(
    schema: Any,
    *,
    root: Mapping[str, Any] | None = None,
    required: bool = False,
    name: str = "",
    depth: int = 0,
) -> FieldSpec:
    """The form field for ``schema`` (``root``: where ``$ref`` s point into)."""
    if schema is True or not isinstance(schema, Mapping):
        schema = {}
    root = schema if root is None else root
    resolved = _deref(schema, root)
    if resolved is None or depth > MAX_DEPTH:
        return FieldSpec("json", schema, name, str(schema.get("description") or ""), required)
    schema = resolved
    nullable = False
    for union in ("anyOf", "oneOf"):
        options = schema.get(union)
        if isinstance(options, list):
            real = [o for o in options if not _is_null(o)]
            if len(real) == 1 and len(options) == 2:
                nullable = True
                inner = _deref(real[0], root) if isinstance(real[0], Mapping) else None
                if inner is None:
                    return FieldSpec("json", schema, name, "", required)
                rest = {k: v for k, v in schema.items() if k != union}
                schema = {**inner, **rest}
            else:
                return _make("json", schema, name, required, nullable)
    all_of = schema.get("allOf")
    if isinstance(all_of, list):
        if len(all_of) != 1 or not isinstance(all_of[0], Mapping):
            return _make("json", schema, name, required, nullable)
        inner = _deref(all_of[0], root) or {}
        schema = {**inner, **{k: v for k, v in schema.items() if k != "allOf"}}
    kind = schema.get("type")
    if isinstance(kind, list):
        types = [t for t in kind if t != "null"]
        nullable = nullable or len(types) < len(kind)
        kind = types[0] if len(types) == 1 else None
    if "enum" in schema and isinstance(schema["enum"], list) and schema["enum"]:
        values = [v for v in schema["enum"] if v is not None]
        nullable = nullable or len(values) < len(schema["enum"])
        return _make("enum", schema, name, required, nullable, enum=tuple(values))
    if "const" in schema:
        return _make("enum", schema, name, required, nullable, enum=(schema["const"],))
    if kind is None and isinstance(schema.get("properties"), Mapping):
        kind = "object"
    if kind == "object":
        props = schema.get("properties")
        needed = schema.get("required")
        needed = set(needed) if isinstance(needed, list) else set()
        fields = tuple(
            (
                key,
                field_spec(sub, root=root, required=key in needed, name=key, depth=depth + 1),
            )
            for key, sub in (props.items() if isinstance(props, Mapping) else ())
            if isinstance(key, str)
        )
        open_ended = not fields and schema.get("additionalProperties") not in (None, False)
        if open_ended:  # a free-form map: edited as JSON
            return _make("json", schema, name, required, nullable)
        return _make("object", schema, name, required, nullable, properties=fields)
    if kind == "array":
        items = schema.get("items")
        if not isinstance(items, Mapping):  # tuple forms (prefixItems, items: [...]) as JSON
            return _make("json", schema, name, required, nullable)
        item = field_spec(items, root=root, required=True, name="", depth=depth + 1)
        return _make("array", schema, name, required, nullable, items=item)
    if kind in ("string", "number", "integer", "boolean"):
        return _make(kind, schema, name, required, nullable)
    return _make("json", schema, name, required, nullable)


def _make(
    kind: str,
    schema: Mapping[str, Any],
    name: str,
    required: bool,
    nullable: bool,
    **more: Any,
) -> FieldSpec:
    return FieldSpec(
        kind,
        schema,
        title=str(schema.get("title") or name),
        description=str(schema.get("description") or ""),
        required=required,
        default=schema.get("default", MISSING),
        nullable=nullable,
        format=str(schema.get("format") or ""),
        **more,
    )


# -- state ----------------------------------------------------------------------------
class Node:
    """A field and what the person entered in it."""

    def __init__(self, spec: FieldSpec, path: Path = ()) -> None:
        self.spec = spec
        self.path = path
        self.error = ""
        """Why the text typed here is not a value (\"not a number\"); "" when it is."""
        self.text = ""
        self.value: Any = MISSING
        self.touched = False
        self.children: dict[str, Node] = {}
        self.items: list[Node] = []
        if spec.kind == "object":
            self.children = {k: Node(s, (*path, k)) for k, s in spec.properties}
        self.reset()

    @property
    def kind(self) -> str:
        return self.spec.kind

    def reset(self) -> None:
        """Back to the schema's default (shown, not sent unless required or changed)."""
        self.error = ""
        self.touched = False
        self.items = []
        default = self.spec.default
        self.value = MISSING
        self.text = ""
        if self.kind in ("string", "number", "integer", "json") and default is not MISSING:
            self.text = default if self.kind == "string" else json.dumps(default)
        if self.kind == "boolean":
            self.value = default if isinstance(default, bool) else False
        if self.kind == "enum" and self.spec.required and default is MISSING:
            self.value = self.spec.enum[0]
        elif self.kind == "enum" and default is not MISSING:
            self.value = default
        for child in self.children.values():
            child.reset()

    # -- editing --------------------------------------------------------------------
    def set_text(self, text: str) -> None:
        """What the person typed into a string, number, integer or JSON field."""
        self.text = text
        self.touched = True
        self.error = ""
        if self.kind in ("number", "integer") and text.strip():
            try:
                parse_number(text, integer=self.kind == "integer")
            except ValueError as exc:
                self.error = str(exc)
        elif self.kind == "json" and text.strip():
            try:
                json.loads(text)
            except ValueError as exc:
                self.error = f"Not valid JSON: {exc}."

    def set_value(self, value: Any) -> None:
        """A boolean's or an enum's choice (:data:`MISSING`: leave the field out)."""
        self.value = value
        self.touched = True

    def add_item(self) -> Node:
        assert self.spec.items is not None
        node = Node(self.spec.items, (*self.path, len(self.items)))
        self.items.append(node)
        self.touched = True
        return node

    def remove_item(self, index: int) -> None:
        del self.items[index]
        for i, node in enumerate(self.items):
            node.repath((*self.path, i))
        self.touched = True

    def repath(self, path: Path) -> None:
        self.path = path
        for key, child in self.children.items():
            child.repath((*path, key))
        for i, item in enumerate(self.items):
            item.repath((*path, i))

    # -- the value ------------------------------------------------------------------
    def to_json(self) -> Any:
        """The JSON value this field makes, or :data:`MISSING` (left out)."""
        kind = self.kind
        if kind == "string":
            if not self.touched and (self.text == "" or not self.spec.required):
                return MISSING  # untouched: required ones say so; the server applies defaults
            if self.text == "" and not self.spec.required:
                return MISSING
            return self.text
        if kind in ("number", "integer", "json"):
            if not self.text.strip() or self.error:
                return MISSING
            if not self.touched and not self.spec.required:
                return MISSING  # the default, shown: the server applies it itself
            if kind == "json":
                return json.loads(self.text)
            return parse_number(self.text, integer=kind == "integer")
        if kind in ("boolean", "enum"):
            if self.value is MISSING:
                return MISSING
            if not self.touched and not self.spec.required:
                return MISSING
            return self.value
        if kind == "array":
            if not self.items and not self.touched and not self.spec.required:
                return MISSING
            return [v for v in (i.to_json() for i in self.items) if v is not MISSING]
        out = {}
        for key, child in self.children.items():
            value = child.to_json()
            if value is not MISSING:
                out[key] = value
        if not out and not self.spec.required and self.path:
            return MISSING
        return out

    def parse_errors(self) -> Iterator[Problem]:
        if self.error:
            yield Problem(self.path, self.error)
        for child in self.children.values():
            yield from child.parse_errors()
        for item in self.items:
            yield from item.parse_errors()

    def find(self, path: Path) -> Node | None:
        node: Node | None = self
        for part in path:
            if node is None:
                return None
            if isinstance(part, int):
                node = node.items[part] if 0 <= part < len(node.items) else None
            else:
                node = node.children.get(part)
        return node

    def load(self, value: Any) -> bool:
        """Fill the field from ``value`` (False, changing nothing, when the form cannot
        show it: then the raw-JSON editor keeps it)."""
        if not self._fits(value):
            return False
        self._load(value)
        return True

    def _fits(self, value: Any) -> bool:
        kind = self.kind
        if value is MISSING:
            return True
        if kind == "json":
            return True
        if kind == "string":
            return isinstance(value, str)
        if kind == "number":
            return isinstance(value, int | float) and not isinstance(value, bool)
        if kind == "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        if kind == "boolean":
            return isinstance(value, bool)
        if kind == "enum":
            return any(_same(value, e) for e in self.spec.enum)
        if kind == "array":
            if not isinstance(value, list):
                return False
            item = Node(self.spec.items) if self.spec.items is not None else None
            return item is not None and all(item._fits(v) for v in value)
        if not isinstance(value, dict):
            return False
        return all(k in self.children and self.children[k]._fits(v) for k, v in value.items())

    def _load(self, value: Any) -> None:
        self.reset()
        if value is MISSING:
            return
        kind = self.kind
        if kind == "string":
            self.set_text(value)
        elif kind in ("number", "integer", "json"):
            self.set_text(json.dumps(value))
        elif kind in ("boolean", "enum"):
            self.set_value(value)
        elif kind == "array":
            self.touched = True
            for v in value:
                self.add_item()._load(v)
        else:
            for key, child in self.children.items():
                child._load(value.get(key, MISSING))
            self.touched = bool(value)


def _same(a: Any, b: Any) -> bool:
    return (type(a) is type(b) and a == b) or (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
        and a == b
    )


class SchemaForm:
    """A tool's whole arguments form (the root object's :class:`Node`)."""

    def __init__(self, schema: Mapping[str, Any] | None) -> None:
        self.schema: Mapping[str, Any] = schema if isinstance(schema, Mapping) else {}
        spec = field_spec(self.schema, required=True)
        if spec.kind != "object":  # MCP requires an object root; anything else is JSON
            spec = dataclasses.replace(spec, kind="json", required=True)
        self.root = Node(spec)

    def value(self) -> Any:
        value = self.root.to_json()
        return {} if value is MISSING else value

    def problems(self) -> list[Problem]:
        """Text that is not a value first; else what the schema says of the value."""
        typed = list(self.root.parse_errors())
        return typed or validate(self.schema, self.value())

    def load(self, value: Any) -> bool:
        return self.root.load(value)


def example_value(spec: FieldSpec) -> Any:
    """A value that fits ``spec`` (its default when it has one): "fill in an example"."""
    if spec.default is not MISSING:
        return spec.default
    schema = spec.schema
    if spec.kind == "enum":
        return spec.enum[0]
    if spec.kind == "string":
        examples = schema.get("examples")
        if isinstance(examples, list) and examples and isinstance(examples[0], str):
            return examples[0]
        by_format = {
            "uri": "https://example.com/",
            "url": "https://example.com/",
            "email": "someone@example.com",
            "date": "2026-01-01",
            "date-time": "2026-01-01T00:00:00Z",
            "uuid": "00000000-0000-4000-8000-000000000000",
        }
        text = by_format.get(spec.format, "example")
        low = schema.get("minLength")
        if isinstance(low, int) and len(text) < low:
            text = text + "x" * (low - len(text))
        high = schema.get("maxLength")
        if isinstance(high, int):
            text = text[:high]
        return text
    if spec.kind in ("number", "integer"):
        number: float = 1
        low, high = schema.get("minimum"), schema.get("maximum")
        if isinstance(low, int | float):
            number = max(number, low)
        if isinstance(high, int | float):
            number = min(number, high)
        return int(number) if spec.kind == "integer" else number
    if spec.kind == "boolean":
        return True
    if spec.kind == "array":
        count = schema.get("minItems")
        count = count if isinstance(count, int) and count > 0 else 1
        assert spec.items is not None
        return [example_value(spec.items) for _ in range(count)]
    if spec.kind == "object":
        return {key: example_value(sub) for key, sub in spec.properties}
    return {}


__all__ = [
    "KINDS",
    "MISSING",
    "FieldSpec",
    "Node",
    "Path",
    "Problem",
    "SchemaForm",
    "example_value",
    "field_spec",
    "parse_number",
    "path_text",
    "validate",
]
