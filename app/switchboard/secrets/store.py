"""Secrets in the OS keyring (Secret Service, macOS Keychain, Windows Credential Locker).

Server specs hold only secret *names*; values live in the keyring and reach a server
only through its environment at spawn. There is no plaintext fallback: without a
usable keyring every call raises NoKeyringError saying how to get one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from switchboard.core.errors import NoKeyringError, SecretError

log = logging.getLogger("switchboard.secrets")

SERVICE = "switchboard"


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

    def __init__(self, service: str = SERVICE, backend: Any = None) -> None:
        self.service = service
        self._backend = backend

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
        self.check()
        try:
            self.backend.set_password(self.service, name, value)
        except Exception as exc:
            raise SecretError(
                f"The keyring refused to store secret {name!r}: {type(exc).__name__}.",
                hint="Unlock your keyring and try again.",
            ) from exc

    def delete(self, name: str) -> bool:
        self.check()
        import keyring.errors

        try:
            self.backend.delete_password(self.service, name)
        except keyring.errors.PasswordDeleteError:
            return False
        except Exception as exc:
            raise SecretError(
                f"The keyring refused to delete secret {name!r}: {type(exc).__name__}.",
                hint="Unlock your keyring and try again.",
            ) from exc
        return True

    async def aget(self, name: str) -> str | None:
        return await asyncio.to_thread(self.get, name)

    async def aset(self, name: str, value: str) -> None:
        await asyncio.to_thread(self.set, name, value)

    async def adelete(self, name: str) -> bool:
        return await asyncio.to_thread(self.delete, name)

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
