"""A hostile member server must not break the group's other members (issue 14, QA).

A group of the real ``mcp-server-time`` (PyPI) and ``tests/fixtures/hostile_member.py``
(a raw stdio JSON-RPC server that misbehaves per mode), served by the real gateway and
used with the official ``mcp`` SDK client.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import mcp_types as types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from switchboard.core.group import GroupSpec, Naming
from switchboard.core.spec import AuthMode
from switchboard.engine import Engine
from switchboard.gateway.groups import uritemplate
from switchboard.gateway.groups.naming import template_pattern
from tests.conftest import fixture_cmd
from tests.fixtures.gw_helpers import add_started

pytestmark = pytest.mark.timeout(120)

TIME_SERVER = str(Path(sys.executable).with_name("mcp-server-time"))
TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
WAIT = 60.0
"""Generous bound on the test's own waits (a hang fails the test, not the run)."""


async def _group(engine: Engine, mode: str, **kw: object) -> str:
    cmd, args = fixture_cmd("hostile_member.py", mode)
    await add_started(engine, "bad", cmd, args)
    await add_started(engine, "time", TIME_SERVER, ("--local-timezone", "UTC"))
    await engine.add_group(
        GroupSpec(name="g", servers=("bad", "time"), auth=AuthMode.OFF, **kw)  # type: ignore[arg-type]
    )
    return engine.group_url("g")


def _text(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def _time_works(client: Client) -> None:
    result = await client.call_tool("time__get_current_time", {"timezone": "UTC"})
    assert not result.is_error
    assert "UTC" in _text(result)


async def test_a_member_that_never_answers_its_lists_does_not_hold_the_group(
    engine: Engine,
) -> None:
    url = await _group(engine, "hang")
    await asyncio.wait_for(engine.gateway.server_listing("time"), WAIT)  # fetched, cached
    engine.gateway.groups.listings.wait = 0.5  # seconds a member's lists are waited for

    async def use() -> None:
        async with Client(url) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert "time__get_current_time" in names
            await _time_works(client)

    await asyncio.wait_for(use(), WAIT)
    listing = await asyncio.wait_for(engine.gateway.group_listing("g"), WAIT)
    bad = next(m for m in listing["members"] if m["server"] == "bad")
    assert "did not answer" in bad["error"]


async def test_odd_tool_names_are_exposed_unique_and_within_the_tool_name_rules(
    engine: Engine,
) -> None:
    url = await _group(engine, "odd")
    async with Client(url) as client:
        names = [t.name for t in (await asyncio.wait_for(client.list_tools(), WAIT)).tools]
        assert len(names) == len(set(names)), names
        assert all(TOOL_NAME.match(n) for n in names), names
        assert "bad__None" not in names  # a tool without a name is not a tool
        # Names like the lean meta-tools are the member's own, under its prefix.
        called = await client.call_tool("bad__call_tool", {})
        assert _text(called) == '{"called": "call_tool"}'
        await _time_works(client)


@pytest.mark.filterwarnings("ignore::UserWarning")  # logging: deprecated, still sent
async def test_a_member_that_never_answers_set_level_does_not_hold_the_client(
    engine: Engine,
) -> None:
    url = await _group(engine, "odd")
    engine.gateway.groups.listings.wait = 0.5
    async with Client(url) as client:
        await asyncio.wait_for(client.call_tool("bad__dup", {}), WAIT)  # its session opens
        await asyncio.wait_for(client.set_logging_level("info"), WAIT)
        await asyncio.wait_for(_time_works(client), WAIT)


async def test_lean_group_meta_tools_stay_the_groups_when_a_member_has_the_same_names(
    engine: Engine,
) -> None:
    url = await _group(engine, "odd", lean=True, naming=Naming.PRIORITY)
    async with Client(url) as client:
        names = [t.name for t in (await asyncio.wait_for(client.list_tools(), WAIT)).tools]
        assert names == ["search_tools", "call_tool"]
        via = await client.call_tool(
            "call_tool", {"name": "get_current_time", "arguments": {"timezone": "UTC"}}
        )
        assert "UTC" in _text(via)
        # The member's own "call_tool" is reached through the meta-tool, by its name.
        own = await client.call_tool("call_tool", {"name": "call_tool", "arguments": {}})
        assert _text(own) == '{"called": "call_tool"}'


async def test_a_list_changed_flood_leaves_the_group_usable(engine: Engine) -> None:
    url = await _group(engine, "flood")
    async with Client(url) as client:
        await asyncio.wait_for(client.list_tools(), WAIT)
        await asyncio.sleep(0.5)  # let the flood arrive
        names = {t.name for t in (await asyncio.wait_for(client.list_tools(), WAIT)).tools}
        assert "time__get_current_time" in names
        await asyncio.wait_for(_time_works(client), WAIT)


def test_uri_templates_from_members_match_in_linear_time() -> None:
    """``x{+a}y{+a}y...!`` against ``xyyy...``: a backtracking regex never finishes."""
    hostile = template_pattern("x" + "{+a}y" * 12 + "!")
    assert not hostile.fullmatch("x" + "y" * 400)
    assert hostile.fullmatch("x" + "y" * 12 + "!")
    slashes = template_pattern("x" + "{/a}" * 30 + "!")
    assert not slashes.fullmatch("x" + "/" * 400 + "?")


@pytest.mark.parametrize(
    ("template", "uri", "matches"),
    [
        ("file:///{path}", "file:///x", True),
        ("file:///{path}", "file:///x/y", False),
        ("file:///{path}", "file:///", True),
        ("file:///{+path}", "file:///x/y", True),
        ("q://s{?a,b}", "q://s?a=1&b=2", True),
        ("q://s{?a,b}", "q://s", True),
        ("q://s{?a,b}", "q://sx", False),
        ("x://a.b/{id}", "x://a.b/1", True),
        ("x://a.b/{id}", "x://aXb/1", False),
        ("m://{/seg}", "m:///a/b", True),
        ("m://{/seg}", "m://a", False),
        ("m://h{.ext}", "m://h.tar.gz", True),
        ("m://h{.ext}", "m://h.a/b", False),
        ("m://h{;p}", "m://h;x=1;y", True),
        ("m://h{#f}", "m://h#frag/x", True),
        ("a{b}c{d}e", "a1c2e", True),
        ("a{b}c{d}e", "a1c2", False),
        ("plain://uri", "plain://uri", True),
        ("plain://uri", "plain://urix", False),
    ],
)
def test_uri_template_matching_follows_rfc6570_expressions(
    template: str, uri: str, matches: bool
) -> None:
    assert bool(template_pattern(template).fullmatch(uri)) is matches


async def test_a_member_template_built_to_backtrack_does_not_stall_the_gateway(
    engine: Engine,
) -> None:
    url = await _group(engine, "redos")
    async with Client(url) as client:
        with pytest.raises(MCPError):
            await asyncio.wait_for(client.read_resource("x" + "y" * 400), WAIT)
        await asyncio.wait_for(_time_works(client), WAIT)


def test_uri_templates_do_not_scan_megabyte_uris() -> None:
    """A client's URI is scanned once per template part: a 4 MB one held the loop for
    seconds per template. URIs over the bound match no template (listed ones still do)."""

    matcher = template_pattern("file:///{+path}")
    assert matcher.fullmatch("file:///" + "a" * 1000)
    assert not matcher.fullmatch("file:///" + "a" * uritemplate.MAX_URI)
