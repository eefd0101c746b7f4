"""The comment-preserving JSONC editor."""

from __future__ import annotations

import json

import pytest

from switchboard.clients.jsonc import JsoncDocument, parse
from switchboard.core.errors import ClientConfigError


def test_parse_handles_comments_trailing_commas_and_escapes() -> None:
    text = '// c\n{"a": "x // not a comment", /* b */ "b": [1, 2,], "c": "\\u00e9\\"",}\n'
    assert parse(text) == {"a": "x // not a comment", "b": [1, 2], "c": 'é"'}


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ('{"a": 1', "expected ',' or '}'"),
        ('{"a": 1,', "unterminated object"),
        ('{"a" 1}', "expected ':'"),
        ("{a: 1}", "expected a quoted key"),
        ('{"a": 1} x', "unexpected text"),
        ('{"a": /* open', "unterminated comment"),
        ('{"a": "x\n"}', "line break inside a string"),
    ],
)
def test_errors_name_line_and_column(text: str, what: str) -> None:
    with pytest.raises(ClientConfigError, match=what) as info:
        JsoncDocument(text, "cfg.json")
    assert "cfg.json" in info.value.message
    assert "line" in info.value.message


def test_set_replaces_only_the_value_bytes() -> None:
    text = '{\n  // keep\n  "a": {"old": true}, // note\n  "b": 2\n}\n'
    doc = JsoncDocument(text)
    assert doc.set(["a"], 5)
    assert doc.text == '{\n  // keep\n  "a": 5, // note\n  "b": 2\n}\n'
    assert not doc.set(["a"], 5)


def test_insert_keeps_trailing_comma_style_and_tabs() -> None:
    doc = JsoncDocument('{\n\t"s": {\n\t\t"x": 1,\n\t},\n}')
    doc.set(["s", "y"], {"k": "v"})
    assert doc.text == '{\n\t"s": {\n\t\t"x": 1,\n\t\t"y": {\n\t\t\t"k": "v"\n\t\t},\n\t},\n}'
    assert parse(doc.text) == {"s": {"x": 1, "y": {"k": "v"}}}


def test_insert_after_a_line_comment_goes_after_the_comment() -> None:
    doc = JsoncDocument('{\n  "a": 1 // one\n}')
    doc.set(["b"], 2)
    assert doc.text == '{\n  "a": 1, // one\n  "b": 2\n}'


def test_compact_objects_stay_compact() -> None:
    doc = JsoncDocument('{"a": {"x": 1}}')
    doc.set(["a", "y"], [1, 2])
    assert doc.text == '{"a": {"x": 1, "y": [1, 2]}}'


def test_set_through_a_non_object_replaces_it() -> None:
    doc = JsoncDocument('{\n  "mcpServers": null\n}')
    doc.set(["mcpServers", "a"], {"url": "u"})
    assert parse(doc.text) == {"mcpServers": {"a": {"url": "u"}}}


def test_empty_and_whitespace_files_become_objects() -> None:
    for text in ("", "  \n"):
        doc = JsoncDocument(text)
        doc.set(["a", "b"], 1)
        assert json.loads(doc.text) == {"a": {"b": 1}}


def test_top_level_array_is_refused() -> None:
    with pytest.raises(ClientConfigError, match="top level"):
        JsoncDocument("[1]").set(["a"], 1)


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('{\n  "a": 1,\n  "b": 2\n}', "a", '{\n  "b": 2\n}'),
        ('{\n  "a": 1,\n  "b": 2\n}', "b", '{\n  "a": 1\n}'),
        ('{\n  "a": 1,\n  "b": 2,\n}', "b", '{\n  "a": 1,\n}'),
        ('{"a": 1, "b": 2}', "a", '{"b": 2}'),
        ('{\n  "a": {\n    "x": 1\n  }\n}', "a", "{}"),
        ('{\n  "a": 1, // about a\n  "b": 2\n}', "b", '{\n  "a": 1 // about a\n}'),
    ],
)
def test_remove(text: str, key: str, expected: str) -> None:
    doc = JsoncDocument(text)
    assert doc.remove([key])
    assert doc.text == expected
    assert not doc.remove([key])


def test_duplicate_keys_last_one_wins_like_json() -> None:
    doc = JsoncDocument('{"a": 1, "a": 2}')
    assert doc.get(["a"]) == 2


def test_windows_line_endings_are_kept() -> None:
    text = '{\r\n  "a": 1, // one\r\n  "s": {\r\n    "x": 1\r\n  }\r\n}\r\n'
    doc = JsoncDocument(text)
    doc.set(["s", "y"], {"url": "u"})
    doc.set(["b"], 2)
    assert "\n" not in doc.text.replace("\r\n", "")
    assert parse(doc.text) == {"a": 1, "s": {"x": 1, "y": {"url": "u"}}, "b": 2}
    doc.remove(["s", "y"])
    doc.remove(["b"])
    assert doc.text == text
