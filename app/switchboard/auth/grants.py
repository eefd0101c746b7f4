"""The grants: how a token request is answered (RFC 6749 §4, on authlib's grant classes).

- :class:`AuthorizationCodeGrant`: the authorization code grant (RFC 6749 §4.1) with PKCE
  mandatory and S256 only (:class:`S256Only`, RFC 7636, OAuth 2.1 §4.1.1); a code used
  twice revokes what it produced (RFC 6749 §4.1.2); codes live in memory for
  :data:`CODE_TTL`.
- :class:`RefreshTokenGrant`: refresh tokens rotate on every use, and a rotated one that
  comes back revokes its grant (reuse detection, RFC 9700 §4.14.2). Lifetime:
  :func:`refresh_ttl`.
- :class:`ClientCredentialsGrant`: only for the first-party client (``switchboard
  connect``), for exactly one ``resource``.

The token endpoint may narrow a multi-server grant to one resource (RFC 8707 §2.2,
:func:`switchboard.auth.targets.token_target`).
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import OAuth2Request, grants
from authlib.oauth2.rfc6749 import errors as oauth_errors
from authlib.oauth2.rfc7636 import CodeChallenge

from switchboard.auth.models import AUTH_METHODS, AuthCode, Client, GrantUser, RefreshToken
from switchboard.auth.store import GrantRecord
from switchboard.auth.targets import InvalidTargetError, token_target
from switchboard.core.audit import SUCCESS

if TYPE_CHECKING:
    from switchboard.auth.server import OAuthServer

log = logging.getLogger("switchboard.auth")

CODE_TTL = 120.0
REFRESH_TTL = 30 * 86400.0
"""Refresh-token lifetime of a grant approved without "remember": counted from the
approval, not renewed by rotation (then the client asks the person again)."""
REMEMBERED_REFRESH_TTL = 90 * 86400.0
"""A remembered grant's refresh token lives this long after its last use (sliding), so
a remembered client rarely needs a new authorization; rotation and reuse detection
(RFC 9700 §4.14.2) stay."""


class S256Only(CodeChallenge):  # type: ignore[misc]
    """PKCE is mandatory and only S256 is accepted (OAuth 2.1 §4.1.1; no ``plain``)."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ("S256",)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise oauth_errors.InvalidRequestError("PKCE is required: send code_challenge.")
        if data.get("code_challenge_method") != "S256":
            raise oauth_errors.InvalidRequestError("code_challenge_method must be S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: AuthCode) -> str:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: AuthCode) -> str:
        return authorization_code.code_challenge_method


class _OurGrant:
    """What our grants share: client authentication methods, the :class:`OAuthServer`
    behind authlib's server, and the RFC 8707 §2.2 target of the token request."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    server: Any
    _target = ""

    @property
    def owner(self) -> OAuthServer:
        owner: OAuthServer = self.server.owner
        return owner


class AuthorizationCodeGrant(_OurGrant, grants.AuthorizationCodeGrant):  # type: ignore[misc]
    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        self.owner.prune_codes()
        data = request.payload.data
        self.owner.codes[code] = AuthCode(
            code=code,
            client_id=request.client.client_id,
            redirect_uri=data.get("redirect_uri") or "",
            scope=request.scope,
            user=request.user,
            code_challenge=data.get("code_challenge", ""),
            code_challenge_method=data.get("code_challenge_method", "S256"),
            expires_at=self.owner.clock() + CODE_TTL,
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthCode | None:
        owner = self.owner
        used_grant = owner.used_codes.get(code)
        if used_grant is not None:
            # RFC 6749 §4.1.2: a code used twice revokes what it produced.
            owner.revoke_grant_sync(used_grant, "authorization_code_reuse")
            return None
        item = owner.codes.get(code)
        if item is None or item.client_id != client.client_id:
            return None
        if owner.clock() >= item.expires_at:
            owner.codes.pop(code, None)
            return None
        return item

    def delete_authorization_code(self, authorization_code: AuthCode) -> None:
        self.owner.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: AuthCode) -> GrantUser:
        owner = self.owner
        user = authorization_code.user
        grant_id = user.grant_id or secrets.token_hex(12)  # CLI-safe: never "-..."
        owner.store.add_grant(
            GrantRecord(
                id=grant_id,
                client_id=authorization_code.client_id,
                server=user.server,
                resource=user.resource,
                scope=authorization_code.scope,
                subject=user.subject,
                created_at=owner.clock(),
                redirect_uri=authorization_code.redirect_uri,
            )
        )
        owner.used_codes[authorization_code.code] = grant_id
        owner.audit.emit(
            "sign_in",
            actor=authorization_code.client_id,
            target=user.server,
            outcome=SUCCESS,
            client_name=getattr(self.request.client, "name", None),
            redirect_host=urlsplit(authorization_code.redirect_uri).netloc or None,
            grant=grant_id,
            grant_type="authorization_code",
        )
        return dataclasses.replace(
            user, grant_id=grant_id, scope=authorization_code.scope, target=self._target
        )

    def validate_token_request(self) -> None:
        super().validate_token_request()
        self._target = token_target(self, self.request.authorization_code.user.resource)


class RefreshTokenGrant(_OurGrant, grants.RefreshTokenGrant):  # type: ignore[misc]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshToken | None:
        owner = self.owner
        record = owner.store.get_refresh(refresh_token)
        if record is None:
            return None
        if record.used_at is not None:
            # RFC 9700 §4.14.2: a rotated refresh token came back; someone has a copy.
            log.warning("refresh token reuse on grant %s: revoking the grant", record.grant_id)
            owner.revoke_grant_sync(record.grant_id, "refresh_token_reuse")
            return None
        grant = owner.store.get_grant(record.grant_id)
        if grant is None or grant.revoked_at is not None:
            return None
        tok = RefreshToken(record, grant, refresh_token, owner.clock())
        if tok.is_expired():
            return None
        return tok

    def authenticate_user(self, refresh_token: RefreshToken) -> GrantUser:
        return dataclasses.replace(refresh_token.get_user(), target=self._target)

    def validate_token_request(self) -> None:
        super().validate_token_request()
        self._target = token_target(self, self.request.refresh_token.grant.resource)

    def revoke_old_credential(self, refresh_token: RefreshToken) -> None:
        self.owner.store.mark_refresh_used(refresh_token.token)


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    """Only for the first-party client (``switchboard connect``); needs ``resource``."""

    TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")

    def create_token_response(self) -> tuple[int, Any, Any]:
        owner: OAuthServer = self.server.owner
        values = self.request.payload.datalist.get("resource", [])
        if len(values) != 1:
            raise InvalidTargetError("Send exactly one resource.")
        server = owner.resolve_resource(values[0])
        if server is None:
            raise InvalidTargetError("Unknown resource.")
        scope = self.request.client.get_allowed_scope(self.request.payload.scope)
        user = GrantUser(None, self.request.client.client_id, server, values[0], scope)
        token = self.generate_token(user=user, scope=scope, include_refresh_token=False)
        self.request.user = user
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


def save_token(owner: OAuthServer, token: dict[str, Any], request: OAuth2Request) -> None:
    """Blocking (worker thread): the refresh token (hashed) and the grant's last use."""
    refresh = token.get("refresh_token")
    user: GrantUser | None = request.user
    if user is None or not user.grant_id:
        return
    client_id = request.client.client_id
    if refresh:
        ttl = refresh_ttl(owner, user.grant_id, client_id, user.server)
        owner.store.add_refresh(refresh, user.grant_id, client_id, token["scope"], ttl)
    owner.store.touch_grant(user.grant_id)


def refresh_ttl(owner: OAuthServer, grant_id: str, client_id: str, server: str) -> float:
    """Blocking: :data:`REMEMBERED_REFRESH_TTL` from now for a remembered grant (every
    server of it remembered), else what is left of :data:`REFRESH_TTL` since the
    grant was approved."""
    names = server.split()
    if names and all(owner.store.get_consent(client_id, n) is not None for n in names):
        return REMEMBERED_REFRESH_TTL
    grant = owner.store.get_grant(grant_id)
    if grant is None:
        return REFRESH_TTL
    return max(0.0, min(REFRESH_TTL, grant.created_at + REFRESH_TTL - owner.clock()))
