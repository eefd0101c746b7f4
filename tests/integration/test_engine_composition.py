"""The composition root (``switchboard.composition.build_engine``): every seam goes in
through it, and the test engine never touches the person's keyring."""

from __future__ import annotations

from typing import Any

import keyring
import pytest

from switchboard.auth.consent import ConsentBroker
from switchboard.clients.manager import ClientManager
from switchboard.core.errors import SwitchboardError
from switchboard.core.paths import AppPaths
from switchboard.core.state import EngineState
from tests.conftest import make_test_engine
from tests.helpers.keyrings import MemoryKeyringBackend

pytestmark = pytest.mark.timeout(60)


class TrippedKeyring:
    """A keyring backend that records and refuses every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def get_password(self, service: str, name: str) -> str | None:
        self.calls.append(("get", name))
        raise RuntimeError("the test engine must not read the keyring")

    def set_password(self, service: str, name: str, value: str) -> None:
        self.calls.append(("set", name))
        raise RuntimeError("the test engine must not write the keyring")

    def delete_password(self, service: str, name: str) -> None:
        self.calls.append(("delete", name))
        raise RuntimeError("the test engine must not delete from the keyring")


async def test_the_test_engine_touches_no_keyring_backend(
    paths: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    tripped = TrippedKeyring()
    monkeypatch.setattr(keyring, "get_keyring", lambda: tripped)
    engine = make_test_engine(paths)
    await engine.start()
    try:
        assert engine.auth.key_warning is None  # the keys went to the in-memory keyring
    finally:
        await engine.aclose()
    assert tripped.calls == []


async def test_auth_keys_and_first_party_secret_go_to_the_given_keyring(paths: AppPaths) -> None:
    memory = MemoryKeyringBackend()
    engine = make_test_engine(paths, keyring=memory)
    await engine.start()
    await engine.aclose()
    names = {name for _service, name in memory.values}
    assert any(n.startswith("auth-signing-keys") for n in names), names
    assert any(n.startswith("auth-firstparty-secret") for n in names), names


def test_consent_and_client_manager_go_in_through_build_engine(paths: AppPaths) -> None:
    broker = ConsentBroker()
    manager = ClientManager(paths, connect_command=("/sb",))  # never started: no file touched
    engine = make_test_engine(paths, consent=broker, client_manager=manager)
    assert engine.consent is broker
    assert engine.auth.broker is broker
    assert engine.client_sync.manager is manager
    assert engine.authenticator is engine.auth


def test_services_are_installed_once(paths: AppPaths) -> None:
    engine = make_test_engine(paths)
    services: dict[str, Any] = {
        "gateway": engine.gateway,
        "auth": engine.auth,
        "client_sync": engine.client_sync,
    }
    with pytest.raises(SwitchboardError, match="installed once"):
        engine.install(**services)
    assert engine.state is EngineState.NEW
