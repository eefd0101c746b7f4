"""Secrets through the real OS keyring (Secret Service on D-Bus), end to end.

scripts/test runs pytest under ``dbus-run-session`` with gnome-keyring unlocked. These
tests skip (saying why) only when no Secret Service is reachable at all.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from switchboard.clients.known_clients import HostEnv
from switchboard.clients.manager import ClientManager
from switchboard.composition import build_engine
from switchboard.core.events import Event, LogLine
from switchboard.core.paths import AppPaths
from switchboard.core.spec import ServerSpec
from switchboard.secrets.store import SecretStore
from switchboard.store.import_export import export_servers
from switchboard.supervisor.logs import REDACTED
from tests.conftest import fixture_cmd
from tests.helpers.keyrings import MemoryKeyringBackend

SECRET_VALUE = "sb-test-" + uuid.uuid4().hex  # unique: any hit in a file is a leak


def _secret_service_backend() -> Any:
    """The Secret Service keyring backend, or skip with the reason it is unreachable."""
    import keyring
    import keyring.backends.SecretService as ss

    backend = ss.Keyring()
    try:
        usable = backend.priority > 0  # raises or is <= 0 when D-Bus/the daemon is missing
    except Exception as exc:
        pytest.skip(
            f"no Secret Service reachable on D-Bus ({exc}); run under dbus-run-session "
            "with gnome-keyring unlocked, as scripts/test does"
        )
    if not usable:
        pytest.skip("no Secret Service reachable on D-Bus")
    # What production code gets by default must be that same Secret Service.
    assert type(keyring.get_keyring()).__module__ == "keyring.backends.SecretService"
    return backend


@pytest.fixture
def real_store(paths: AppPaths) -> Iterator[SecretStore]:
    backend = _secret_service_backend()
    store = SecretStore.for_paths(
        paths, service=f"switchboard-test-{uuid.uuid4().hex[:8]}", backend=backend
    )
    yield store
    for name in store.names():
        store.delete(name)


@pytest.mark.keyring
async def test_real_keyring_round_trip(real_store: SecretStore) -> None:
    await real_store.aset("github.token", SECRET_VALUE)
    assert await real_store.aget("github.token") == SECRET_VALUE
    assert await real_store.anames() == ["github.token"]
    # A second store on the same service (another process, say) sees the value.
    other = SecretStore(real_store.service)
    assert await other.aget("github.token") == SECRET_VALUE
    assert await real_store.adelete("github.token") is True
    assert await real_store.aget("github.token") is None
    assert await real_store.anames() == []


@pytest.mark.keyring
def test_cli_secret_verbs_with_real_keyring(paths: AppPaths, tmp_path: Path) -> None:
    _secret_service_backend()
    name = f"cli-test-{uuid.uuid4().hex[:8]}"
    home = str(paths.config_dir.parent)
    cmd = [sys.executable, "-m", "switchboard", "--home", home, "secret"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        done = subprocess.run(
            [*cmd, "set", name],
            input=SECRET_VALUE + "\n",
            text=True,
            capture_output=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert SECRET_VALUE not in done.stdout + done.stderr
        listed = subprocess.run(
            [*cmd, "list"], text=True, capture_output=True, env=env, timeout=60, check=True
        )
        assert name in listed.stdout
        assert "set" in listed.stdout
        assert SECRET_VALUE not in listed.stdout
        assert SecretStore().get(name) == SECRET_VALUE
    finally:
        rm = subprocess.run(
            [*cmd, "rm", name], text=True, capture_output=True, env=env, timeout=60, check=False
        )
    assert rm.returncode == 0, rm.stderr
    assert SecretStore().get(name) is None


async def _full_run(paths: AppPaths, store: SecretStore) -> None:
    """Engine + a server whose secret comes from ``store``; it prints the secret."""
    await store.aset("echo.secret", SECRET_VALUE)
    engine = build_engine(
        paths,
        port=0,
        secrets_resolver=store.resolve,
        path_resolver=lambda: os.environ["PATH"],
        stop_grace=2.0,
    )
    seen = asyncio.Event()

    def observer(event: Event) -> None:
        if isinstance(event, LogLine) and "secret=" in event.text:
            seen.set()

    engine.subscribe(observer)
    await engine.start()
    try:
        command, args = fixture_cmd("echo_server.py")
        await engine.add_server(
            ServerSpec("echo", command, args, secrets={"ECHO_SECRET": "echo.secret"})
        )
        await engine.start_server("echo")
        await asyncio.wait_for(seen.wait(), 60)
        lines = [ln.text for ln in engine.logs("echo")]
        assert any(f"secret={REDACTED}" in t for t in lines), lines
        assert not any(SECRET_VALUE in t for t in lines)
        # Everything else that writes files: a client config, an export, the cache.
        host = HostEnv("linux", paths.config_dir.parent / "clienthome", {})
        manager = ClientManager(paths, host=host)
        manager.connect("cursor", {"echo": engine.server_url("echo")})
        exported = paths.config_dir / "servers-export.toml"
        exported.write_text(export_servers(engine.config.servers), "utf-8")
        await engine.stop_server("echo")
    finally:
        await engine.aclose()
    root = paths.config_dir.parent
    files = [p for p in root.rglob("*") if p.is_file()]
    assert paths.server_log("echo") in files
    assert paths.config_file in files
    leaks = [str(p) for p in files if SECRET_VALUE.encode() in p.read_bytes()]
    assert leaks == []
    assert b"echo.secret" in paths.config_file.read_bytes()  # the reference, not the value
    assert b"echo.secret" in exported.read_bytes()
    assert (root / "clienthome" / ".cursor" / "mcp.json") in files


async def test_no_secret_value_in_any_file_after_a_run(paths: AppPaths) -> None:
    await _full_run(paths, SecretStore.for_paths(paths, backend=MemoryKeyringBackend()))


@pytest.mark.keyring
async def test_no_secret_value_in_any_file_after_a_run_real_keyring(
    paths: AppPaths, real_store: SecretStore
) -> None:
    await _full_run(paths, real_store)
