"""A group's merged lists (gateway/groups/naming.py), cursors (pages.py) and lean
meta-tools (lean.py): pure logic, no servers."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.core.group import GroupSpec, MemberChoices, Naming, ToolChoice
from switchboard.gateway.groups import lean, pages
from switchboard.gateway.groups.naming import Listing, Route, merge, template_pattern


def tool(name: str, description: str = "") -> dict[str, Any]:
    return {"name": name, "description": description or f"{name} tool", "inputSchema": {}}


A = Listing(
    "a",
    tools=(tool("echo"), tool("add")),
    prompts=({"name": "greet"},),
    resources=({"uri": "file:///a", "name": "a"}, {"uri": "mem://shared", "name": "s"}),
    templates=({"uriTemplate": "a://items/{id}", "name": "item"},),
    capabilities={"tools": {}, "prompts": {}, "resources": {"subscribe": True}},
    instructions="Use a.",
)
B = Listing(
    "b",
    tools=(tool("echo"), tool("time")),
    prompts=({"name": "greet"},),
    resources=({"uri": "mem://shared", "name": "s2"},),
    capabilities={"tools": {"listChanged": True}, "logging": {}},
)


def test_prefix_naming_exposes_every_tool_under_its_server() -> None:
    merged = merge(GroupSpec("g", servers=("a", "b")), {"a": A, "b": B})
    assert [t["name"] for t in merged.tools] == ["a__echo", "a__add", "b__echo", "b__time"]
    assert merged.tool_routes["b__echo"] == Route("b", "echo")
    assert [p["name"] for p in merged.prompts] == ["a__greet", "b__greet"]
    assert merged.hidden == {}


def test_priority_naming_earlier_member_wins_and_the_loser_is_reported() -> None:
    spec = GroupSpec("g", servers=("b", "a"), naming=Naming.PRIORITY)
    merged = merge(spec, {"a": A, "b": B})
    assert [t["name"] for t in merged.tools] == ["echo", "time", "add"]
    assert merged.tool_routes["echo"] == Route("b", "echo")
    assert merged.hidden["echo"] == ("a", "collision")
    a_view = next(m for m in merged.members if m["server"] == "a")
    assert a_view["tools"][0] == {
        "name": "echo",
        "exposed": None,
        "enabled": True,
        "description": "echo tool",
        "hidden_by": "collision",
    }


def test_manual_naming_hides_both_until_one_is_renamed() -> None:
    spec = GroupSpec("g", servers=("a", "b"), naming=Naming.MANUAL)
    merged = merge(spec, {"a": A, "b": B})
    assert "echo" not in merged.tool_routes
    assert {t["name"] for t in merged.tools} == {"add", "time"}
    renamed = spec.with_choices("b", MemberChoices(tools={"echo": ToolChoice(rename="b_echo")}))
    merged = merge(renamed, {"a": A, "b": B})
    assert merged.tool_routes["echo"] == Route("a", "echo")
    assert merged.tool_routes["b_echo"] == Route("b", "echo")


def test_filter_rename_and_description_override() -> None:
    spec = GroupSpec(
        "g",
        servers=("a", "b"),
        choices={
            "a": MemberChoices(
                tools={
                    "add": ToolChoice(enabled=False),
                    "echo": ToolChoice(rename="say", description="Says it"),
                },
                prompts_off=frozenset({"greet"}),
                resources_off=frozenset({"file:///a"}),
            )
        },
    )
    merged = merge(spec, {"a": A, "b": B})
    names = [t["name"] for t in merged.tools]
    assert names == ["say", "b__echo", "b__time"]
    assert merged.tools[0]["description"] == "Says it"
    assert A.tools[0]["description"] == "echo tool"  # the server's own list is untouched
    assert merged.hidden["a__add"] == ("a", "filter")
    assert [p["name"] for p in merged.prompts] == ["b__greet"]
    assert "file:///a" not in merged.resource_routes
    view = merged.members[0]
    assert view["tools"][1]["hidden_by"] == "filter" and view["tools"][1]["exposed"] is None
    assert view["prompts"][0]["hidden_by"] == "filter"
    assert view["resources"][0]["hidden_by"] == "filter"


def test_resources_keep_uris_earlier_member_wins_templates_route() -> None:
    merged = merge(GroupSpec("g", servers=("a", "b")), {"a": A, "b": B})
    assert merged.resource_routes == {"file:///a": "a", "mem://shared": "a"}
    assert merged.resource_server("a://items/42") == "a"
    assert merged.resource_server("a://other/42") is None
    b_view = merged.members[1]
    assert b_view["resources"][0]["hidden_by"] == "collision"


def test_down_member_is_absent_but_its_names_are_known() -> None:
    down = Listing("b", state="stopped", tools=B.tools, error="Server 'b' is stopped.")
    merged = merge(GroupSpec("g", servers=("a", "b")), {"a": A, "b": down})
    assert all(not t["name"].startswith("b__") for t in merged.tools)
    assert merged.down_names["b__time"] == "b"
    missing = merge(GroupSpec("g", servers=("a", "zz")), {"a": A})
    assert missing.members[1]["state"] == "missing"


def test_capabilities_are_merged_and_always_announce_list_changes() -> None:
    merged = merge(GroupSpec("g", servers=("a", "b")), {"a": A, "b": B})
    assert merged.capabilities["tools"] == {"listChanged": True}
    assert merged.capabilities["resources"] == {"subscribe": True, "listChanged": True}
    assert "logging" in merged.capabilities
    assert merged.instructions == "a: Use a."
    empty = merge(GroupSpec("g"), {})
    assert empty.capabilities == {"tools": {"listChanged": True}}


def test_uri_template_patterns() -> None:
    assert template_pattern("file:///{path}").fullmatch("file:///x")
    assert not template_pattern("file:///{path}").fullmatch("file:///x/y")
    assert template_pattern("file:///{+path}").fullmatch("file:///x/y")
    assert template_pattern("q://s{?a,b}").fullmatch("q://s?a=1&b=2")
    assert template_pattern("q://s{?a,b}").fullmatch("q://s")
    assert template_pattern("x://a.b/{id}").fullmatch("x://a.b/1")
    assert not template_pattern("x://a.b/{id}").fullmatch("x://aXb/1")


def test_pages_and_cursors() -> None:
    items = list(range(5))
    first = pages.page(items, "tools", {}, size=2)
    assert first["tools"] == [0, 1]
    second = pages.page(items, "tools", {"cursor": first["nextCursor"]}, size=2)
    third = pages.page(items, "tools", {"cursor": second["nextCursor"]}, size=2)
    assert second["tools"] == [2, 3] and third == {"tools": [4]}
    for bad in ("nope", 12, "Zzzz", pages.encode(99)):
        with pytest.raises(pages.BadCursor):
            pages.page(items, "tools", {"cursor": bad}, size=2)


def test_lean_search_ranks_name_words_over_description_words() -> None:
    tools = [
        tool("fs__read_file", "Read a file from disk"),
        tool("time__get_current_time", "Current time in a timezone"),
        tool("web__fetch", "Fetch a URL; can read pages"),
    ]
    found = lean.search(tools, "read file")
    assert [t["name"] for t in found] == ["fs__read_file", "web__fetch"]
    assert found[0]["inputSchema"] == {}
    assert lean.search(tools, "timezone")[0]["name"] == "time__get_current_time"
    assert lean.search(tools, "zebra") == []
    assert len(lean.search(tools, "", limit=2)) == 2
    result = lean.search_result(found)
    assert result["structuredContent"]["tools"] == found
    assert [t["name"] for t in lean.META_TOOLS] == ["search_tools", "call_tool"]
