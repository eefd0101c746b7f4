"""The chunked signing-key document in the real Secret Service (scripts/test runs one):
saved in entries below Windows Credential Locker's limit, read back by a second
provider, old chunks deleted after a rotation."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.auth.connect_client import NamedSecrets
from switchboard.auth.keys import (
    DEFAULT_MAX_ENTRY_BYTES,
    KeyProvider,
    SecretBackendStorage,
    choose_storage,
)
from switchboard.secrets import SecretStore

# The Secret Service store of the keyring tests (skips when none is reachable).
from tests.integration.test_secrets_keyring import real_store  # noqa: F401


@pytest.mark.keyring
def test_signing_keys_in_chunks_in_the_real_keyring(real_store: SecretStore) -> None:  # noqa: F811
    named = NamedSecrets(real_store, "chunks")
    kp = KeyProvider(SecretBackendStorage(named))
    kp.load_or_create()
    kp.rotate()
    names = real_store.names()  # the index of what was written and not deleted
    assert len(names) >= 5  # head + chunks of a two-key document
    for name in names:
        value = real_store.get(name)
        assert value is not None
        assert len(value.encode("utf-16-le")) <= DEFAULT_MAX_ENTRY_BYTES
    again = KeyProvider(SecretBackendStorage(NamedSecrets(real_store, "chunks")))
    again.load_or_create()
    assert again.jwks() == kp.jwks()
    kp.rotate()  # a new generation; the previous chunks are deleted
    assert not (set(names) - {"auth-signing-keys:chunks"}) & set(real_store.names())


@pytest.mark.keyring
def test_the_secret_service_keeps_one_entry(real_store: SecretStore, tmp_path: Path) -> None:  # noqa: F811
    named = NamedSecrets(real_store, "single")
    storage, warning = choose_storage(named, tmp_path / "keys.json")
    assert warning is None and isinstance(storage, SecretBackendStorage)
    assert storage.max_entry_bytes is None  # one D-Bus read at start, not three
    KeyProvider(storage).load_or_create()
    assert real_store.names() == ["auth-signing-keys:single"]
