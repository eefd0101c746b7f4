"""The Inspector's form model (inspector/schema_form.py): every tool schema of
server-everything (tests/fixtures/inspector/everything-2026.8.31.json, its tools/list)
gives a form whose value validates against the schema once filled, and the schema
shapes that server does not use (arrays, nested objects, $ref, nullable unions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from switchboard.inspector.schema_form import (
    MISSING,
    FieldSpec,
    Node,
    SchemaForm,
    example_value,
    field_spec,
    validate,
)

FIXTURE = Path(__file__).parents[2] / "fixtures" / "inspector" / "everything-2026.8.31.json"
EVERYTHING: dict[str, Any] = json.loads(FIXTURE.read_text("utf-8"))
TOOLS = {t["name"]: t for t in EVERYTHING["tools"]}


def fill(node: Node, value: Any) -> None:
    """Enter ``value`` the way a person does in the widgets: typing text into text
    fields, picking booleans and enum values, adding array items."""
    kind = node.kind
    if kind == "string":
        node.set_text(value)
    elif kind in ("number", "integer", "json"):
        node.set_text(json.dumps(value))
    elif kind in ("boolean", "enum"):
        node.set_value(value)
    elif kind == "array":
        for v in value:
            fill(node.add_item(), v)
    else:
        for key, v in value.items():
            fill(node.children[key], v)


def test_fixture_holds_every_tool() -> None:
    assert EVERYTHING["version"] == "2026.8.31"
    assert len(TOOLS) == 16 and "trigger-long-running-operation" in TOOLS


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_every_everything_tool_form_validates_when_filled(name: str) -> None:
    schema = TOOLS[name]["inputSchema"]
    form = SchemaForm(schema)
    assert form.root.kind == "object"
    # Filled with an example of every field (required and optional): valid.
    example = example_value(form.root.spec)
    fill(form.root, example)
    value = form.value()
    assert value == example
    assert form.problems() == []
    assert validate(schema, value) == []


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_every_everything_tool_form_untouched(name: str) -> None:
    """Untouched, the form sends only required fields (defaults are the server's): valid
    exactly when the schema requires nothing the form cannot pick by itself."""
    schema = TOOLS[name]["inputSchema"]
    form = SchemaForm(schema)
    value = form.value()
    required = set(schema.get("required", []))
    assert set(value) <= required
    problems = form.problems()
    missing = {p.path[0] for p in problems}
    for key in required:
        spec = form.root.spec.prop(key)
        assert spec is not None
        if spec.kind == "enum":  # a required enum starts at its first value
            assert value[key] == spec.enum[0] and key not in missing
        else:
            assert key in missing and any(p.message == "Required." for p in problems)


def test_required_number_typed_wrong_is_a_field_error() -> None:
    form = SchemaForm(TOOLS["get-sum"]["inputSchema"])
    form.root.children["a"].set_text("two")
    form.root.children["b"].set_text("3")
    problems = form.problems()
    assert [(p.path, p.message) for p in problems] == [(("a",), "'two' is not a number.")]
    form.root.children["a"].set_text("2.5")
    assert form.problems() == []
    assert form.value() == {"a": 2.5, "b": 3}


def test_enum_and_bounds_checked_by_the_schema() -> None:
    schema = TOOLS["get-resource-links"]["inputSchema"]
    form = SchemaForm(schema)
    form.root.children["count"].set_text("11")
    (problem,) = form.problems()
    assert problem.path == ("count",) and "11" in problem.message
    assert str(problem).startswith("count: ")


def test_defaults_shown_not_sent() -> None:
    form = SchemaForm(TOOLS["trigger-long-running-operation"]["inputSchema"])
    duration = form.root.children["duration"]
    assert duration.text == "10"
    assert form.value() == {}
    duration.set_text("2")
    assert form.value() == {"duration": 2}


NESTED: dict[str, Any] = {
    "type": "object",
    "$defs": {
        "point": {
            "type": "object",
            "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
            "required": ["x", "y"],
            "additionalProperties": False,
        }
    },
    "properties": {
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "points": {"type": "array", "items": {"$ref": "#/$defs/point"}},
        "owner": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 2},
                "email": {"type": ["string", "null"], "format": "email"},
            },
            "required": ["name"],
        },
        "mode": {"anyOf": [{"enum": ["fast", "slow"]}, {"type": "null"}]},
        "level": {"const": 3},
        "extra": {"type": "object", "additionalProperties": {"type": "number"}},
        "any": {},
        "choice": {"oneOf": [{"type": "string"}, {"type": "number"}]},
    },
    "required": ["tags", "owner"],
}


def test_nested_shapes_become_fields() -> None:
    root = field_spec(NESTED, required=True)
    kinds = {k: s.kind for k, s in root.properties}
    assert kinds == {
        "tags": "array",
        "points": "array",
        "owner": "object",
        "mode": "enum",
        "level": "enum",
        "extra": "json",
        "any": "json",
        "choice": "json",
    }
    points = root.prop("points")
    assert points is not None and points.items is not None
    assert points.items.kind == "object" and points.items.closed
    owner = root.prop("owner")
    assert owner is not None
    email = owner.prop("email")
    assert isinstance(email, FieldSpec) and email.kind == "string" and email.nullable
    mode = root.prop("mode")
    assert mode is not None and mode.nullable and mode.enum == ("fast", "slow")


def test_nested_form_value_and_paths() -> None:
    form = SchemaForm(NESTED)
    root = form.root
    problems = {p.where: p.message for p in form.problems()}
    assert set(problems) == {"owner.name", "tags"} and problems["owner.name"] == "Required."
    fill(root.children["tags"], ["a", "b"])
    pt = root.children["points"].add_item()
    pt.children["x"].set_text("1")
    pt.children["y"].set_text("1.5")
    assert [p.where for p in form.problems()] == ["points[0].y"]
    pt.children["y"].set_text("2")
    root.children["owner"].children["name"].set_text("x")
    (short,) = form.problems()
    assert short.where == "owner.name"
    root.children["owner"].children["name"].set_text("Ann")
    root.children["extra"].set_text('{"w": 1.5}')
    root.children["mode"].set_value("slow")
    assert form.problems() == []
    assert form.value() == {
        "tags": ["a", "b"],
        "points": [{"x": 1, "y": 2}],
        "owner": {"name": "Ann"},
        "extra": {"w": 1.5},
        "mode": "slow",
    }
    root.children["points"].remove_item(0)
    assert form.value()["points"] == []
    root.children["extra"].set_text("{nope")
    (bad,) = form.problems()
    assert bad.where == "extra" and bad.message.startswith("Not valid JSON")


def test_raw_json_loads_back_into_the_form() -> None:
    form = SchemaForm(NESTED)
    value = {"tags": ["x"], "owner": {"name": "Bo", "email": "b@example.com"}, "points": []}
    assert form.load(value)
    assert form.value() == value
    assert form.problems() == []
    # A value the form cannot show (an unknown property of a closed object, a wrong
    # type) is refused and the form left as it was.
    assert not form.load({"tags": [1]})
    assert not form.load({"points": [{"x": 1, "y": 2, "z": 3}]})
    assert form.value() == value


def test_example_respects_bounds_and_formats() -> None:
    spec = field_spec(
        {
            "type": "object",
            "properties": {
                "n": {"type": "integer", "minimum": 5},
                "s": {"type": "string", "minLength": 10},
                "u": {"type": "string", "format": "uri"},
                "list": {"type": "array", "items": {"type": "number"}, "minItems": 2},
            },
        }
    )
    value = example_value(spec)
    assert value["n"] == 5 and len(value["s"]) >= 10 and value["u"].startswith("https://")
    assert value["list"] == [1, 1]
    assert validate(spec.schema, value) == []


def test_broken_or_odd_schemas_never_raise() -> None:
    for schema in (
        None,
        {},
        {"type": "object", "properties": {"a": {"$ref": "#/nowhere"}}},
        {"type": "object", "properties": {"self": {"$ref": "#"}}},
        {"type": "string"},
        {"type": "object", "properties": {"a": {"type": "array", "items": [{"type": "string"}]}}},
    ):
        form = SchemaForm(schema)
        form.value()
        form.problems()
    bad = SchemaForm({"type": "object", "properties": {"a": {"type": 5}}})
    (problem,) = bad.problems()
    assert "not valid JSON Schema" in problem.message


def test_missing_is_falsy_and_single() -> None:
    assert not MISSING and repr(MISSING) == "MISSING"
