"""The auth port: who is calling (``Principal``) and the check the gateway asks for.

The gateway calls :meth:`Authenticator.authenticate` for every MCP request (MCP
authorization spec 2025-06-18, "Authorization"; RFC 6750 §3 for the 401/403 answers,
RFC 9728 §5.1 for the ``resource_metadata`` parameter). ``auth/`` implements it
(``auth.service.AuthService``); the gateway only depends on this module, so neither
package imports the other for it. Until a server needs tokens the gateway uses
``gateway.authentication.LoopbackOnly``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from switchboard.core.group import GroupSpec
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
    """Decides whether a request may reach ``server``: one server, or a group (its
    ``/groups/<name>/mcp`` endpoint; a group's token is for the group's URL only)."""

    async def authenticate(
        self, *, server: ServerSpec | GroupSpec, resource: str, authorization: str | None
    ) -> Principal:
        """``resource`` is the exact MCP URL of the server or group as the client used it.
        ``authorization`` is the raw Authorization header (None if absent).
        Returns the caller or raises :class:`AuthDenied`."""
        ...
