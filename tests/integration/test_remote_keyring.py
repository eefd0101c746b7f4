"""A remote server's upstream tokens in the real OS keyring (Secret Service on D-Bus,
the throw-away unlocked gnome-keyring scripts/test provides): stored there after the
sign-in, read back for calls, in no file, gone when the server is removed."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import pytest

from switchboard.clients.known_clients import HostEnv
from switchboard.clients.manager import ClientManager
from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, ServerSpec, Transport
from switchboard.core.state import ServerState
from switchboard.remote.vault import client_key, tokens_key
from tests.conftest import make_test_engine
from tests.helpers.remote_fixture import ScriptedBrowser, remote_fixture
from tests.integration.test_secrets_keyring import _secret_service_backend


class Scoped:
    """The Secret Service backend under a service name of this test's own (so nothing
    of the person's 'switchboard' entries is read or written even outside scripts/test)."""

    def __init__(self, inner: Any, service: str) -> None:
        self.inner = inner
        self.service = service
        self.priority = inner.priority

    def get_password(self, service: str, name: str) -> Any:
        return self.inner.get_password(self.service, name)

    def set_password(self, service: str, name: str, value: str) -> None:
        self.inner.set_password(self.service, name, value)

    def delete_password(self, service: str, name: str) -> None:
        self.inner.delete_password(self.service, name)


@pytest.mark.keyring
async def test_upstream_tokens_live_in_the_real_keyring(paths: AppPaths) -> None:
    backend = _secret_service_backend()
    service = f"switchboard-test-{uuid.uuid4().hex[:8]}"
    scoped = Scoped(backend, service)
    manager = ClientManager(
        paths, host=HostEnv("linux", paths.data_dir / "fakehome", {}), connect_command=("/sb",)
    )
    async with remote_fixture() as fx:
        engine = make_test_engine(
            paths, keyring=scoped, browser=ScriptedBrowser(), client_manager=manager
        )
        await engine.start()
        try:
            await engine.add_server(
                ServerSpec(
                    name="fx",
                    transport=Transport.STREAMABLE_HTTP,
                    url=fx.url,
                    remote=True,
                    auth=AuthMode.OFF,
                )
            )
            await engine.start_server("fx")
            await engine.sign_in("fx")
            assert engine.status("fx").state is ServerState.RUNNING
            stored = backend.get_password(service, tokens_key("fx"))
            assert stored and "up-at-" in stored
            access = [t for t in fx.provider.issued if t in stored]
            assert access
            for path in paths.config_dir.parent.rglob("*"):
                if path.is_file():
                    data = path.read_bytes()
                    for secret in access:
                        assert secret.encode() not in data, path
            await engine.remove_server("fx")
            assert backend.get_password(service, tokens_key("fx")) is None
            assert backend.get_password(service, client_key("fx")) is None
        finally:
            await engine.aclose()
            for key in (tokens_key("fx"), client_key("fx")):
                with contextlib.suppress(Exception):  # already gone
                    backend.delete_password(service, key)
