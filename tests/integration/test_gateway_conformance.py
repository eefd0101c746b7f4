"""The official MCP conformance suite (``@modelcontextprotocol/conformance``) against a
fixture server (tests/fixtures/gw_conformance_server.py, written with the ``mcp`` SDK)
served through the gateway: every scenario the 2025-11-25 revision requires must pass.

The suite needs Node >= 22 (``fs.globSync``); when the system node is older, the
official Node binary package from npm (``node-<os>-<arch>@22``) is installed next to
the suite in a cache directory (``$SWITCHBOARD_TEST_CACHE`` or ~/.cache).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import subprocess
from pathlib import Path

import pytest

from switchboard.engine import Engine
from tests.conftest import fixture_cmd, requires_npx
from tests.fixtures.gw_helpers import add_started

SUITE = "@modelcontextprotocol/conformance@0.2.0-alpha.12"
REQUIRED_2025_11_25 = [
    "server-initialize",
    "logging-set-level",
    "ping",
    "completion-complete",
    "tools-list",
    "tools-call-simple-text",
    "tools-call-image",
    "tools-call-audio",
    "tools-call-embedded-resource",
    "tools-call-mixed-content",
    "tools-call-with-logging",
    "tools-call-error",
    "tools-call-with-progress",
    "tools-call-sampling",
    "tools-call-elicitation",
    "elicitation-sep1034-defaults",
    "server-sse-multiple-streams",
    "elicitation-sep1330-enums",
    "resources-list",
    "resources-read-text",
    "resources-read-binary",
    "resources-templates-read",
    "resources-subscribe",
    "resources-unsubscribe",
    "prompts-list",
    "prompts-get-simple",
    "prompts-get-with-args",
    "prompts-get-embedded-resource",
    "prompts-get-with-image",
    "dns-rebinding-protection",
]


def _node_major(node: str) -> int:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return 0
    return int(out.stdout.strip().lstrip("v").split(".")[0])


def _install_suite() -> tuple[str, Path]:
    """(node binary, suite entry script), installing both into the cache once."""
    cache = Path(
        os.environ.get("SWITCHBOARD_TEST_CACHE", Path.home() / ".cache" / "switchboard-tests")
    )
    prefix = cache / "conformance-0.2.0-alpha.12"
    entry = prefix / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
    system_node = shutil.which("node") or "node"
    arch = {"x86_64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), "x64")
    node_pkg = f"node-{platform.system().lower()}-{arch}"
    local_node = prefix / "node_modules" / node_pkg / "bin" / "node"
    packages = [SUITE]
    need_node = _node_major(system_node) < 22
    if need_node:
        packages.append(f"{node_pkg}@22")
    if not entry.exists() or (need_node and not local_node.exists()):
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", *packages],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return (str(local_node) if need_node else system_node), entry


async def run_required_scenarios(url: str, out: Path) -> None:
    """Run the suite's server scenarios against ``url``: every scenario 2025-11-25
    requires ran, and none failed (the suite's own report in the assertion message)."""
    node, entry = await asyncio.to_thread(_install_suite)
    proc = await asyncio.create_subprocess_exec(
        node,
        str(entry),
        "server",
        "--url",
        url,
        "--requirements",
        "2025-11-25",
        "-o",
        str(out),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    stdout, _ = await proc.communicate()
    report = stdout.decode("utf-8", "replace")
    failures: dict[str, list[str]] = {}
    seen = set()
    for checks_file in out.glob("server-*/checks.json"):
        scenario = next(
            (s for s in REQUIRED_2025_11_25 if checks_file.parent.name.startswith(f"server-{s}-")),
            None,
        )
        if scenario is None:
            continue
        seen.add(scenario)
        for check in json.loads(checks_file.read_text()):
            if check.get("status") == "FAILURE":
                failures.setdefault(scenario, []).append(
                    f"{check.get('id')}: {check.get('errorMessage')}"
                )
    assert failures == {}, report[-4000:]
    assert seen == set(REQUIRED_2025_11_25), report[-4000:]
    assert proc.returncode == 0, report[-4000:]


@requires_npx
@pytest.mark.npm
@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_conformance_suite_2025_11_25_through_the_gateway(
    engine: Engine, tmp_path: Path
) -> None:
    cmd, args = fixture_cmd("gw_conformance_server.py")
    url = await add_started(engine, "conformance", cmd, args)
    await run_required_scenarios(url, tmp_path / "results")
