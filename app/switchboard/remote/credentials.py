"""The credentials of one remote server's upstream requests.

Either the OAuth tokens of a sign-in (``oauth.py``; refreshed ``REFRESH_SKEW`` seconds
before they expire, and once more when the server answers 401 anyway) or static
headers whose values are keyring secrets (API keys). They go upstream only: the
stream puts them on its own requests and nothing else ever reads them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from switchboard.remote.discovery import Challenge
from switchboard.remote.oauth import OAuthClient, SignInRequired
from switchboard.remote.vault import TokenSet

log = logging.getLogger("switchboard.remote")

REFRESH_SKEW = 60.0
"""Refresh an access token this many seconds before it expires (a quarter of its
lifetime for tokens that live less than four minutes)."""

HeaderResolver = Callable[[Mapping[str, str]], Awaitable[dict[str, str]]]


class Credentials:
    """Authorization for one remote server's upstream HTTP requests."""

    def __init__(
        self,
        name: str,
        oauth: OAuthClient,
        *,
        static: Mapping[str, str],
        resolve: HeaderResolver,
        clock: Callable[[], float],
    ) -> None:
        self.name = name
        self._oauth = oauth
        self._static_refs = dict(static)
        self._resolve = resolve
        self._clock = clock
        self._static: dict[str, str] = {}
        self.tokens: TokenSet | None = None
        self.challenge = Challenge()
        """The last 401/403 challenge (sign-in starts discovery from it)."""
        self.step_up: tuple[str, ...] = ()
        """Scopes a 403 insufficient_scope asked for (MCP "Scope Challenge Handling")."""
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        """Read the keyring (at every start: a sign-in in between is picked up)."""
        self._static = await self._resolve(self._static_refs) if self._static_refs else {}
        self.tokens = await self._oauth.vault.tokens(self.name)

    @property
    def signed_in(self) -> bool:
        return self.tokens is not None

    async def headers(self) -> dict[str, str]:
        """The headers of the next upstream request (refreshing a token due to expire)."""
        out = dict(self._static)
        tokens = self.tokens
        if tokens is not None:
            skew = min(REFRESH_SKEW, (tokens.lifetime or 4 * REFRESH_SKEW) / 4)
            if tokens.expires_at is not None and tokens.expires_at - skew <= self._clock():
                tokens = await self._refresh(tokens)
            out["Authorization"] = f"Bearer {tokens.access_token}"
        return out

    async def _refresh(self, seen: TokenSet) -> TokenSet:
        async with self._lock:
            current = self.tokens
            if current is None:
                raise SignInRequired(
                    f"Remote server {self.name!r} needs sign-in.", hint="Sign in again."
                )
            if current.access_token != seen.access_token:
                return current  # another request refreshed it meanwhile
            try:
                self.tokens = await self._oauth.refresh(self.name, current)
            except SignInRequired:
                self.tokens = None
                raise
            return self.tokens

    async def unauthorized(self, challenge: Challenge, sent: str | None) -> bool:
        """The server answered 401 (RFC 6750 §3.1): refresh once and retry (True), or
        raise SignInRequired. ``sent`` is the Authorization value that was refused."""
        self.challenge = challenge
        tokens = self.tokens
        if tokens is None or sent is None:
            raise SignInRequired(
                f"Remote server {self.name!r} needs sign-in.",
                hint=f"Sign in: 'switchboard signin {self.name}' or from the window.",
            )
        if sent != f"Bearer {tokens.access_token}":
            return True  # refreshed since that request went out
        await self._refresh(tokens)
        return True

    def insufficient_scope(self, challenge: Challenge) -> SignInRequired:
        """403 insufficient_scope: a new sign-in asking for the scopes named."""
        self.challenge = challenge
        self.step_up = tuple(challenge.scope.split()) if challenge.scope else ()
        return SignInRequired(
            f"Remote server {self.name!r} needs more permissions"
            + (f" ({challenge.scope})" if challenge.scope else "")
            + ".",
            hint=f"Sign in again to grant them: 'switchboard signin {self.name}'.",
        )
