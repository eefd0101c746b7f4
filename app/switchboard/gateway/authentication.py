"""The gateway's auth slot: what the gateway asks before it forwards a request.

The gateway calls ``Authenticator.authenticate`` for every MCP request. The auth
package implements it (our issuer with in-process keys, or an external issuer's
HTTP JWKS); until a server needs tokens, :class:`LoopbackOnly` lets loopback
requests with an acceptable Origin through (the Origin/Host guard ran already).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from switchboard.core.spec import ServerSpec


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: from a validated token, or the anonymous loopback caller."""

    subject: str
    client_id: str | None = None
    scopes: frozenset[str] = frozenset()
    token_id: str | None = None


ANONYMOUS = Principal(subject="anonymous-loopback")


class AuthDenied(Exception):
    """Raised by an Authenticator: the gateway answers with exactly this response.

    ``status`` is 401 or 403; ``www_authenticate`` is the full header value (RFC 6750 /
    RFC 9728); ``body`` is a small JSON object without internal exception text.
    """

    def __init__(self, status: int, www_authenticate: str, body: dict[str, Any]) -> None:
        super().__init__(body.get("error", "unauthorized"))
        self.status = status
        self.www_authenticate = www_authenticate
        self.body = body


class Authenticator(Protocol):
    """Decides whether a request may reach ``server``."""

    async def authenticate(
        self, *, server: ServerSpec, resource: str, authorization: str | None
    ) -> Principal:
        """``resource`` is the exact MCP URL of the server as the client used it.
        ``authorization`` is the raw Authorization header (None if absent).
        Returns the caller or raises :class:`AuthDenied`."""
        ...


class LoopbackOnly:
    """No tokens: every request that got past the Origin/Host guard is allowed."""

    async def authenticate(
        self, *, server: ServerSpec, resource: str, authorization: str | None
    ) -> Principal:
        return ANONYMOUS
