"""GroupSpec: validation, defaults dropped, round trip, exposed tool names."""

from __future__ import annotations

import pytest

from switchboard.core.errors import ValidationError
from switchboard.core.group import (
    MAX_TOOL_NAME,
    GroupSpec,
    MemberChoices,
    Naming,
    ToolChoice,
    exposed_name,
)
from switchboard.core.spec import AuthMode, ServerSpec


def test_round_trip_keeps_choices_and_drops_defaults() -> None:
    spec = GroupSpec(
        name="dev",
        servers=("time", "everything"),
        naming=Naming.PRIORITY,
        lean=True,
        choices={
            "everything": MemberChoices(
                tools={
                    "echo": ToolChoice(enabled=False),
                    "add": ToolChoice(rename="plus", description="Adds."),
                    "noop": ToolChoice(),
                },
                prompts_off=frozenset({"simple_prompt"}),
            ),
            "time": MemberChoices(),
        },
    )
    assert set(spec.choices) == {"everything"}
    assert "noop" not in spec.choices["everything"].tools
    doc = spec.to_dict()
    assert doc["choices"]["everything"]["tools"]["echo"] == {"enabled": False}
    assert GroupSpec.from_dict(doc) == spec
    assert spec.member("time").tool("anything") == ToolChoice()
    assert GroupSpec(name="g").to_dict() == {"name": "g", "servers": []}


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ({"name": "g", "servers": "time"}, ("servers",)),
        ({"name": "g", "lean": "yes"}, ("lean",)),
        ({"name": "g", "naming": "alphabetical"}, ("naming",)),
        ({"name": "g", "colour": "red"}, ("colour",)),
        ({"name": "g", "choices": {"t": {"tools": {"x": {"enabled": "no"}}}}}, None),
        ({"name": "g", "choices": {"t": {"tools": {"x": {"hidden": True}}}}}, None),
        ({"name": "g", "choices": {"t": {"prompts_off": "p"}}}, None),
    ],
)
def test_bad_documents_name_the_key(doc: dict[str, object], path: tuple[str, ...] | None) -> None:
    with pytest.raises(ValidationError) as info:
        GroupSpec.from_dict(doc, ("groups", 0))
    assert info.value.path[:2] == ("groups", 0)
    if path is not None:
        assert info.value.path[2:] == path


def test_invalid_groups_are_refused() -> None:
    with pytest.raises(ValidationError, match="twice"):
        GroupSpec(name="g", servers=("a", "a"))
    with pytest.raises(ValidationError, match="Invalid group name"):
        GroupSpec(name="Bad Name")
    with pytest.raises(ValidationError, match="external"):
        GroupSpec(name="g", auth=AuthMode.EXTERNAL)
    with pytest.raises(ValidationError, match="tool name"):
        ToolChoice(rename="has space")


def test_exposed_names_follow_the_tool_name_rules() -> None:
    assert exposed_name("time", "get_current_time") == "time__get_current_time"
    assert exposed_name("srv", "a/b c") == "srv__a_b_c"
    long_a = exposed_name("s", "x" * 200)
    long_b = exposed_name("s", "x" * 199 + "y")
    assert len(long_a) == len(long_b) == MAX_TOOL_NAME
    assert long_a != long_b


def test_kinds_name_the_gateway_path() -> None:
    assert GroupSpec.kind == "groups"
    assert ServerSpec.kind == "servers"
    assert GroupSpec(name="g").external_issuer is None


def test_edits_return_new_values_and_drop_what_is_back_to_default() -> None:
    spec = GroupSpec(name="g", servers=("a", "b"))
    off = spec.with_tool("a", "echo", enabled=False)
    assert not off.member("a").tool("echo").enabled
    assert spec.member("a").tool("echo").enabled  # unchanged original
    renamed = off.with_tool("a", "echo", rename="say", description="Says.")
    assert renamed.member("a").tool("echo") == ToolChoice(False, "say", "Says.")
    back = renamed.with_tool("a", "echo", enabled=True, rename=None, description=None)
    assert back.choices == {}
    p = spec.with_prompt("b", "hello", False)
    assert p.member("b").prompts_off == {"hello"}
    assert p.with_prompt("b", "hello", True).choices == {}
    r = spec.with_resource("b", "file:///x", False)
    assert r.member("b").resources_off == {"file:///x"}
    assert r.with_resource("b", "file:///x", True).choices == {}
    assert off.with_servers(("b",)).choices == {}
    assert off.with_servers(("a", "c")).servers == ("a", "c")
