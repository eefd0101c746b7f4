"""The Inspector's engine side and CLI against a real engine serving the real
``@modelcontextprotocol/server-everything`` (pinned in tests/interop/conftest.py):
listing through the gateway's mux (no second process), every live tool schema's form,
calls with their results, progress and cancel, prompts and resource reads, and
``switchboard tools`` / ``switchboard call`` as a person runs them (a real CLI process
talking to the engine's control socket)."""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from switchboard.core.errors import GroupNotFound, ServerNotFound, ServerNotRunning
from switchboard.core.group import GroupSpec, MemberChoices, ToolChoice
from switchboard.core.spec import AuthMode, ServerSpec, Transport
from switchboard.engine import Engine
from switchboard.inspector.results import prompt_result, read_result, tool_result
from switchboard.inspector.schema_form import SchemaForm, example_value
from switchboard.inspector.service import Inspector, InspectorError
from tests.helpers.engine_process import ENGINE_ENV
from tests.interop.conftest import NpmKit
from tests.interop.conftest import npm_kit as _npm_kit

pytestmark = pytest.mark.npm
npm_kit = _npm_kit  # the session fixture of tests/interop (the pinned npm packages)
FIXTURE = Path(__file__).parents[1] / "fixtures" / "inspector" / "everything-2026.8.31.json"


async def _everything(engine: Engine, kit: NpmKit) -> None:
    await engine.add_server(
        ServerSpec(
            name="everything",
            command=kit.node,
            args=(str(kit.everything), "stdio"),
            auth=AuthMode.SWITCHBOARD,
        )
    )
    await engine.start_server("everything")


def _pids(engine: Engine) -> list[int]:
    return [s.pid for s in engine.statuses() if s.pid]


async def test_listing_is_the_live_server_through_the_mux(engine: Engine, npm_kit: NpmKit) -> None:
    await _everything(engine, npm_kit)
    pids = _pids(engine)
    listing = await engine.inspector.listing("everything")
    assert _pids(engine) == pids  # the same one process: no second one was started
    assert engine.gateway.mux_of("everything") is not None
    assert listing["serverInfo"]["name"] == "mcp-servers/everything"
    live = {t["name"]: t for t in listing["tools"]}
    fixture = {t["name"]: t for t in json.loads(FIXTURE.read_text("utf-8"))["tools"]}
    # The Inspector declares no client capabilities: the tools that need sampling,
    # elicitation or roots are not offered to it; the rest are the fixture's, unchanged.
    assert {"echo", "get-sum", "trigger-long-running-operation"} <= set(live) <= set(fixture)
    for name, tool in live.items():
        assert tool["inputSchema"] == fixture[name]["inputSchema"], name
        form = SchemaForm(tool["inputSchema"])
        assert form.load(example_value(form.root.spec)), name
        assert form.problems() == [], name
    assert {p["name"] for p in listing["prompts"]} >= {"simple-prompt", "args-prompt"}
    assert listing["resources"] and listing["resourceTemplates"]


async def test_call_results_structured_image_and_error(engine: Engine, npm_kit: NpmKit) -> None:
    await _everything(engine, npm_kit)
    inspector = engine.inspector
    result = await inspector.call_tool("everything", "get-sum", {"a": 2, "b": 3})
    outcome = tool_result(result)
    assert not outcome.is_error and "5" in outcome.blocks[0].text
    structured = tool_result(
        await inspector.call_tool("everything", "get-structured-content", {"location": "Chicago"})
    )
    assert isinstance(structured.structured, dict) and "temperature" in structured.structured
    image = tool_result(await inspector.call_tool("everything", "get-tiny-image", {}))
    png = next(b for b in image.blocks if b.kind == "image")
    assert png.mime == "image/png" and png.data.startswith(b"\x89PNG")
    embedded = tool_result(
        await inspector.call_tool(
            "everything", "get-resource-reference", {"resourceType": "Text", "resourceId": 2}
        )
    )
    assert any(b.kind == "resource" and b.text.startswith("demo://") for b in embedded.blocks)
    failed = tool_result(
        await inspector.call_tool(
            "everything", "get-resource-reference", {"resourceType": "Text", "resourceId": -7}
        )
    )
    assert failed.is_error
    with pytest.raises(InspectorError, match="everything"):
        await inspector.read_resource("everything", "nowhere://at/all")


async def test_progress_then_cancel_reaches_the_server(engine: Engine, npm_kit: NpmKit) -> None:
    await _everything(engine, npm_kit)
    seen: list[tuple[float, float | None, str]] = []
    got = asyncio.Event()

    def on_progress(done: float, total: float | None, message: str) -> None:
        seen.append((done, total, message))
        got.set()

    call = asyncio.ensure_future(
        engine.inspector.call_tool(
            "everything",
            "trigger-long-running-operation",
            {"duration": 60, "steps": 60},
            on_progress=on_progress,
        )
    )
    await asyncio.wait_for(got.wait(), 30)
    assert seen[0][1] == 60
    mux = engine.gateway.mux_of("everything")
    assert mux is not None and mux.pending  # the call is out on the process
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert not mux.pending and not mux.sessions  # answered nothing, session closed
    # The process is fine and takes the next call.
    after = await engine.inspector.call_tool("everything", "echo", {"message": "still here"})
    assert "still here" in tool_result(after).blocks[0].text


async def test_prompts_resources_and_a_down_server(engine: Engine, npm_kit: NpmKit) -> None:
    await _everything(engine, npm_kit)
    prompt = prompt_result(
        await engine.inspector.get_prompt("everything", "args-prompt", {"city": "Oslo"})
    )
    assert prompt.blocks and prompt.blocks[0].role == "user" and "Oslo" in prompt.blocks[0].text
    listing = await engine.inspector.listing("everything")
    uri = listing["resources"][0]["uri"]
    read = read_result(await engine.inspector.read_resource("everything", uri))
    assert read.blocks[0].kind == "resource" and read.blocks[0].text == uri
    await engine.stop_server("everything")
    with pytest.raises(ServerNotRunning, match="everything"):
        await engine.inspector.listing("everything")
    with pytest.raises(ServerNotFound):
        await engine.inspector.listing("nobody")


async def until(cond: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


# -- the CLI ---------------------------------------------------------------------------
async def sb(engine: Engine, *argv: str) -> tuple[int, str, str]:
    """Run ``switchboard --home HOME ARGV`` (a real process) while the engine serves."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "switchboard",
        "--home",
        str(engine.paths.config_dir.parent),
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=ENGINE_ENV,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_cli_tools_and_call(engine: Engine, npm_kit: NpmKit) -> None:
    await _everything(engine, npm_kit)
    code, out, err = await sb(engine, "tools", "everything")
    assert code == 0, err
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "read-only" in rows["get-sum"] and "Returns the sum" in rows["get-sum"]
    assert "Prompts (" in out and "args-prompt" in out and "Resource templates" in out
    code, out, err = await sb(engine, "tools", "everything", "--json")
    assert code == 0 and any(t["name"] == "echo" for t in json.loads(out)["tools"])

    code, out, err = await sb(
        engine, "call", "everything", "get-sum", "--arg", "a=2", "--arg", "b=3.5"
    )
    assert (code, err) == (0, "") and "5.5" in out
    code, out, err = await sb(
        engine, "call", "everything", "get-structured-content", "--json", '{"location": "Chicago"}'
    )
    assert code == 0, err
    structured = json.loads(out[out.index("{\n") :])  # after the text block
    assert "temperature" in structured
    code, out, err = await sb(engine, "call", "everything", "get-tiny-image", "--raw")
    image = json.loads(out)["content"]
    assert any(
        base64.b64decode(c["data"]).startswith(b"\x89PNG") for c in image if c["type"] == "image"
    )


@pytest.mark.parametrize(
    ("argv", "code", "said"),
    [
        (["get-sum", "--arg", "a=two", "--arg", "b=1"], 2, "'two' is not a number"),
        (["get-sum", "--arg", "a=1"], 2, "b: Required."),
        (["get-structured-content", "--arg", "location=Paris"], 2, "is not one of"),
        (["no-such-tool"], 2, "has no tool 'no-such-tool'"),
        (["echo", "--json", "[1]"], 2, "must be a JSON object"),
        (
            ["get-resource-reference", "--arg", "resourceType=Text", "--arg", "resourceId=-7"],
            1,
            "reported an error",
        ),
    ],
)
async def test_cli_call_errors(
    engine: Engine, npm_kit: NpmKit, argv: list[str], code: int, said: str
) -> None:
    await _everything(engine, npm_kit)
    got, out, err = await sb(engine, "call", "everything", *argv)
    assert got == code, (out, err)
    assert said in err


async def test_cli_errors_without_a_running_server(engine: Engine, npm_kit: NpmKit) -> None:
    await _everything(engine, npm_kit)
    await engine.stop_server("everything")
    code, _out, err = await sb(engine, "tools", "everything")
    assert code == 2 and "error: " in err and "switchboard start everything" in err
    code, _out, err = await sb(engine, "call", "nobody", "x")
    assert code == 2 and "nobody" in err


def test_cli_without_an_engine(tmp_path: Path) -> None:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "switchboard", "--home", str(tmp_path), "call", "a", "b"],
        capture_output=True,
        text=True,
        env=ENGINE_ENV,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "not running" in done.stderr


async def test_ctrl_c_in_the_cli_cancels_the_call_on_the_server(
    engine: Engine, npm_kit: NpmKit
) -> None:
    await _everything(engine, npm_kit)
    await engine.inspector.listing("everything")
    mux = engine.gateway.mux_of("everything")
    assert mux is not None
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "switchboard",
        "--home",
        str(engine.paths.config_dir.parent),
        "call",
        "everything",
        "trigger-long-running-operation",
        "--arg",
        "duration=120",
        "--arg",
        "steps=120",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=ENGINE_ENV,
    )
    try:

        def calls() -> list[Any]:
            return [p for p in mux.pending.values() if p.method == "tools/call"]

        await until(calls, what="the call on the server")
        proc.send_signal(signal.SIGINT)
        _out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 130, err
        await until(lambda: not calls(), what="the call cancelled upstream")
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


class RecordingGateway:
    """The engine's gateway, recording the ``via`` of each internal session opened."""

    def __init__(self, engine: Engine) -> None:
        self.gateway = engine.gateway
        self.vias: list[str | None] = []

    async def group_listing(self, name: str) -> dict[str, Any]:
        return await self.gateway.group_listing(name)

    async def open_internal(self, name: str, **kw: Any) -> Any:
        self.vias.append(kw.get("via"))
        return await self.gateway.open_internal(name, **kw)


async def test_group_tools_are_the_exposed_names_and_calls_go_through_the_group(
    engine: Engine, npm_kit: NpmKit
) -> None:
    await _everything(engine, npm_kit)
    spec = GroupSpec(
        name="g",
        servers=("everything", "absent"),
        choices={
            "everything": MemberChoices(
                tools={
                    "echo": ToolChoice(enabled=False),
                    "get-sum": ToolChoice(description="Adds (described here)"),
                }
            )
        },
    )
    await engine.add_group(spec)
    recorder = RecordingGateway(engine)
    inspector = Inspector(recorder)  # type: ignore[arg-type]
    listing = await inspector.group_tools("g")
    tools = {t["name"]: t for t in listing["tools"]}
    assert "everything__echo" not in tools and "echo" not in tools  # filtered out
    tool = tools["everything__get-sum"]
    assert tool["description"] == "Adds (described here)"
    assert tool["server"] == "everything" and tool["tool"] == "get-sum"
    assert tool["inputSchema"]["required"] == ["a", "b"]
    assert [m["server"] for m in listing["members"]] == ["everything", "absent"]
    result = await inspector.call_group_tool("g", "everything__get-sum", {"a": 1, "b": 2})
    assert "3" in tool_result(result).blocks[0].text
    assert recorder.vias[-1] == "g"
    with pytest.raises(InspectorError, match="exposes no tool 'everything__echo'"):
        await inspector.call_group_tool("g", "everything__echo", {})
    with pytest.raises(GroupNotFound):
        await engine.inspector.group_tools("nope")

    # The CLI, with --group.
    code, out, err = await sb(engine, "tools", "g", "--group")
    assert code == 0, err
    assert "everything__get-sum" in out and "everything__echo" not in out
    code, out, err = await sb(
        engine, "call", "g", "everything__get-sum", "--group", "--arg", "a=4", "--arg", "b=5"
    )
    assert code == 0 and "9" in out, err
    code, _out, err = await sb(engine, "call", "g", "get-sum", "--group")
    assert code == 2 and "Group 'g' has no tool 'get-sum'" in err


async def test_an_http_server_is_not_inspected_and_says_why(engine: Engine) -> None:
    await engine.add_server(
        ServerSpec(
            name="web",
            command="true",
            transport=Transport.STREAMABLE_HTTP,
            url="http://127.0.0.1:9/mcp",
        )
    )
    with pytest.raises(InspectorError, match="streamable-http") as info:
        await engine.inspector.listing("web")
    assert "stdio servers" in info.value.hint
