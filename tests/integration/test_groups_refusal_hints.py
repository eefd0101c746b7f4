"""A call to a tool or prompt switched off in a group says the exact command that
switches it on again, with the member's own name (QA, issue 14): it said '...'."""

from __future__ import annotations

import asyncio

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from switchboard.core.group import GroupSpec, MemberChoices, ToolChoice
from switchboard.core.spec import AuthMode
from switchboard.engine import Engine
from tests.conftest import fixture_cmd
from tests.fixtures.gw_helpers import add_started

pytestmark = pytest.mark.timeout(120)


async def test_switched_off_tool_error_names_the_command_to_switch_it_on(engine: Engine) -> None:
    cmd, args = fixture_cmd("gw_sampling_server.py")
    await add_started(engine, "a", cmd, args)
    await add_started(engine, "b", cmd, args)
    await engine.add_group(
        GroupSpec(
            name="g",
            servers=("a", "b"),
            auth=AuthMode.OFF,
            choices={"a": MemberChoices(tools={"echo": ToolChoice(enabled=False)})},
        )
    )
    async with Client(engine.group_url("g")) as client:
        with pytest.raises(MCPError) as err:
            await asyncio.wait_for(client.call_tool("a__echo", {"text": "x"}), 60)
    assert "'switchboard group tool on g a echo'" in str(err.value)


async def test_a_switched_off_resource_is_not_read_through_a_template(engine: Engine) -> None:
    """core/group.py: a resource switched off is refused without reaching the server,
    also when one of the member's URI templates matches it."""
    cmd, args = fixture_cmd("gw_conformance_server.py")
    await add_started(engine, "conf", cmd, args)
    echo, echo_args = fixture_cmd("echo_server.py")
    await add_started(engine, "echo", echo, echo_args)
    off = "test://template/7/data"
    await engine.add_group(
        GroupSpec(
            name="g",
            servers=("conf", "echo"),
            auth=AuthMode.OFF,
            choices={"conf": MemberChoices(resources_off=frozenset({off, "test://static-text"}))},
        )
    )
    async with Client(engine.group_url("g")) as client:
        for uri in (off, "test://static-text"):
            with pytest.raises(MCPError) as err:
                await asyncio.wait_for(client.read_resource(uri), 60)
            assert "switched off" in str(err.value)
            assert f"'switchboard group resource on g conf {uri}'" in str(err.value)
        read = await asyncio.wait_for(client.read_resource("test://template/8/data"), 60)
        assert "Data for ID: 8" in str(read.contents[0])
