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
