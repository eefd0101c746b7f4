"""Keyrings for tests, so no test touches the real user's keyring.

Two interfaces: Switchboard's secret store (``check``/``get``/``set``, what
``AuthService(secret_store=...)`` and the connect client take) and a backend of the
``keyring`` library (``get_password``/``set_password``/``delete_password``, what
:class:`switchboard.secrets.store.SecretStore` wraps).
"""

from __future__ import annotations

from typing import Any

import keyring.errors

from switchboard.core.errors import NoKeyringError, SecretError


class NoKeyring:
    """A secret store on a system without a keyring (no Secret Service)."""

    def check(self) -> None:
        raise NoKeyringError("no keyring", hint="install one")


class RefusingKeyring:
    """A secret store that is there but refuses to read (locked, D-Bus trouble)."""

    def check(self) -> None:
        pass

    def get(self, name: str) -> str | None:
        raise SecretError("refused", hint="unlock")


class MemorySecretStore:
    """A secret store in memory; ``values`` is shared with the caller when given."""

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        self.values: dict[str, Any] = {} if values is None else values

    def check(self) -> None:
        pass

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value


class MemoryKeyringBackend:
    """A ``keyring`` backend in memory (the real Secret Service is tested by secrets/)."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, name: str) -> str | None:
        return self.values.get((service, name))

    def set_password(self, service: str, name: str, value: str) -> None:
        self.values[(service, name)] = value

    def delete_password(self, service: str, name: str) -> None:
        if (service, name) not in self.values:
            raise keyring.errors.PasswordDeleteError("not found")
        del self.values[(service, name)]
