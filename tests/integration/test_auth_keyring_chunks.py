"""The chunked signing-key document in the real Secret Service (scripts/test runs one):
saved in entries below Windows Credential Locker's limit, read back by a second
provider, old chunks deleted after a rotation."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from switchboard.auth.firstparty import NamedSecrets
from switchboard.auth.keys import DEFAULT_MAX_ENTRY_BYTES, KeyProvider, SecretBackendStorage
from switchboard.core.paths import AppPaths
from switchboard.secrets import SecretStore
from tests.integration.test_secrets_keyring import _secret_service_backend


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
def test_signing_keys_in_chunks_in_the_real_keyring(real_store: SecretStore) -> None:
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
