"""Signing keys in a keyring with Windows Credential Locker's size limit: the document is
split into chunks below the limit and reassembled; the single-entry form older versions
wrote still loads; an interrupted save leaves the previous keys readable.

The keyring is a fake *backend* under the real SecretStore and NamedSecrets, refusing
values above 2,560 bytes as UTF-16 the way Credential Locker does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keyring.errors
import pytest

from switchboard.auth.connect_client import NamedSecrets
from switchboard.auth.keys import (
    DEFAULT_MAX_ENTRY_BYTES,
    KEYRING_NAME,
    KeyProvider,
    SecretBackendStorage,
    choose_storage,
    entry_limit_for,
    split_chunks,
)
from switchboard.core.errors import AuthError, SecretError
from switchboard.secrets import SecretStore

CRED_MAX_CREDENTIAL_BLOB_SIZE = 2560
SUFFIX = "home0"


class LimitedKeyring:
    """A keyring backend with Credential Locker's blob limit (UTF-16 text)."""

    def __init__(self, limit: int | None = CRED_MAX_CREDENTIAL_BLOB_SIZE) -> None:
        self.limit = limit
        self.entries: dict[tuple[str, str], str] = {}
        self.fail_after: int | None = None  # refuse every set after this many
        self.sets = 0

    def get_password(self, service: str, name: str) -> str | None:
        return self.entries.get((service, name))

    def set_password(self, service: str, name: str, value: str) -> None:
        if self.fail_after is not None and self.sets >= self.fail_after:
            raise OSError("the keyring went away")
        if self.limit is not None and len(value.encode("utf-16-le")) > self.limit:
            raise OSError(1783, "The stub received bad data.")  # what win32cred raises
        self.sets += 1
        self.entries[(service, name)] = value

    def delete_password(self, service: str, name: str) -> None:
        if self.entries.pop((service, name), None) is None:
            raise keyring.errors.PasswordDeleteError(name)

    def names(self) -> set[str]:
        return {name for _, name in self.entries}


def storage(backend: LimitedKeyring, **kw: Any) -> SecretBackendStorage:
    return SecretBackendStorage(NamedSecrets(SecretStore(backend=backend), SUFFIX), **kw)


def test_the_key_document_does_not_fit_one_windows_credential() -> None:
    # Why the chunks exist: one key's document already exceeds the limit as UTF-16.
    backend = LimitedKeyring()
    kp = KeyProvider(storage(backend, max_entry_bytes=10**6))
    with pytest.raises(SecretError, match="refused to store"):
        kp.load_or_create()


def test_keys_are_stored_in_chunks_below_the_limit_and_load_again() -> None:
    backend = LimitedKeyring()
    kp = KeyProvider(storage(backend))
    kp.load_or_create()
    kp.rotate()  # two keys: a bigger document
    assert all(
        len(v.encode("utf-16-le")) <= DEFAULT_MAX_ENTRY_BYTES for v in backend.entries.values()
    )
    assert len(backend.entries) >= 5  # manifest + at least 4 chunks for two keys
    again = KeyProvider(storage(backend))
    again.load_or_create()
    assert again.jwks() == kp.jwks()
    assert again.signing_key()[0] == kp.signing_key()[0]


def test_old_chunks_are_deleted_after_a_save() -> None:
    backend = LimitedKeyring()
    kp = KeyProvider(storage(backend))
    kp.load_or_create()
    first = backend.names()
    kp.rotate()
    second = backend.names()
    head = f"{KEYRING_NAME}:{SUFFIX}"
    assert head in first and head in second
    assert not (first - {head}) & second  # a new generation; the old chunks are gone
    kp.rotate()
    assert not (second - {head}) & backend.names()


def test_the_single_entry_form_of_older_versions_still_loads() -> None:
    backend = LimitedKeyring(limit=None)  # e.g. Secret Service: no size limit
    old = KeyProvider(storage(backend, max_entry_bytes=10**6))
    old.load_or_create()
    assert backend.names() == {f"{KEYRING_NAME}:{SUFFIX}"}  # one entry, the whole document
    kp = KeyProvider(storage(backend))
    kp.load_or_create()
    assert kp.jwks() == old.jwks()
    kp.rotate()  # the next save writes chunks
    assert len(backend.names()) > 2
    assert KeyProvider(storage(backend)).jwks() == {"keys": []}  # not loaded yet
    reloaded = KeyProvider(storage(backend))
    reloaded.load_or_create()
    assert reloaded.jwks() == kp.jwks()


def test_small_documents_stay_in_one_entry() -> None:
    backend = LimitedKeyring(limit=None)
    store = storage(backend, max_entry_bytes=256)
    store.save('{"version": 1, "keys": []}')
    assert backend.names() == {f"{KEYRING_NAME}:{SUFFIX}"}
    assert store.load() == '{"version": 1, "keys": []}'
    store.save("x" * 1000)
    assert len(backend.names()) == 1 + 8  # 128 characters (256 UTF-16 bytes) per chunk
    store.save("y")  # shrinking back to one entry drops the chunks
    assert backend.names() == {f"{KEYRING_NAME}:{SUFFIX}"}
    assert store.load() == "y"


def test_an_interrupted_save_keeps_the_previous_keys() -> None:
    backend = LimitedKeyring()
    kp = KeyProvider(storage(backend))
    kp.load_or_create()
    before = kp.jwks()
    backend.fail_after = backend.sets + 2  # two chunks written, then the keyring fails
    with pytest.raises(SecretError):
        kp.rotate()
    survivor = KeyProvider(storage(backend))
    survivor.load_or_create()
    assert survivor.jwks() == before


def test_a_missing_or_altered_chunk_is_a_clear_error() -> None:
    backend = LimitedKeyring()
    KeyProvider(storage(backend)).load_or_create()
    chunk = sorted(n for n in backend.names() if n != f"{KEYRING_NAME}:{SUFFIX}")[0]
    key = ("switchboard", chunk)
    value = backend.entries[key]
    backend.entries[key] = value[:-1] + ("A" if value[-1] != "A" else "B")
    with pytest.raises(AuthError, match="checksum") as info:
        KeyProvider(storage(backend)).load_or_create()
    assert "Delete the keyring entries" in (info.value.hint or "")
    del backend.entries[key]
    with pytest.raises(AuthError, match="part 1 of"):
        KeyProvider(storage(backend)).load_or_create()


def test_split_chunks_counts_utf16_bytes_and_keeps_characters_whole() -> None:
    text = "ab\U0001f600cd" * 10
    chunks = split_chunks(text, 8)
    assert "".join(chunks) == text
    assert all(len(c.encode("utf-16-le")) <= 8 for c in chunks)
    assert split_chunks("", 8) == [""]
    with pytest.raises(ValueError, match="at least 256"):
        SecretBackendStorage(object(), max_entry_bytes=100)


def test_choose_storage_uses_the_chunking_default(tmp_path: Path) -> None:
    backend = LimitedKeyring()
    chosen, warning = choose_storage(
        NamedSecrets(SecretStore(backend=backend), SUFFIX), tmp_path / "keys.json"
    )
    assert warning is None and isinstance(chosen, SecretBackendStorage)
    assert chosen.max_entry_bytes == DEFAULT_MAX_ENTRY_BYTES
    KeyProvider(chosen).load_or_create()  # fits Credential Locker
    assert not (tmp_path / "keys.json").exists()


def test_keyrings_without_a_small_limit_keep_one_entry(tmp_path: Path) -> None:
    # Every entry read is a D-Bus round trip with the Secret Service: no chunks there.
    class SecretServiceLike(LimitedKeyring):
        pass

    SecretServiceLike.__module__ = "keyring.backends.SecretService"
    assert entry_limit_for(SecretServiceLike()) is None
    assert entry_limit_for(LimitedKeyring()) == DEFAULT_MAX_ENTRY_BYTES
    assert entry_limit_for(None) == DEFAULT_MAX_ENTRY_BYTES  # unknown: chunks, to be safe
    backend = SecretServiceLike(limit=None)
    chosen, _ = choose_storage(
        NamedSecrets(SecretStore(backend=backend), SUFFIX), tmp_path / "keys.json"
    )
    assert isinstance(chosen, SecretBackendStorage) and chosen.max_entry_bytes is None
    kp = KeyProvider(chosen)
    kp.load_or_create()
    kp.rotate()
    assert backend.names() == {f"{KEYRING_NAME}:{SUFFIX}"}
    # Keys written in chunks elsewhere (or by a build with a limit) still load, and the
    # next save goes back to one entry without leaving chunks behind.
    storage(backend).save(backend.entries[("switchboard", f"{KEYRING_NAME}:{SUFFIX}")])
    assert len(backend.names()) > 1
    again = KeyProvider(chosen)
    again.load_or_create()
    assert again.jwks() == kp.jwks()
    again.rotate()
    assert backend.names() == {f"{KEYRING_NAME}:{SUFFIX}"}
