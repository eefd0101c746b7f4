"""The first-party client: how ``switchboard connect`` (the stdio bridge) gets tokens.

The engine registers a confidential client ``switchboard-cli`` whose secret lives in the
OS keyring (or an owner-only file when there is none). :func:`get_token` runs in the
bridge's process: it finds the running engine, reads the secret and asks the token
endpoint (client credentials, RFC 8707 ``resource`` = the server's MCP URL) for a
short-lived access token, cached until shortly before it expires.

Every request goes through the engine's private Unix socket, never the TCP port (see
:mod:`switchboard.control.channel`; without Unix sockets, only TCP connections on which
the engine proved itself): after an unclean exit another local user may hold the port,
and must not receive the secret or the admin token.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import threading
import time
from typing import Any

import httpx

from switchboard.auth.targetkeys import GROUPS, key_of, key_url
from switchboard.core.errors import AuthError, EngineNotRunning, SecretError
from switchboard.core.paths import AppPaths
from switchboard.store.atomic import atomic_write

log = logging.getLogger("switchboard.auth")

CLIENT_ID = "switchboard-cli"
SECRET_NAME = "auth-firstparty-secret"  # noqa: S105 - a keyring entry name


def home_key(paths: AppPaths) -> str:
    """Distinguishes keyring entries of several Switchboard homes on one machine."""
    return hashlib.sha256(str(paths.data_dir).encode()).hexdigest()[:12]


class NamedSecrets:
    """A SecretStore view whose names carry the home key (several homes, one keyring)."""

    def __init__(self, store: Any, suffix: str) -> None:
        self._store = store
        self._suffix = suffix

    @property
    def backend(self) -> Any:
        """The keyring backend underneath (None when the store does not say)."""
        return getattr(self._store, "backend", None)

    def check(self) -> None:
        self._store.check()

    def get(self, name: str) -> str | None:
        value = self._store.get(f"{name}:{self._suffix}")
        return value if isinstance(value, str) else None

    def set(self, name: str, value: str) -> None:
        self._store.set(f"{name}:{self._suffix}", value)

    def delete(self, name: str) -> bool:
        return bool(self._store.delete(f"{name}:{self._suffix}"))


def _secret_file(paths: AppPaths) -> Any:
    return paths.config_dir / "firstparty-secret"


def read_secret(store: Any, paths: AppPaths) -> str | None:
    """Blocking: the first-party secret from the keyring, else from the owner-only file."""
    try:
        store.check()
    except SecretError:
        try:
            return str(_secret_file(paths).read_text("utf-8").strip()) or None
        except FileNotFoundError:
            return None
    value = store.get(SECRET_NAME)
    return value if isinstance(value, str) and value else None


def ensure_client(auth_store: Any, store: Any, paths: AppPaths) -> None:
    """Blocking: make sure the first-party client exists and its secret is stored."""
    secret = read_secret(store, paths)
    if secret is None:
        secret = secrets.token_urlsafe(32)
        try:
            store.check()
            store.set(SECRET_NAME, secret)
        except SecretError:
            atomic_write(_secret_file(paths), secret.encode(), mode=0o600)
    auth_store.save_client(
        CLIENT_ID,
        {
            "client_id": CLIENT_ID,
            "client_name": "Switchboard (this computer)",
            "client_secret_hash": hashlib.sha256(secret.encode()).hexdigest(),
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["client_credentials"],
            "response_types": [],
            "redirect_uris": [],
            "first_party": True,
        },
    )


_cache: dict[tuple[str, str], tuple[float, str]] = {}
_cache_lock = threading.Lock()


def get_token(
    paths: AppPaths,
    server: str,
    *,
    kind: str = "servers",
    secret_store: Any = None,
    transport: httpx.BaseTransport | None = None,
    fresh: bool = False,
) -> str:
    """An access token for ``server`` through the running engine (blocking; cached until
    shortly before it expires; ``fresh=True`` skips the cache, e.g. after a 401).
    ``kind="groups"``: ``server`` names a group; the token is for the group's URL only.

    ``transport`` replaces the private channel (tests only).

    Raises EngineNotRunning when no engine runs, UntrustedChannel when its socket is not
    provably this user's, AuthError when it refuses."""
    from switchboard.control import channel

    endpoint = channel.locate(paths)
    base = endpoint.url
    resource = key_url(base, key_of(kind, server))
    key = (str(paths.data_dir), resource)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and time.time() < hit[0] and not fresh:
            return hit[1]
    if secret_store is None:
        from switchboard.secrets import SecretStore

        secret_store = SecretStore()
    try:
        secret = read_secret(NamedSecrets(secret_store, home_key(paths)), paths)
    except SecretError:
        secret = None
    if transport is None:
        transport = channel.transport(endpoint)  # the socket, else proven TCP
    if secret is None:
        # No keyring here (an MCP client may spawn us with a stripped environment): the
        # owner-only admin token may ask the engine's control API instead.
        data = _token_via_control_api(paths, base, server, kind, transport)
        return _remember(key, data)
    try:
        with httpx.Client(transport=transport, timeout=10.0, trust_env=False) as http:
            resp = http.post(
                f"{base}/oauth/token",
                data={"grant_type": "client_credentials", "resource": resource, "scope": "mcp"},
                auth=(CLIENT_ID, secret),
            )
    except httpx.TransportError as exc:
        raise EngineNotRunning(
            f"Switchboard is not running (could not reach it: {exc}).",
            hint="Start the app, or run 'switchboard serve' for the headless engine.",
        ) from exc
    if resp.status_code != 200:
        try:
            code = str(resp.json().get("error", resp.status_code))
        except ValueError:
            code = str(resp.status_code)
        what = "group" if kind == GROUPS else "server"
        raise AuthError(
            f"Switchboard refused a token for the {what} {server!r} ({code}).",
            hint=f"Check that the {what} exists and uses Switchboard's own authorization.",
        )
    return _remember(key, resp.json())


def _remember(key: tuple[str, str], data: dict[str, Any]) -> str:
    token = str(data["access_token"])
    ttl = float(data.get("expires_in", 60))
    with _cache_lock:
        _cache[key] = (time.time() + max(ttl - 30.0, ttl / 2), token)
    return token


def _token_via_control_api(
    paths: AppPaths, base: str, server: str, kind: str, transport: httpx.BaseTransport | None
) -> dict[str, Any]:
    try:
        admin = paths.admin_token_file.read_text("utf-8").strip()
    except OSError:
        raise AuthError(
            "The first-party client credentials are missing and the admin token is unreadable.",
            hint="Run this as the user who runs Switchboard, or restart Switchboard.",
        ) from None
    from switchboard.control.client import ControlClient

    client = ControlClient(base, admin, transport=transport)
    try:
        field = "group" if kind == GROUPS else "server"
        data: dict[str, Any] = client.request("POST", "/auth/token", {field: server})
    finally:
        client.close()
    return data


async def aget_token(paths: AppPaths, server: str, **kwargs: Any) -> str:
    """:func:`get_token` from the event loop (runs it in a thread)."""
    return await asyncio.to_thread(get_token, paths, server, **kwargs)


__all__ = ["CLIENT_ID", "aget_token", "ensure_client", "get_token"]
