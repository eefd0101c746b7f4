"""Upstream credentials of remote servers, in the OS keyring only (never in files).

Two entries per server, JSON in the keyring's service ``switchboard``:
``remote.<name>.tokens`` (access/refresh token, expiry, the endpoints refresh needs)
and ``remote.<name>.client`` (the OAuth client Switchboard registered with the
provider: RFC 7591 registration, kept across sign-outs so a new sign-in reuses it).
A manual client's secret is ``remote.<name>.client-secret`` (set by the person).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any, Protocol

from switchboard.core.errors import SecretError

log = logging.getLogger("switchboard.remote")


class SecretBackend(Protocol):
    """The part of :class:`switchboard.secrets.SecretStore` the vault uses."""

    async def aget(self, name: str) -> str | None: ...
    async def aset(self, name: str, value: str) -> None: ...
    async def adelete(self, name: str) -> bool: ...


def tokens_key(name: str) -> str:
    return f"remote.{name}.tokens"


def client_key(name: str) -> str:
    return f"remote.{name}.client"


def client_secret_key(name: str) -> str:
    return f"remote.{name}.client-secret"


@dataclasses.dataclass(slots=True)
class TokenSet:
    """What a sign-in leaves: tokens plus what refreshing them needs."""

    access_token: str
    token_endpoint: str
    client_id: str
    resource: str
    refresh_token: str | None = None
    expires_at: float | None = None
    """Epoch seconds (from ``expires_in``, RFC 6749 §5.1); None: unknown."""
    lifetime: float | None = None
    """The ``expires_in`` it was issued with (how early to refresh depends on it)."""
    scope: str = ""
    issuer: str = ""
    revocation_endpoint: str | None = None
    account: str = ""
    """Who signed in, when the provider says (an id_token's email/name/sub)."""
    client_secret: str | None = None
    auth_method: str = "none"
    """RFC 7591 token_endpoint_auth_method of the client: none / client_secret_basic / _post."""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> TokenSet | None:
        try:
            data = json.loads(text)
            fields = {f.name for f in dataclasses.fields(cls)}
            return cls(**{k: v for k, v in data.items() if k in fields})
        except (ValueError, TypeError, AttributeError):
            log.warning("a stored remote token entry is unreadable; a new sign-in is needed")
            return None


class Vault:
    """Reads and writes the keyring entries above."""

    def __init__(self, secrets: SecretBackend) -> None:
        self._secrets = secrets

    async def tokens(self, name: str) -> TokenSet | None:
        text = await self._secrets.aget(tokens_key(name))
        return TokenSet.from_json(text) if text else None

    async def save_tokens(self, name: str, tokens: TokenSet) -> None:
        await self._secrets.aset(tokens_key(name), tokens.to_json())

    async def forget_tokens(self, name: str) -> None:
        await self._secrets.adelete(tokens_key(name))

    async def client(self, name: str) -> dict[str, Any] | None:
        text = await self._secrets.aget(client_key(name))
        if not text:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    async def save_client(self, name: str, client: dict[str, Any]) -> None:
        await self._secrets.aset(client_key(name), json.dumps(client))

    async def client_secret(self, name: str) -> str | None:
        return await self._secrets.aget(client_secret_key(name))

    async def forget_all(self, name: str) -> None:
        """Everything of a removed server."""
        for key in (tokens_key(name), client_key(name)):
            try:
                await self._secrets.adelete(key)
            except SecretError as exc:
                log.warning("could not delete %s from the keyring: %s", key, exc.message)
