"""Secrets in the OS keyring (Secret Service, macOS Keychain, Windows Credential Locker).

Server specs hold only secret *names*; values live in the keyring and reach a server
only through its environment at spawn. There is no plaintext fallback: without a
usable keyring every call raises NoKeyringError saying how to get one.

Keyrings cannot list their entries portably, so the store keeps a small *names index*
(a JSON list of secret names, never values) next to the config for ``secret list``.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from switchboard.core.errors import NoKeyringError, SecretError, ValidationError
from switchboard.core.paths import AppPaths
from switchboard.store.atomic import atomic_write

log = logging.getLogger("switchboard.secrets")

SERVICE = "switchboard"

# Same rule as ServerSpec's secret references.
_SECRET_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def validate_secret_name(name: str) -> str:
    """Check a secret name (letters, digits, '.', '_', '-'; up to 128 characters)."""
    if not _SECRET_NAME_RE.fullmatch(name):
        raise ValidationError(
            f"Invalid secret name {name!r}.",
            hint="Use letters, digits, '.', '_' or '-' (e.g. 'github.token'), "
            "starting with a letter or digit.",
        )
    return name


def _backend_ok(backend: Any) -> bool:
    import keyring.backends.fail

    name = type(backend).__module__ + "." + type(backend).__name__
    if isinstance(backend, keyring.backends.fail.Keyring):
        return False
    # keyrings.alt would write secrets in plain text; never accept it.
    return not name.startswith(("keyrings.alt", "keyring.backends.null"))


class SecretStore:
    """Keyring-backed secret storage. Methods are blocking; use the ``a*`` variants
    from the event loop (SecretStorage talks D-Bus synchronously)."""

    def __init__(
        self, service: str = SERVICE, backend: Any = None, index_path: Path | None = None
    ) -> None:
        self.service = service
        self._backend = backend
        self.index_path = index_path
        self._index_lock = threading.Lock()

    @classmethod
    def for_paths(cls, paths: AppPaths, service: str = SERVICE, backend: Any = None) -> SecretStore:
        """The store of one Switchboard instance (its names index lives in the data dir)."""
        return cls(service, backend, index_path=paths.data_dir / "secret-names.json")

    @property
    def backend(self) -> Any:
        if self._backend is None:
            import keyring

            self._backend = keyring.get_keyring()
        return self._backend

    def check(self) -> None:
        if not _backend_ok(self.backend):
            raise NoKeyringError(
                "No usable OS keyring was found, so secrets cannot be stored safely.",
                hint="On Linux install and unlock a Secret Service (gnome-keyring or KWallet), "
                "e.g. 'apt install gnome-keyring'; Switchboard never stores secrets in plain text.",
            )

    def get(self, name: str) -> str | None:
        self.check()
        try:
            value = self.backend.get_password(self.service, name)
        except Exception as exc:
            raise SecretError(
                f"The keyring refused to read secret {name!r}: {type(exc).__name__}.",
                hint="Unlock your keyring and try again.",
            ) from exc
        return value if isinstance(value, str) else None

    def set(self, name: str, value: str) -> None:
        """Store a value. Front ends check names with :func:`validate_secret_name`
        first; internal users (auth keys) may use their own naming."""
        self.check()
        try:
            self.backend.set_password(self.service, name, value)
        except Exception as exc:
            raise SecretError(
                f"The keyring refused to store secret {name!r}: {type(exc).__name__}.",
                hint="Unlock your keyring and try again.",
            ) from exc
        self._index_update(add=name)

    def has(self, name: str) -> bool:
        return self.get(name) is not None

    def names(self) -> list[str]:
        """Names of the secrets this instance stored (from the index; never values)."""
        with self._index_lock:
            return sorted(self._index_read())

    def _index_read(self) -> builtins.set[str]:
        if self.index_path is None:
            return builtins.set()
        try:
            data = json.loads(self.index_path.read_text("utf-8"))
        except FileNotFoundError:
            return builtins.set()
        except (OSError, ValueError) as exc:
            log.warning(
                "secret names index %s unreadable (%s); starting a new one", self.index_path, exc
            )
            return builtins.set()
        names = data.get("names", []) if isinstance(data, dict) else []
        return {n for n in names if isinstance(n, str)}

    def _index_update(self, *, add: str | None = None, remove: str | None = None) -> None:
        if self.index_path is None:
            return
        with self._index_lock:
            names = self._index_read()
            before = builtins.set(names)
            if add:
                names.add(add)
            if remove:
                names.discard(remove)
            if names == before and self.index_path.exists():
                return
            doc = {
                "comment": "Names of Switchboard's keyring secrets (never values).",
                "names": sorted(names),
            }
            atomic_write(self.index_path, (json.dumps(doc, indent=2) + "\n").encode(), mode=0o600)

    def delete(self, name: str) -> bool:
        self.check()
        import keyring.errors

        try:
            self.backend.delete_password(self.service, name)
        except keyring.errors.PasswordDeleteError:
            self._index_update(remove=name)
            return False
        except Exception as exc:
            raise SecretError(
                f"The keyring refused to delete secret {name!r}: {type(exc).__name__}.",
                hint="Unlock your keyring and try again.",
            ) from exc
        self._index_update(remove=name)
        return True

    async def aget(self, name: str) -> str | None:
        return await asyncio.to_thread(self.get, name)

    async def aset(self, name: str, value: str) -> None:
        await asyncio.to_thread(self.set, name, value)

    async def adelete(self, name: str) -> bool:
        return await asyncio.to_thread(self.delete, name)

    async def anames(self) -> list[str]:
        return await asyncio.to_thread(self.names)

    async def resolve(self, refs: Mapping[str, str]) -> dict[str, str]:
        """{ENV: secret name} -> {ENV: value}; a missing secret is an error naming it."""
        if not refs:
            return {}

        def work() -> dict[str, str]:
            out: dict[str, str] = {}
            for env, name in refs.items():
                value = self.get(name)
                if value is None:
                    raise SecretError(
                        f"Secret {name!r} (for {env}) is not set.",
                        hint=f"Set it with 'switchboard secret set {name}' or in the app.",
                    )
                out[env] = value
            return out

        return await asyncio.to_thread(work)


_default = SecretStore()


async def keyring_resolver(refs: Mapping[str, str]) -> dict[str, str]:
    """The production secret resolver handed to the supervisor."""
    return await _default.resolve(refs)
