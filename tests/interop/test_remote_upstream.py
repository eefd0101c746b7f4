"""A remote server (issue 18) used by clients nobody here wrote: the TypeScript SDK
(``@modelcontextprotocol/sdk``, tests/interop/js/ts_client.mjs) and ``mcp-remote`` sign in
to *Switchboard* (our tokens, our consent) and call the tools of an OAuth-protected
upstream built from the Python ``mcp`` SDK's server-side auth
(tests/helpers/remote_fixture.py), which Switchboard signed in to once through a
scripted browser. The upstream's request log shows only the upstream's own tokens; the
clients' reports show none of them."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import mcp_types as types
import pytest
import pytest_asyncio
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, ServerSpec, Transport
from switchboard.core.state import ServerState
from switchboard.engine import Engine
from tests.conftest import make_test_engine
from tests.helpers.keyrings import MemoryKeyringBackend
from tests.helpers.remote_fixture import RemoteFixture, ScriptedBrowser, remote_fixture
from tests.interop.conftest import JS, ConsentDesk, NpmKit
from tests.interop.test_mcp_remote import _browser, _free_port, _tokens

pytestmark = [
    pytest.mark.npm,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.timeout(300),
]


class Remote:
    def __init__(
        self, engine: Engine, desk: ConsentDesk, kit: NpmKit, fixture: RemoteFixture
    ) -> None:
        self.engine = engine
        self.desk = desk
        self.kit = kit
        self.fixture = fixture

    @property
    def url(self) -> str:
        return self.engine.server_url("fx")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def remote(
    npm_kit: NpmKit, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Remote]:
    paths = AppPaths.default(tmp_path_factory.mktemp("remote") / "home")
    paths.ensure()
    async with remote_fixture() as fixture:
        engine = make_test_engine(paths, keyring=MemoryKeyringBackend(), browser=ScriptedBrowser())
        await engine.start()
        desk = ConsentDesk(engine)
        try:
            await engine.add_server(
                ServerSpec(
                    name="fx",
                    transport=Transport.STREAMABLE_HTTP,
                    url=fixture.url,
                    remote=True,
                    auth=AuthMode.SWITCHBOARD,
                )
            )
            await engine.start_server("fx")
            await engine.sign_in("fx")
            assert engine.status("fx").state is ServerState.RUNNING
            yield Remote(engine, desk, npm_kit, fixture)
        finally:
            desk.close()
            await engine.aclose()


def _assert_no_passthrough(remote: Remote, client_saw: str) -> None:
    """No upstream token in what a client got; no Switchboard token upstream."""
    issued = remote.fixture.provider.issued
    assert issued
    for secret in issued:
        assert secret not in client_saw
    for entry in remote.fixture.mcp_requests():
        auth = entry.headers.get("authorization", "")
        assert not auth or auth.removeprefix("Bearer ") in issued, entry
        # Only the upstream's own cookie ever goes back to it (never a client's).
        assert entry.headers.get("cookie", "upstream-session=").startswith("upstream-session=")


async def test_ts_sdk_calls_the_remote_through_the_gateway(remote: Remote, tmp_path: Path) -> None:
    proc = await anyio.run_process(
        [remote.kit.node, str(JS / "ts_client.mjs"), "signin", remote.url],
        env={**os.environ, "SB_NODE_MODULES": str(remote.kit.modules)},
        check=False,
    )
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    report = json.loads(out.strip().splitlines()[-1])
    assert report["errors"] == []
    result = report["result"]
    assert {"echo", "add"} <= set(result["tools"])
    assert result["echo"] == ["remote:hello from the TypeScript SDK"]
    # It signed in to Switchboard (our consent), not to the upstream.
    assert remote.desk.by_client("ts-sdk-signin")
    paths = {r["path"] for r in report["requests"]}
    assert "/servers/fx/mcp" in paths
    _assert_no_passthrough(remote, out + proc.stderr.decode())


async def test_mcp_remote_calls_the_remote_through_the_gateway(
    remote: Remote, tmp_path: Path
) -> None:
    browser, bindir = _browser(tmp_path)
    config_dir = tmp_path / "mcp-remote-config"
    home = tmp_path / "home"
    home.mkdir()
    params = StdioServerParameters(
        command=remote.kit.node,
        args=[
            str(remote.kit.mcp_remote),
            remote.url,
            str(_free_port()),
            "--transport",
            "http-only",
        ],
        env={
            "HOME": str(home),
            "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
            "BROWSER": str(browser),
            "SB_BROWSER_LOG": str(tmp_path / "browser.jsonl"),
            "MCP_REMOTE_CONFIG_DIR": str(config_dir),
        },
    )
    errlog_path = tmp_path / "mcp-remote.log"
    with errlog_path.open("w") as errlog:
        try:
            with anyio.fail_after(120):
                async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
                    tools = {t.name for t in (await client.list_tools()).tools}
                    assert {"echo", "add"} <= tools
                    echoed = await client.call_tool("echo", {"message": "via mcp-remote"})
                    block = echoed.content[0]
                    assert isinstance(block, types.TextContent)
                    assert block.text == "remote:via mcp-remote"
                    summed = await client.call_tool("add", {"a": 19, "b": 23})
                    assert "42" in str(summed.content[0])
        except BaseException:
            errlog.flush()
            print(errlog_path.read_text()[-6000:])
            raise
    assert remote.desk.by_client("MCP CLI Proxy")  # it signed in to Switchboard
    saw = json.dumps(_tokens(config_dir)) + errlog_path.read_text()
    saw += "".join(p.read_text() for p in config_dir.rglob("*.json"))
    _assert_no_passthrough(remote, saw)
