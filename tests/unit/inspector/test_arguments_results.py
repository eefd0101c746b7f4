"""``--arg key=value`` typed by the tool's schema (inspector/arguments.py) and what a
result holds (inspector/results.py)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from switchboard.inspector.arguments import (
    ArgumentsError,
    check,
    parse_json_arguments,
    parse_pairs,
)
from switchboard.inspector.results import (
    annotation_badges,
    as_text,
    prompt_result,
    read_result,
    tool_result,
)

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "count": {"type": "integer"},
        "ratio": {"type": "number"},
        "on": {"type": "boolean"},
        "mode": {"enum": ["fast", "slow", 3]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "sizes": {"type": "array", "items": {"type": "integer"}},
        "owner": {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "label": {"type": ["string", "null"]}},
            "additionalProperties": False,
        },
        "extra": {},
    },
    "additionalProperties": False,
}


def test_values_are_typed_by_the_schema() -> None:
    got = parse_pairs(
        SCHEMA,
        [
            "name=007",
            "count=3",
            "ratio=2.5",
            "on=yes",
            "mode=3",
            "tags=a",
            "tags=b=c",
            "sizes=[1, 2]",
            "owner.id=9",
            "owner.label=null",
            'extra={"x": 1}',
        ],
    )
    assert got == {
        "name": "007",
        "count": 3,
        "ratio": 2.5,
        "on": True,
        "mode": 3,
        "tags": ["a", "b=c"],
        "sizes": [1, 2],
        "owner": {"id": 9, "label": None},
        "extra": {"x": 1},
    }
    check(SCHEMA, got)
    assert parse_pairs({}, ["free=text", "n=1"]) == {"free": "text", "n": 1}


@pytest.mark.parametrize(
    ("pair", "said"),
    [
        ("count=2.5", "not a whole number"),
        ("ratio=lots", "not a number"),
        ("on=maybe", "not true or false"),
        ("mode=medium", "not one of fast, slow, 3"),
        ("nope=1", "no argument 'nope'"),
        ("owner.nope=1", "no argument 'owner.nope'"),
        ("sizes=[1,", "not valid JSON"),
        ("novalue", "Use --arg KEY=VALUE"),
    ],
)
def test_bad_values_say_which_and_how(pair: str, said: str) -> None:
    with pytest.raises(ArgumentsError) as info:
        parse_pairs(SCHEMA, [pair])
    assert said in str(info.value)


def test_given_twice_and_schema_check() -> None:
    with pytest.raises(ArgumentsError, match="given twice"):
        parse_pairs(SCHEMA, ["name=a", "name=b"])
    with pytest.raises(ArgumentsError, match="count: 'x' is not of type 'integer'"):
        check(SCHEMA, {"count": "x"})
    with pytest.raises(ArgumentsError, match="must be a JSON object"):
        parse_json_arguments("[1]")
    with pytest.raises(ArgumentsError, match="not valid JSON"):
        parse_json_arguments("{")
    assert parse_json_arguments('{"a": 1}') == {"a": 1}


def test_results_and_badges() -> None:
    png = base64.b64encode(b"\x89PNG....").decode()
    outcome = tool_result(
        {
            "content": [
                {"type": "text", "text": "hi"},
                {"type": "image", "data": png, "mimeType": "image/png"},
                {"type": "resource", "resource": {"uri": "a://b", "blob": png}},
                {"type": "mystery"},
            ],
            "structuredContent": {"n": 1},
            "isError": True,
        }
    )
    assert outcome.is_error and [b.kind for b in outcome.blocks] == [
        "text",
        "image",
        "resource",
        "json",
    ]
    text = as_text(outcome)
    assert text.startswith("hi\n[image image/png, 8 bytes]\n[resource a://b] 8 bytes\n{")
    assert text.endswith('{\n  "n": 1\n}')
    assert tool_result("garbage").is_error
    prompt = prompt_result(
        {
            "description": "d",
            "messages": [{"role": "user", "content": {"type": "text", "text": "q"}}],
        }
    )
    assert as_text(prompt) == "user: q" and prompt.description == "d"
    read = read_result({"contents": [{"uri": "x://1", "mimeType": "text/plain", "text": "body"}]})
    assert as_text(read) == "[resource x://1 text/plain]\nbody"

    closed = {"readOnlyHint": True, "openWorldHint": False}
    assert annotation_badges({"annotations": closed}) == ["read-only"]
    # MCP defaults: destructive and open-world unless said otherwise.
    assert annotation_badges({"annotations": {}}) == ["destructive", "open-world"]
    assert annotation_badges(
        {"annotations": {"destructiveHint": False, "idempotentHint": True, "openWorldHint": True}}
    ) == ["idempotent", "open-world"]
    assert annotation_badges({}) == []
