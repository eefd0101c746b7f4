"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from switchboard.core.spec import RestartPolicy
from switchboard.engine import Engine
from tests.conftest import fixture_cmd
from tests.fixtures.gw_helpers import add_started


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client (no proxy settings from the environment)."""
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
        yield client


@pytest.fixture
async def mux_url(engine: Engine) -> str:
    """The gateway URL of a started tests/fixtures/gw_mux_server.py that restarts fast."""
    cmd, args = fixture_cmd("gw_mux_server.py")
    return await add_started(
        engine, "mux", cmd, args, restart=RestartPolicy(initial_delay=0.05, jitter=0)
    )
