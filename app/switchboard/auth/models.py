"""The objects authlib's OAuth 2.1 core works on: clients, grant users, codes, tokens.

- :class:`Client`: a registered client (RFC 7591 registration, a Client ID Metadata
  Document, or the first-party client), with the RFC 8252 §7.3 loopback redirect rule
  (:func:`redirect_matches`);
- :class:`GrantUser`: who approved what for which resource (RFC 8707), carried from the
  consent to the token's ``aud`` (RFC 9068 §2.2);
- :class:`AuthCode`, :class:`RefreshToken`, :class:`AccessToken`: authlib's code and
  token mixins over our store records and verified JWTs (what revocation, RFC 7009, and
  introspection, RFC 7662, look up through :func:`query_any_token`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin

from switchboard.auth.registration import judge_redirect_uri
from switchboard.auth.store import GrantRecord, RefreshRecord
from switchboard.auth.validator import VerifiedToken
from switchboard.core.loopback import host_of, is_loopback_host

if TYPE_CHECKING:
    from switchboard.auth.server import OAuthServer

SCOPE = "mcp"
SCOPES_SUPPORTED = (SCOPE,)
AUTH_METHODS = ["none", "client_secret_basic", "client_secret_post"]


def hash_secret(secret: str) -> str:
    """How a client secret is stored (SHA-256, hex): never the secret itself."""
    return hashlib.sha256(secret.encode()).hexdigest()


def redirect_matches(registered: str, requested: str) -> bool:
    """Exact match, except for a loopback ``http`` redirect: its port may differ (RFC 8252
    §7.3), and a request without a query matches a registration with one (Continue
    registers ``http://localhost:3000/?state=...`` and then authorizes with
    ``http://localhost:3000``; the code reaches the same local listener, and no parameter
    can be added that way). Scheme, host and path always match exactly."""
    if registered == requested:
        return True
    try:
        a, b = urlsplit(registered), urlsplit(requested)
        a_port, b_port = a.port, b.port
    except ValueError:
        return False
    del a_port, b_port
    if a.scheme != "http" or b.scheme != "http" or a.fragment or b.fragment:
        return False
    if "#" in registered or "#" in requested:
        return False
    if host_of(a.hostname or "") != host_of(b.hostname or "") or not is_loopback_host(a.hostname):
        return False
    if a.username or a.password or b.username or b.password:
        return False
    return (a.path or "/") == (b.path or "/") and b.query in ("", a.query)


def redirect_allowed(uri: str) -> bool:
    """A redirect URI we register as is (RFC 8252 §7, see ``auth/registration.py``)."""
    return judge_redirect_uri(uri).accepted


class Client(ClientMixin):  # type: ignore[misc]
    """A registered OAuth client (DCR, CIMD or the first-party client)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = dict(data)
        self.client_id: str = self.data["client_id"]

    @property
    def name(self) -> str:
        return str(self.data.get("client_name") or self.client_id)

    @property
    def auth_method(self) -> str:
        return str(self.data.get("token_endpoint_auth_method", "none"))

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = self.data.get("redirect_uris") or []
        return str(uris[0]) if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        # Every client may ask for the one scope we know; no scope means "mcp".
        if not scope:
            return SCOPE
        wanted = [s for s in scope.split() if s in SCOPES_SUPPORTED]
        return " ".join(dict.fromkeys(wanted))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return any(redirect_matches(r, redirect_uri) for r in self.data.get("redirect_uris", []))

    def check_client_secret(self, client_secret: str) -> bool:
        stored = self.data.get("client_secret_hash")
        return bool(stored) and hmac.compare_digest(hash_secret(client_secret), str(stored))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in self.data.get("response_types", ["code"])

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.data.get("grant_types", ["authorization_code", "refresh_token"])


@dataclasses.dataclass(frozen=True, slots=True)
class GrantUser:
    """The "user" authlib carries through a grant: who approved what for which resource."""

    grant_id: str | None
    subject: str
    server: str
    """One server name, or several separated by spaces (the person picked them)."""
    resource: str
    """Its MCP URL, or the picked servers' URLs separated by spaces (same order)."""
    scope: str
    target: str = ""
    """The one granted resource a token request named (RFC 8707 §2.2 downscoping); ""
    means every granted resource."""

    def audience(self) -> str | list[str]:
        """The access token's ``aud``: one URL as a string, several as an array."""
        if self.target:
            return self.target
        resources = self.resource.split()
        return resources if len(resources) > 1 else self.resource


@dataclasses.dataclass(slots=True)
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: GrantUser
    code_challenge: str
    code_challenge_method: str
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


class RefreshToken(TokenMixin):  # type: ignore[misc]
    def __init__(self, record: RefreshRecord, grant: GrantRecord, token: str, now: float) -> None:
        self.record = record
        self.grant = grant
        self.token = token
        self._now = now

    def check_client(self, client: Client) -> bool:
        return bool(client.client_id == self.record.client_id)

    def get_scope(self) -> str:
        return self.record.scope

    def get_expires_in(self) -> int:
        return int(self.record.expires_at - self.record.issued_at)

    def is_expired(self) -> bool:
        return self._now >= self.record.expires_at

    def is_revoked(self) -> bool:
        return self.grant.revoked_at is not None or self.record.used_at is not None

    def get_user(self) -> GrantUser:
        return GrantUser(
            self.grant.id,
            self.grant.subject,
            self.grant.server,
            self.grant.resource,
            self.grant.scope,
        )

    def get_client(self) -> Any:
        return None


class AccessToken(TokenMixin):  # type: ignore[misc]
    def __init__(self, token: VerifiedToken, revoked: bool) -> None:
        self.token = token
        self.revoked = revoked

    def check_client(self, client: Client) -> bool:
        return bool(client.client_id == self.token.client_id)

    def get_scope(self) -> str:
        return " ".join(sorted(self.token.scopes))

    def get_expires_in(self) -> int:
        return 0

    def is_expired(self) -> bool:
        return time.time() >= self.token.expires_at

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> Any:
        return None

    def get_client(self) -> Any:
        return None


def query_any_token(owner: OAuthServer, token: str) -> RefreshToken | AccessToken | None:
    """A refresh token of ours (by its hash in the store) or one of our access tokens
    (signature, issuer and expiry checked): what RFC 7009 and RFC 7662 act on."""
    record = owner.store.get_refresh(token)
    if record is not None:
        grant = owner.store.get_grant(record.grant_id)
        if grant is None:
            return None
        return RefreshToken(record, grant, token, owner.clock())
    vt = owner.verify_own_token_sync(token)
    if vt is None:
        return None
    return AccessToken(vt, owner.token_revoked(vt))
