"""Install from the bundled catalog, run it for real, and point a client at it."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from pathlib import Path

import pytest
from mcp import Client

from switchboard.catalog.catalog import Catalog
from switchboard.catalog.plan import plan_install
from switchboard.clients.jsonc import parse
from switchboard.clients.known_clients import BY_ID, HostEnv
from switchboard.clients.manager import ClientManager
from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode
from switchboard.engine import Engine
from tests.conftest import make_test_engine, requires_npx

pytestmark = pytest.mark.timeout(180)


@requires_npx
@pytest.mark.npm
async def test_everything_from_the_catalog_through_the_gateway(
    engine: Engine,
) -> None:
    plan = plan_install(Catalog().get("everything"))
    assert plan.spec.name == "everything"
    assert plan.command_line.startswith("npx -y @modelcontextprotocol/server-everything@")
    assert plan.command_line.endswith(" stdio")
    # auth=off: this test is about the catalog, not tokens (the gateway may require them).
    await engine.add_server(dataclasses.replace(plan.spec, auth=AuthMode.OFF))
    await engine.start_server("everything")
    async with Client(engine.server_url("everything")) as client:
        tools = await client.list_tools()
        assert "echo" in {t.name for t in tools.tools}

    # And a client config pointing at exactly that URL.
    host = HostEnv("linux", engine.paths.data_dir / "fakehome", {})
    manager = ClientManager(engine.paths, host=host, connect_command=("/sb",))
    manager.connect("vscode", {"everything": engine.server_url("everything")})
    data = parse(BY_ID["vscode"].config_path(host).read_text("utf-8"))
    assert data["servers"]["everything"] == {
        "type": "http",
        "url": engine.server_url("everything"),
    }


VENV_BIN = str(Path(sys.executable).parent)
PATH = VENV_BIN + os.pathsep + os.environ.get("PATH", "")


@pytest.mark.skipif(shutil.which("uvx", path=PATH) is None, reason="uv (uvx) is not installed")
async def test_time_from_the_catalog_runs_with_uvx(paths: AppPaths) -> None:
    """The PyPI path: `uvx mcp-server-time@<version>` fetched from PyPI and run."""
    plan = plan_install(
        Catalog().get("time"),
        args={"local-timezone": ["UTC"]},
        which=lambda exe: shutil.which(exe, path=PATH),
    )
    assert plan.argv[0] == "uvx"
    assert plan.argv[1].startswith("mcp-server-time@")
    assert plan.argv[2:] == ["--local-timezone", "UTC"]
    engine = make_test_engine(paths, path_resolver=lambda: PATH)
    await engine.start()
    try:
        await engine.add_server(dataclasses.replace(plan.spec, auth=AuthMode.OFF))
        await engine.start_server(plan.spec.name)
        async with Client(engine.server_url(plan.spec.name)) as client:
            result = await client.call_tool("get_current_time", {"timezone": "Asia/Tokyo"})
        assert "Asia/Tokyo" in getattr(result.content[0], "text", "")
    finally:
        await engine.aclose()
