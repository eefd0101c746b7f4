"""Fixtures for the interop tests: clients nobody here wrote, against a real engine.

The npm packages are pinned to exact versions and installed once into a cache
directory (``$SWITCHBOARD_TEST_CACHE`` or ~/.cache/switchboard-tests), never into the
repo. Each test module shares one in-process engine (module-scoped event loop) that
serves the real ``@modelcontextprotocol/server-everything`` and
tests/fixtures/interop_sampling_server.py, both behind Switchboard's own OAuth AS, and
one :class:`ConsentDesk` that approves sign-ins through the engine's ConsentBroker, as
the person's click in the app does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fcntl
import json
import os
import platform
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from switchboard.auth.consent import ConsentRequest
from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, ServerSpec
from switchboard.engine import Engine
from tests.conftest import fixture_cmd, have_npx, make_test_engine

SDK = "@modelcontextprotocol/sdk@1.32.2"
"""The TypeScript SDK client (its OAuthClientProvider flow, transports, cancellation)."""
MCP_REMOTE = "mcp-remote@0.15.1"
"""The stdio<->HTTP proxy many desktop clients use for remote servers."""
EVERYTHING = "@modelcontextprotocol/server-everything@2026.8.31"
"""The reference server exercising every MCP feature (stdio)."""
PACKAGES = (SDK, MCP_REMOTE, EVERYTHING)

JS = Path(__file__).parent / "js"
ACCESS_TOKEN_TTL = 60
"""The shortest access-token lifetime the settings allow: the refresh test waits it out."""


def _node_major(node: str) -> int:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return 0
    return int(out.stdout.strip().lstrip("v").split(".")[0])


@dataclasses.dataclass(frozen=True)
class NpmKit:
    """The installed packages: a node binary and their node_modules."""

    node: str
    modules: Path

    @property
    def everything(self) -> Path:
        return self.modules / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"

    @property
    def mcp_remote(self) -> Path:
        return self.modules / "mcp-remote" / "dist" / "proxy.js"

    @property
    def sdk_dist(self) -> Path:
        return self.modules / "@modelcontextprotocol" / "sdk" / "dist" / "esm"


def _install() -> NpmKit:
    cache = Path(
        os.environ.get("SWITCHBOARD_TEST_CACHE", Path.home() / ".cache" / "switchboard-tests")
    )
    tag = "-".join(p.rsplit("@", 1)[1] for p in PACKAGES)
    prefix = cache / f"interop-{tag}"
    system_node = shutil.which("node") or "node"
    arch = {"x86_64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), "x64")
    node_pkg = f"node-{platform.system().lower()}-{arch}"
    local_node = prefix / "node_modules" / node_pkg / "bin" / "node"
    packages = list(PACKAGES)
    need_node = _node_major(system_node) < 20  # mcp-remote's undici 7 wants Node >= 20
    if need_node:
        packages.append(f"{node_pkg}@22")
    kit = NpmKit(str(local_node) if need_node else system_node, prefix / "node_modules")
    done = prefix / "installed.json"
    prefix.mkdir(parents=True, exist_ok=True)
    with (prefix / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another pytest run may be installing right now
        if not done.exists() or json.loads(done.read_text()) != packages:
            _npm_install(prefix, packages)
            done.write_text(json.dumps(packages))
    for path in (kit.everything, kit.mcp_remote, kit.sdk_dist):
        assert path.exists(), f"{path} missing after npm install"
    return kit


def _npm_install(prefix: Path, packages: list[str]) -> None:
    subprocess.run(
        [
            "npm",
            "install",
            "--prefix",
            str(prefix),
            "--no-audit",
            "--no-fund",
            "--save-exact",
            *packages,
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )


@pytest.fixture(scope="session")
def npm_kit() -> NpmKit:
    """The pinned npm packages, installed once per session (skips without Node/npm)."""
    if not have_npx() or shutil.which("npm") is None:
        pytest.skip("Node.js/npm is not installed")
    return _install()


class ConsentDesk:
    """The person at the app: approves every sign-in the broker shows (recording it)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: list[ConsentRequest] = []
        self.approve = True
        self._loop = asyncio.get_running_loop()
        self._stop = engine.consent.on_request(self._on_request)

    def _on_request(self, req: ConsentRequest) -> None:
        self.seen.append(req)
        # A moment later, as a click would be (the page is already waiting for it).
        self._loop.call_later(0.05, self.engine.consent.decide, req.id, self.approve)

    def by_client(self, client_name: str) -> list[ConsentRequest]:
        return [r for r in self.seen if r.client_name == client_name]

    def close(self) -> None:
        self._stop()


@dataclasses.dataclass
class Interop:
    """What the interop tests share per module."""

    engine: Engine
    desk: ConsentDesk
    kit: NpmKit
    everything_url: str
    sampling_url: str

    async def grants_of(self, client_name: str) -> list[dict[str, Any]]:
        grants = (await self.engine.auth.list_grants())["grants"]
        return [g for g in grants if g["client_name"] == client_name]

    async def run_ts(self, scenario: str, url: str, timeout: float = 120) -> dict[str, Any]:
        """Run tests/interop/js/ts_client.mjs; its JSON report."""
        proc = await asyncio.create_subprocess_exec(
            self.kit.node,
            str(JS / "ts_client.mjs"),
            scenario,
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "SB_NODE_MODULES": str(self.kit.modules)},
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            out, err = await proc.communicate()
            raise AssertionError(
                f"ts_client {scenario} timed out: {err.decode()[-3000:]}"
            ) from None
        lines = out.decode().strip().splitlines()
        assert proc.returncode == 0 and lines, f"ts_client {scenario}: {err.decode()[-3000:]}"
        report: dict[str, Any] = json.loads(lines[-1])
        return report


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def interop(
    npm_kit: NpmKit, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Interop]:
    """One engine for the module, serving server-everything and the sampling fixture
    with Switchboard's own tokens (access tokens live :data:`ACCESS_TOKEN_TTL` s)."""
    paths = AppPaths.default(tmp_path_factory.mktemp("interop") / "home")
    paths.ensure()
    engine = make_test_engine(paths)
    await engine.start()
    desk = ConsentDesk(engine)
    try:
        await engine.update_settings(
            dataclasses.replace(engine.config.settings, access_token_ttl=ACCESS_TOKEN_TTL)
        )
        await engine.add_server(
            ServerSpec(
                name="everything",
                command=npm_kit.node,
                args=(str(npm_kit.everything), "stdio"),
                auth=AuthMode.SWITCHBOARD,
            )
        )
        cmd, args = fixture_cmd("interop_sampling_server.py")
        await engine.add_server(
            ServerSpec(name="sampling", command=cmd, args=args, auth=AuthMode.SWITCHBOARD)
        )
        await asyncio.gather(engine.start_server("everything"), engine.start_server("sampling"))
        yield Interop(
            engine,
            desk,
            npm_kit,
            engine.server_url("everything"),
            engine.server_url("sampling"),
        )
    finally:
        desk.close()
        await engine.aclose()
