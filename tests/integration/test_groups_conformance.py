"""The official MCP conformance suite through a group endpoint (issue 14): a group whose
only member is the conformance fixture server (tests/fixtures/gw_conformance_server.py),
with the servers' own names (``priority`` naming: no prefix for a single member, so the
scenarios' tool, prompt and resource names match). Every scenario the 2025-11-25
revision requires must pass, as through ``/servers/<name>/mcp``
(tests/integration/test_gateway_conformance.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.core.group import GroupSpec, Naming
from switchboard.core.spec import AuthMode
from switchboard.engine import Engine
from tests.conftest import fixture_cmd, requires_npx
from tests.fixtures.gw_helpers import add_started
from tests.integration.test_gateway_conformance import run_required_scenarios


@requires_npx
@pytest.mark.npm
@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_conformance_suite_2025_11_25_through_a_group(engine: Engine, tmp_path: Path) -> None:
    cmd, args = fixture_cmd("gw_conformance_server.py")
    await add_started(engine, "conformance", cmd, args)
    await engine.add_group(
        GroupSpec(name="conf", servers=("conformance",), naming=Naming.PRIORITY, auth=AuthMode.OFF)
    )
    await run_required_scenarios(engine.group_url("conf"), tmp_path / "results")
