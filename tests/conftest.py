"""Shared fixtures. Tests never touch the real user's config: every engine gets a
temporary SWITCHBOARD home, port 0 and the current PATH (no login shell)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from switchboard.composition import build_engine
from switchboard.core.paths import AppPaths
from switchboard.engine import Engine
from switchboard.supervisor.spawning import SecretResolver
from tests.helpers.keyrings import MemoryKeyringBackend

FIXTURES = Path(__file__).parent / "fixtures"
PY = sys.executable

os.environ.setdefault("SWITCHBOARD_NO_LOGIN_SHELL", "1")


def fixture_cmd(name: str, *args: str) -> tuple[str, tuple[str, ...]]:
    """(command, args) running one of tests/fixtures/*.py with this Python."""
    return PY, ("-u", str(FIXTURES / name), *args)


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    p = AppPaths.default(tmp_path / "home")
    p.ensure()
    return p


class FakeSecrets:
    """In-memory secret resolver for engine tests that do not exercise the keyring."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self.values = dict(values or {})

    async def __call__(self, refs: Mapping[str, str]) -> dict[str, str]:
        from switchboard.core.errors import SecretError

        out = {}
        for env, name in refs.items():
            if name not in self.values:
                raise SecretError(f"Secret {name!r} is not set.", hint="Set it.")
            out[env] = self.values[name]
        return out


@pytest.fixture
def fake_secrets() -> FakeSecrets:
    return FakeSecrets()


def make_test_engine(
    paths: AppPaths, secrets: SecretResolver | None = None, **seams: Any
) -> Engine:
    """The engine tests use: port 0, the current PATH, in-memory secrets and keyring.
    ``seams`` go to :func:`build_engine` (e.g. ``client_manager=...``)."""
    seams.setdefault("port", 0)
    seams.setdefault("path_resolver", lambda: os.environ["PATH"])
    seams.setdefault("stop_grace", 2.0)
    seams.setdefault("keyring", MemoryKeyringBackend())
    # npx/uvx commands run as written unless a test asks for the package resolver.
    seams.setdefault("resolve_packages", False)
    return build_engine(
        paths, secrets_resolver=secrets if secrets is not None else FakeSecrets(), **seams
    )


@pytest.fixture
async def engine(paths: AppPaths, fake_secrets: FakeSecrets) -> AsyncIterator[Engine]:
    eng = make_test_engine(paths, fake_secrets)
    await eng.start()
    try:
        yield eng
    finally:
        await eng.aclose()


def have_npx() -> bool:
    return shutil.which("npx") is not None


requires_npx = pytest.mark.skipif(not have_npx(), reason="npx (Node.js) is not installed")
