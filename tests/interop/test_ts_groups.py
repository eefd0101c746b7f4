"""The official TypeScript and Python MCP SDKs against a group (issue 14): one endpoint
``/groups/g/mcp`` for the real ``@modelcontextprotocol/server-everything``,
``@modelcontextprotocol/server-filesystem`` (npm, pinned) and ``mcp-server-time``
(PyPI). The client side is tests/interop/js/ts_group.mjs (the SDK does all protocol
work); between its phases this test edits the group, restarts a member and kills one
mid-call."""

from __future__ import annotations

import asyncio
import dataclasses
import fcntl
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import mcp_types as types
import pytest
import pytest_asyncio
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from switchboard.core.group import GroupSpec, MemberChoices, ToolChoice
from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, ServerSpec
from switchboard.engine import Engine
from tests.conftest import make_test_engine
from tests.helpers.oauth_flow import ConsentBrowser, MemoryTokenStorage, sdk_provider
from tests.interop.conftest import JS, NpmKit

pytestmark = [pytest.mark.npm, pytest.mark.timeout(300)]

FILESYSTEM = "@modelcontextprotocol/server-filesystem@2026.8.31"
TIME_SERVER = str(Path(sys.executable).with_name("mcp-server-time"))


def _install_filesystem() -> Path:
    cache = Path(
        os.environ.get("SWITCHBOARD_TEST_CACHE", Path.home() / ".cache" / "switchboard-tests")
    )
    prefix = cache / f"filesystem-{FILESYSTEM.rsplit('@', 1)[1]}"
    entry = prefix / "node_modules" / "@modelcontextprotocol" / "server-filesystem" / "dist"
    prefix.mkdir(parents=True, exist_ok=True)
    with (prefix / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (entry / "index.js").exists():
            subprocess.run(
                [
                    *("npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund"),
                    *("--save-exact", FILESYSTEM),
                ],
                check=True,
                capture_output=True,
                timeout=600,
            )
    return entry / "index.js"


@pytest_asyncio.fixture
async def group_engine(npm_kit: NpmKit, tmp_path: Path) -> AsyncIterator[tuple[Engine, Path]]:
    filesystem = await asyncio.to_thread(_install_filesystem)
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "hello.txt").write_text("hello")
    paths = AppPaths.default(tmp_path / "home")
    paths.ensure()
    engine = make_test_engine(paths)
    await engine.start()
    try:
        for spec in (
            ServerSpec(
                name="everything",
                command=npm_kit.node,
                args=(str(npm_kit.everything), "stdio"),
                auth=AuthMode.OFF,
            ),
            ServerSpec(
                name="filesystem",
                command=npm_kit.node,
                args=(str(filesystem), str(shared)),
                auth=AuthMode.OFF,
            ),
            ServerSpec(
                name="time",
                command=TIME_SERVER,
                args=("--local-timezone", "UTC"),
                auth=AuthMode.OFF,
            ),
        ):
            await engine.add_server(spec)
        await asyncio.gather(
            *(engine.start_server(n) for n in ("everything", "filesystem", "time"))
        )
        await engine.add_group(
            GroupSpec(
                name="g",
                servers=("everything", "filesystem", "time"),
                auth=AuthMode.OFF,
                choices={
                    "filesystem": MemberChoices(tools={"write_file": ToolChoice(enabled=False)})
                },
            )
        )
        yield engine, shared
    finally:
        await engine.aclose()


class Driver:
    """tests/interop/js/ts_group.mjs, phase by phase."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def phase(self, name: str, timeout: float = 60) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            assert self.proc.stderr is not None
            err = await self.proc.stderr.read()
            raise AssertionError(f"ts_group ended before {name}: {err.decode()[-3000:]}")
        got: dict[str, Any] = json.loads(line)
        assert got["phase"] == name, got
        return got

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")


async def test_ts_sdk_through_a_group_of_three_real_servers(
    npm_kit: NpmKit, group_engine: tuple[Engine, Path]
) -> None:
    engine, shared = group_engine
    proc = await asyncio.create_subprocess_exec(
        npm_kit.node,
        str(JS / "ts_group.mjs"),
        engine.group_url("g"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "SB_NODE_MODULES": str(npm_kit.modules)},
    )
    driver = Driver(proc)
    try:
        calls = await driver.phase("calls")
        tools = set(calls["tools"])
        # Merged and prefixed (everything and filesystem both have tools; none collide).
        assert {"everything__echo", "filesystem__read_text_file", "time__convert_time"} <= tools
        assert "filesystem__write_file" not in tools  # filtered: absent ...
        assert not calls["filtered"]["ok"]  # ... and refused
        assert "switched off" in calls["filtered"]["error"]
        assert calls["echo"] == {"ok": True, "value": ["Echo: hi group"]}
        assert calls["fs"]["ok"] and str(shared) in calls["fs"]["value"][0]
        assert calls["time"]["ok"] and "Europe/Paris" in calls["time"]["value"][0]
        assert calls["sampling"]["ok"], calls["sampling"]
        assert "group-sampled<" in calls["sampling"]["value"][0]
        assert len(calls["sampled"]) == 1 and "group-prompt" in calls["sampled"][0]
        assert calls["caps"]["tools"]["listChanged"] is True
        assert calls["progress"]["ok"], calls["progress"]
        assert calls["progress"]["value"]["seen"] == [[1, 3], [2, 3], [3, 3]]

        # The group changes: its sessions hear tools/list_changed.
        spec = engine.group("g")
        await engine.update_group(
            spec.with_choices(
                "time", MemberChoices(tools={"convert_time": ToolChoice(enabled=False)})
            )
        )
        driver.go()
        edit = await driver.phase("edit")
        assert edit["changed"] is True
        assert "time__convert_time" not in edit["tools"]
        assert "time__get_current_time" in edit["tools"]

        # A member restarts: list_changed, and its tools are back.
        await engine.stop_server("time")
        await engine.start_server("time")
        driver.go()
        restart = await driver.phase("restart")
        assert restart["changed"] is True
        assert "time__get_current_time" in restart["tools"]

        # A member killed mid-call: the call fails promptly, naming the server.
        await driver.phase("calling")
        pid = engine.status("everything").pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        killed = await driver.phase("killed")
        assert killed["ok"] is False
        assert "'everything'" in killed["error"]
        assert killed["seconds"] < 30
        assert killed["errors"] == []
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


class _Approve(ConsentBrowser):
    """The person approves the sign-in in the app."""

    async def answer(self, page: httpx.Response, request_id: str) -> None:
        self.engine.consent.decide(request_id, True)


async def test_python_sdk_signs_in_to_the_group_and_uses_every_member(
    group_engine: tuple[Engine, Path],
) -> None:
    """The official ``mcp`` Python SDK with its OAuthClientProvider against the same
    three real servers, the group behind Switchboard's sign-in."""
    engine, shared = group_engine
    await engine.add_group(
        dataclasses.replace(engine.group("g"), name="secure", auth=AuthMode.SWITCHBOARD)
    )
    url = engine.group_url("secure")

    async def sampling(
        context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        content = params.messages[0].content
        assert isinstance(content, types.TextContent)
        return types.CreateMessageResult(
            role="assistant",
            model="py-model",
            content=types.TextContent(type="text", text=f"py<{content.text}>"),
        )

    storage = MemoryTokenStorage()
    provider = sdk_provider(url, _Approve(engine), storage, "py-sdk-group")
    async with (
        httpx2.AsyncClient(auth=provider, timeout=60) as http,
        Client(streamable_http_client(url, http_client=http), sampling_callback=sampling) as client,
    ):
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"everything__echo", "filesystem__list_directory", "time__get_current_time"} <= names
        assert "filesystem__write_file" not in names
        echo = await client.call_tool("everything__echo", {"message": "py"})
        assert _text(echo) == "Echo: py"
        listed = await client.call_tool("filesystem__list_directory", {"path": str(shared)})
        assert "hello.txt" in _text(listed)
        now = await client.call_tool("time__get_current_time", {"timezone": "Asia/Tokyo"})
        assert "Asia/Tokyo" in _text(now)
        with pytest.raises(MCPError, match="switched off"):
            await client.call_tool("filesystem__write_file", {"path": "x", "content": "y"})
        sampled = await client.call_tool(
            "everything__trigger-sampling-request", {"prompt": "py-prompt", "maxTokens": 5}
        )
        assert "py<" in _text(sampled)
    assert storage.tokens is not None
    validator = engine.auth.validator
    assert validator is not None
    assert (await validator.validate(storage.tokens.access_token, url)).audience == (url,)


def _text(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text
