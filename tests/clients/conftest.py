"""Fixtures for the client replays: a running engine with started servers behind
Switchboard's own authorization server, and a plain HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from switchboard.core.spec import AuthMode
from switchboard.engine import Engine
from tests.conftest import fixture_cmd
from tests.fixtures.gw_helpers import add_started


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
        yield client


@pytest.fixture
async def url(engine: Engine) -> str:
    """The gateway MCP URL of a started echo server that needs our tokens."""
    cmd, args = fixture_cmd("echo_server.py")
    return await add_started(engine, "echo", cmd, args, auth=AuthMode.SWITCHBOARD)


@pytest.fixture
async def other_url(engine: Engine, url: str) -> str:
    """A second started echo server ("notes") behind our tokens, next to ``url``'s."""
    cmd, args = fixture_cmd("echo_server.py")
    return await add_started(engine, "notes", cmd, args, auth=AuthMode.SWITCHBOARD)
