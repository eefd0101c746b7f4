"""The official MCP conformance suite through a group endpoint (issue 14): a group whose
only member is the conformance fixture server (tests/fixtures/gw_conformance_server.py),
with the servers' own names (``priority`` naming: no prefix for a single member, so the
scenarios' tool, prompt and resource names match). Every scenario the 2025-11-25
revision requires must pass, as through ``/servers/<name>/mcp``
(tests/integration/test_gateway_conformance.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from switchboard.core.group import GroupSpec, Naming
from switchboard.core.spec import AuthMode
from switchboard.engine import Engine
from tests.conftest import fixture_cmd, requires_npx
from tests.fixtures.gw_helpers import add_started
from tests.integration.test_gateway_conformance import REQUIRED_2025_11_25, _install_suite


@requires_npx
@pytest.mark.npm
@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_conformance_suite_2025_11_25_through_a_group(engine: Engine, tmp_path: Path) -> None:
    node, entry = await asyncio.to_thread(_install_suite)
    cmd, args = fixture_cmd("gw_conformance_server.py")
    await add_started(engine, "conformance", cmd, args)
    await engine.add_group(
        GroupSpec(name="conf", servers=("conformance",), naming=Naming.PRIORITY, auth=AuthMode.OFF)
    )
    url = engine.group_url("conf")
    out = tmp_path / "results"
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
