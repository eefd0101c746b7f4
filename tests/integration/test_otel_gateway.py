"""OpenTelemetry end to end: the real ``mcp`` SDK client calls a real server
(mcp-server-time from PyPI) through the gateway, directly and through a group, with
``settings.otlp_endpoint`` set on a running engine; a local OTLP/HTTP receiver gets a
span per request (the member call's span a child of the group's).

The spans come from the gateway's per-request hook, which is the activity recorder's
(issue 15.2, ``core/activity.py``): this test runs once that hook is on the branch and
the composition root hands the gateway ``FanOut(activity recorder, telemetry)``."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from switchboard.core.group import GroupSpec
from switchboard.core.spec import AuthMode
from switchboard.engine import Engine
from tests.fixtures.gw_helpers import add_started
from tests.helpers.otlp import attrs, otlp_receiver

pytest.importorskip(
    "switchboard.core.activity", reason="the gateway's per-request hook (issue 15.2) is not here"
)
pytestmark = pytest.mark.timeout(120)

TIME_SERVER = str(Path(sys.executable).with_name("mcp-server-time"))


async def test_gateway_calls_become_spans(engine: Engine) -> None:
    assert engine.telemetry is not None
    with otlp_receiver() as receiver:
        settings = dataclasses.replace(engine.config.settings, otlp_endpoint=receiver.url)
        await engine.update_settings(settings)
        url = await add_started(engine, "time", TIME_SERVER, ("--local-timezone", "UTC"))
        await engine.add_group(GroupSpec(name="work", servers=("time",), auth=AuthMode.OFF))
        async with Client(url) as client:
            await client.call_tool("get_current_time", {"timezone": "Europe/Paris"})
        async with Client(engine.group_url("work")) as client:
            await client.call_tool("time__get_current_time", {"timezone": "UTC"})
        engine.telemetry.flush()
        spans = receiver.wait_spans(3)
        named: dict[str, list[Any]] = {}
        for span in spans:
            named.setdefault(span.name, []).append(span)
        [direct] = named["tools/call get_current_time"]
        assert attrs(direct)["switchboard.server"] == "time"
        assert attrs(direct)["gen_ai.tool.name"] == "get_current_time"
        assert attrs(direct)["switchboard.outcome"] == "ok"
        assert direct.end_time_unix_nano > direct.start_time_unix_nano
        [group] = named["groups/work tools/call get_current_time"]
        [member] = named["time tools/call get_current_time"]
        assert member.parent_span_id == group.span_id
        assert attrs(member)["switchboard.group"] == "work"
        assert "initialize" not in named or all(
            attrs(s)["mcp.method.name"] == "initialize" for s in named["initialize"]
        )
        await asyncio.to_thread(engine.telemetry.close)  # before the receiver goes
