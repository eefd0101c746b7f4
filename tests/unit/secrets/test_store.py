"""SecretStore logic with an in-memory keyring backend (the real one: integration)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from switchboard.cli.secrets import read_secret_value
from switchboard.core.errors import NoKeyringError, SecretError, ValidationError
from switchboard.core.paths import AppPaths
from switchboard.secrets.store import SecretStore, validate_secret_name
from tests.helpers.keyrings import MemoryKeyringBackend


class BrokenKeyring(MemoryKeyringBackend):
    def get_password(self, service: str, name: str) -> str | None:
        raise RuntimeError("locked")


def test_set_get_delete_and_names_index(paths: AppPaths) -> None:
    backend = MemoryKeyringBackend()
    store = SecretStore.for_paths(paths, backend=backend)
    store.set("github.token", "ghp_supersecretvalue")
    store.set("slack", "xoxb-123456")
    assert store.get("github.token") == "ghp_supersecretvalue"
    assert store.names() == ["github.token", "slack"]
    # The index holds names only.
    text = store.index_path.read_text("utf-8") if store.index_path else ""
    assert "ghp_supersecretvalue" not in text
    assert "xoxb" not in text
    assert json.loads(text)["names"] == ["github.token", "slack"]
    assert store.delete("slack") is True
    assert store.delete("slack") is False
    assert store.names() == ["github.token"]
    assert store.get("slack") is None


def test_names_index_survives_a_corrupt_file(paths: AppPaths) -> None:
    store = SecretStore.for_paths(paths, backend=MemoryKeyringBackend())
    assert store.index_path is not None
    store.index_path.write_text("{not json")
    assert store.names() == []
    store.set("a1", "value")
    assert store.names() == ["a1"]


def test_secret_names_are_checked_for_people() -> None:
    assert validate_secret_name("github.token") == "github.token"
    with pytest.raises(ValidationError, match="Invalid secret name"):
        validate_secret_name("has space")


def test_internal_names_with_a_colon_still_work(paths: AppPaths) -> None:
    # The auth service keys its keyring entries as "name:home-hash".
    store = SecretStore.for_paths(paths, backend=MemoryKeyringBackend())
    store.set("auth-signing-keys:abc123", "value")
    assert store.get("auth-signing-keys:abc123") == "value"


def test_no_keyring_is_a_clear_error_never_plaintext(paths: AppPaths) -> None:
    import keyring.backends.fail

    store = SecretStore.for_paths(paths, backend=keyring.backends.fail.Keyring())
    with pytest.raises(NoKeyringError) as info:
        store.set("x1", "value")
    assert "gnome-keyring" in info.value.hint
    assert "plain text" in info.value.hint
    assert store.names() == []
    assert not any(p.is_file() for p in Path(paths.data_dir).rglob("*"))


def test_keyring_failure_names_the_secret(paths: AppPaths) -> None:
    store = SecretStore.for_paths(paths, backend=BrokenKeyring())
    with pytest.raises(SecretError, match="'x1'"):
        store.get("x1")


async def test_resolve_missing_secret_says_how_to_set_it(paths: AppPaths) -> None:
    store = SecretStore.for_paths(paths, backend=MemoryKeyringBackend())
    await store.aset("present", "value1")
    assert await store.resolve({"A": "present"}) == {"A": "value1"}
    with pytest.raises(SecretError, match="switchboard secret set absent"):
        await store.resolve({"A": "present", "B": "absent"})


class FakeStdin(io.StringIO):
    def __init__(self, text: str, tty: bool = False) -> None:
        super().__init__(text)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def test_value_from_piped_stdin_drops_one_newline() -> None:
    assert read_secret_value("n", FakeStdin("abc\n")) == "abc"
    assert read_secret_value("n", FakeStdin("abc\n\n")) == "abc\n"
    assert read_secret_value("n", FakeStdin("a b ")) == "a b "
    with pytest.raises(ValidationError, match="No value"):
        read_secret_value("n", FakeStdin("\n"))
