"""The gateway's default authenticator: loopback only, no tokens.

The auth port itself (``Principal``, ``AuthDenied``, ``ANONYMOUS``, the
``Authenticator`` Protocol) lives in :mod:`switchboard.core.auth`. Until a server
needs tokens, :class:`LoopbackOnly` lets loopback requests with an acceptable Origin
through (the Origin/Host guard ran already); the composition root
(``switchboard.composition``) puts the auth service in its place.
"""

from __future__ import annotations

from switchboard.core.auth import ANONYMOUS, Principal
from switchboard.core.group import GroupSpec
from switchboard.core.spec import ServerSpec


class LoopbackOnly:
    """No tokens: every request that got past the Origin/Host guard is allowed."""

    async def authenticate(
        self, *, server: ServerSpec | GroupSpec, resource: str, authorization: str | None
    ) -> Principal:
        return ANONYMOUS
