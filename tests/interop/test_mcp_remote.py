"""``mcp-remote`` 0.15.1 (npm, pinned in conftest.MCP_REMOTE), the stdio proxy desktop
clients use to reach remote servers, signs in to Switchboard through a scripted browser
and proxies a real stdio MCP session to ``@modelcontextprotocol/server-everything``
2026.8.31 behind the gateway: once over Streamable HTTP (``/servers/<name>/mcp``), once over legacy SSE
(``/servers/<name>/sse``, ``--transport sse-only``).

What mcp-remote does (discovery, dynamic registration, PKCE, opening the browser with
the ``open`` package -> xdg-open -> ``$BROWSER``, its loopback callback, token storage
under ``$MCP_REMOTE_CONFIG_DIR``) is its own code; the browser is
tests/interop/browser_standin.py and the person's click is the test approving the
pending consent through the engine's ConsentBroker (conftest.ConsentDesk). The MCP
side is the Python SDK's stdio client (``mcp.client.stdio``)."""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.interop.conftest import Interop

pytestmark = [
    pytest.mark.npm,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.timeout(300),  # the first test of a session may install the npm packages
]

STANDIN = Path(__file__).with_name("browser_standin.py")
CLIENT_NAME = "MCP CLI Proxy"
"""The client_name mcp-remote registers with (its proxy's default)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _browser(tmp: Path) -> tuple[Path, Path]:
    """(the $BROWSER executable, a bin dir whose ``xdg-open`` is the same stand-in)."""
    script = tmp / "browser"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STANDIN}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    bindir = tmp / "bin"
    bindir.mkdir()
    (bindir / "xdg-open").symlink_to(script)
    return script, bindir


def _tokens(config_dir: Path) -> dict[str, Any]:
    """The tokens mcp-remote saved (``<config>/mcp-remote-<ver>/<hash>_tokens.json``)."""
    found = list(config_dir.glob("mcp-remote-*/*_tokens.json"))
    assert len(found) == 1, sorted(str(p) for p in config_dir.rglob("*"))
    data: dict[str, Any] = json.loads(found[0].read_text())
    return data


def text_of(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def _session(params: StdioServerParameters, errlog_path: Path, message: str) -> None:
    """One stdio session with mcp-remote: initialize, tools/list, tools/call."""
    with errlog_path.open("w") as errlog:
        try:
            with anyio.fail_after(120):
                async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
                    init = client.session.initialize_result
                    assert init is not None
                    assert init.server_info.name == "mcp-servers/everything"
                    tools = {t.name for t in (await client.list_tools()).tools}
                    assert {"echo", "get-sum"} <= tools
                    echoed = await client.call_tool("echo", {"message": message})
                    assert text_of(echoed) == f"Echo: {message}"
                    summed = await client.call_tool("get-sum", {"a": 19, "b": 23})
                    assert "42" in text_of(summed)
        except BaseException:
            errlog.flush()
            print(errlog_path.read_text()[-6000:])  # mcp-remote's own log, for the failure report
            raise


@pytest.mark.parametrize(
    ("endpoint", "strategy"),
    # http-first (mcp-remote's default) falls back to SSE on the 405 of POST .../sse.
    [("mcp", "http-only"), ("sse", "sse-only"), ("sse", "http-first")],
)
async def test_mcp_remote_signs_in_with_a_browser_and_proxies(
    interop: Interop, tmp_path: Path, endpoint: str, strategy: str
) -> None:
    engine = interop.engine
    url = f"{engine.base_url}/servers/everything/{endpoint}"
    browser, bindir = _browser(tmp_path)
    browser_log = tmp_path / "browser.jsonl"
    config_dir = tmp_path / "mcp-remote-config"
    home = tmp_path / "home"
    home.mkdir()
    asked_before = len(interop.desk.by_client(CLIENT_NAME))
    params = StdioServerParameters(
        command=interop.kit.node,
        args=[str(interop.kit.mcp_remote), url, str(_free_port()), "--transport", strategy],
        env={
            "HOME": str(home),
            "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
            "BROWSER": str(browser),
            "SB_BROWSER_LOG": str(browser_log),
            "MCP_REMOTE_CONFIG_DIR": str(config_dir),
        },
    )
    await _session(params, tmp_path / "mcp-remote.log", f"via mcp-remote {strategy}")

    # The browser opened our consent page, the person approved in the app, and the
    # browser landed on mcp-remote's loopback callback.
    opened = [json.loads(line) for line in browser_log.read_text().splitlines()]
    assert len(opened) == 1, opened
    visit = opened[0]
    assert "error" not in visit, visit
    assert visit["opened"].startswith(f"{engine.base_url}/oauth/authorize?")
    assert visit["page_status"] == 200 and visit["landed_status"] == 200
    asked = interop.desk.by_client(CLIENT_NAME)[asked_before:]
    assert [(r.id, r.server, r.resource) for r in asked] == [
        (visit["request_id"], "everything", url)
    ]
    assert visit["landed"].startswith(asked[0].redirect_uri + "?code=")
    # mcp-remote keeps the tokens it got in its config dir: a JWT for exactly this URL.
    tokens = _tokens(config_dir)
    validator = engine.auth.validator
    assert validator is not None
    vt = await validator.validate(tokens["access_token"], url)
    assert vt.audience == (url,)
    client_id = asked[0].client_id
    assert vt.client_id == client_id
    grants = [g for g in await interop.grants_of(CLIENT_NAME) if g["client_id"] == client_id]
    assert [(g["id"], g["server"], g["resource"]) for g in grants] == [
        (vt.grant_id, "everything", url)
    ]
    assert engine.auth.jwks_fetches == 0
    assert engine.auth.jwks_requests == 0

    # A second start (the desktop client restarted) uses what it stored: no browser, no
    # consent, the same grant (mcp-remote may refresh first: our tokens live 60 s).
    await _session(params, tmp_path / "mcp-remote-2.log", "second start")
    assert len(browser_log.read_text().splitlines()) == 1
    assert len(interop.desk.by_client(CLIENT_NAME)) == asked_before + 1
    again = _tokens(config_dir)["access_token"]
    assert (await validator.validate(again, url)).grant_id == vt.grant_id
    mine = [g["id"] for g in await interop.grants_of(CLIENT_NAME) if g["client_id"] == client_id]
    assert mine == [vt.grant_id]
