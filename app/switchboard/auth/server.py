"""The embedded OAuth 2.1 authorization server: authlib's core bound to our state and routes.

:class:`SwitchboardAuthorizationServer` is authlib's ``AuthorizationServer`` with our
grants, endpoints and the Starlette adapter (``auth/adapter.py``); :class:`OAuthServer`
holds the state they share; :func:`authorization_server_routes` is the one route table
of the authorization server. The concepts live beside it:

- ``auth/grants.py``: authorization code + PKCE S256 only (RFC 6749 §4.1, RFC 7636,
  OAuth 2.1), refresh-token rotation with reuse detection (RFC 9700 §4.14), client
  credentials for the first-party client;
- ``auth/consentpage.py``: the authorization endpoint and its "approve in Switchboard"
  page (the endpoint never approves by itself, see ``auth/consent.py``); RFC 9207 ``iss``
  is added to every authorization response here
  (:meth:`SwitchboardAuthorizationServer.handle_response`);
- ``auth/targets.py``: RFC 8707 ``resource`` → ``aud`` (one server, or the ones the
  person picks);
- ``auth/tokens.py``: RFC 9068 JWT access tokens;
- ``auth/registration_endpoint.py`` (RFC 7591, metadata checked first by
  ``auth/registration.py``; RFC 8252 §7 redirect URIs), ``auth/revocation.py``
  (RFC 7009), ``auth/introspection.py`` (RFC 7662), ``auth/metadata.py`` (RFC 8414);
- Client ID Metadata Documents: ``auth/cimd.py``.

Every URL the server emits (issuer, RFC 8414 endpoints) comes from the configured
listener (``issuer``), never from the request's Host header.
"""

from __future__ import annotations

import functools
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749 import errors as oauth_errors
from authlib.oauth2.rfc6749.requests import JsonRequest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from switchboard.auth import grants
from switchboard.auth.adapter import (
    Result,
    StarletteJsonRequest,
    StarletteOAuth2Request,
    read_request,
    run,
)
from switchboard.auth.cimd import ClientMetadataResolver
from switchboard.auth.consent import ConsentBroker
from switchboard.auth.consentpage import (
    PendingAuthorization,
    authorize,
    continue_authorization,
    forget_expired,
)
from switchboard.auth.introspection import Introspection, introspect
from switchboard.auth.keys import KeyProvider
from switchboard.auth.metadata import authorization_server_metadata, jwks, openid_configuration
from switchboard.auth.models import SCOPES_SUPPORTED, AuthCode, Client, GrantUser
from switchboard.auth.registration import RegistrationLimiter
from switchboard.auth.registration_endpoint import (
    PRUNE_INTERVAL,
    REGISTRATION_CEILING,
    REGISTRATION_LIMIT,
    REGISTRATION_WINDOW,
    UNUSED_CLIENT_TTL,
    RegistrationEndpoint,
    register,
)
from switchboard.auth.revocation import Revocation, revoke
from switchboard.auth.store import AuthStore
from switchboard.auth.tokens import access_token_claims, sign_access_token
from switchboard.auth.validator import TokenInvalid, TokenValidator, VerifiedToken
from switchboard.core.audit import (
    FAILURE,
    NO_AUDIT,
    PERSON,
    SUCCESS,
    SWITCHBOARD,
    AuditSink,
)

log = logging.getLogger("switchboard.auth")


class SwitchboardAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """authlib's AuthorizationServer bound to our store, keys and adapter."""

    def __init__(self, owner: OAuthServer) -> None:
        super().__init__(scopes_supported=list(SCOPES_SUPPORTED))
        self.owner = owner
        self.register_token_generator("default", owner.generate_token)
        self.register_grant(grants.AuthorizationCodeGrant, [grants.S256Only(required=True)])
        self.register_grant(grants.RefreshTokenGrant)
        self.register_grant(grants.ClientCredentialsGrant)
        self.register_endpoint(RegistrationEndpoint)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)

    def query_client(self, client_id: str) -> Client | None:
        return self.owner.query_client(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        grants.save_token(self.owner, token, request)

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        return StarletteOAuth2Request(request)

    def create_json_request(self, request: Any) -> JsonRequest:
        return StarletteJsonRequest(request)

    def handle_response(self, status: int, body: Any, headers: Any) -> Result:
        result = Result(status, body, list(headers or []))
        loc = result.location
        if status == 302 and loc:
            # RFC 9207: every authorization response (success or error) names the issuer.
            sep = "&" if urlsplit(loc).query else "?"
            new = f"{loc}{sep}{urlencode({'iss': self.owner.issuer()})}"
            result.headers = [(k, v) for k, v in result.headers if k.lower() != "location"]
            result.headers.append(("Location", new))
        return result

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass


_REVOKERS = {
    "revoked_by_user": PERSON,
    "authorization_code_reuse": SWITCHBOARD,
    "refresh_token_reuse": SWITCHBOARD,
}
"""Who revoked a grant, by its reason (otherwise the grant's client)."""


class OAuthServer:
    """The authorization server's state, shared by the endpoints and grants (codes in
    memory, the rest in SQLite); its routes come from :func:`authorization_server_routes`."""

    def __init__(
        self,
        *,
        store: AuthStore,
        keys: KeyProvider,
        broker: ConsentBroker,
        issuer: Callable[[], str],
        resolve_resource: Callable[[str], str | None],
        access_token_ttl: Callable[[], int],
        cimd: ClientMetadataResolver,
        clock: Callable[[], float] = time.time,
        subject: str = "local-user",
        registration_limit: int = REGISTRATION_LIMIT,
        registration_ceiling: int = REGISTRATION_CEILING,
        registration_window: float = REGISTRATION_WINDOW,
        server_urls: Callable[[], list[str]] = list,
        group_urls: Callable[[], list[str]] = list,
        group_members: Callable[[str], tuple[str, ...] | None] = lambda key: None,
        unused_client_ttl: float = UNUSED_CLIENT_TTL,
        audit: AuditSink = NO_AUDIT,
    ) -> None:
        self.store = store
        self.audit = audit
        self.keys = keys
        self.broker = broker
        self.issuer = issuer
        self.resolve_resource = resolve_resource
        self.access_token_ttl = access_token_ttl
        self.cimd = cimd
        self.clock = clock
        self.subject = subject
        self.registration_limit = registration_limit
        self.registration_ceiling = registration_ceiling
        self.registration_window = registration_window
        self.server_urls = server_urls
        """The MCP URLs of the servers behind our authorization."""
        self.group_urls = group_urls
        """The MCP URLs of the groups behind our authorization."""
        self.group_members = group_members
        """A group's member servers, by key (None: not a group of ours)."""
        self.limiter = RegistrationLimiter(
            per_source=registration_limit, ceiling=registration_ceiling, window=registration_window
        )
        self.unused_client_ttl = unused_client_ttl
        self.next_prune = 0.0
        self.codes: dict[str, AuthCode] = {}
        self.used_codes: dict[str, str] = {}
        self.revoked_grants: set[str] = set()
        self.revoked_jtis: set[str] = set()
        self.cimd_clients: dict[str, Client] = {}
        """CIMD clients as last resolved (re-resolved on every authorization)."""
        self.pending: dict[str, PendingAuthorization] = {}
        """Authorization requests waiting for the person, by consent request id."""
        broker.on_decided(functools.partial(forget_expired, self))
        self.jwks_requests = 0
        self.server = SwitchboardAuthorizationServer(self)
        self._own_validator = TokenValidator(
            issuer, key_provider=keys, expected_typ="at+jwt", clock=clock, cache_size=0
        )

    # -- state used by the grants (worker threads) ---------------------------------------
    def load_state(self) -> None:
        """Blocking: revoked ids from the database."""
        self.revoked_grants = self.store.revoked_grant_ids()
        self.revoked_jtis = self.store.revoked_jtis()

    def query_client(self, client_id: str) -> Client | None:
        if not client_id:
            return None
        cached = self.cimd_clients.get(client_id)
        if cached is not None:
            return cached
        data = self.store.get_client(client_id)
        return Client(data) if data else None

    def prune_codes(self) -> None:
        """Drop expired codes; remember only the latest used codes (reuse detection)."""
        now = self.clock()
        for code in [c for c, item in self.codes.items() if now >= item.expires_at]:
            self.codes.pop(code, None)
        while len(self.used_codes) > 1000:
            self.used_codes.pop(next(iter(self.used_codes)))

    def registration_retry_after(self, key: str) -> tuple[float, str] | None:
        """Count one registration attempt by source ``key`` (``registration.source_key``);
        (seconds to wait, "source" or "global") when a cap is reached (the attempt is then
        not counted). Event loop only."""
        return self.limiter.retry_after(key, self.clock())

    def prune_unused_clients(self) -> list[str]:
        """Blocking: drop registrations older than ``unused_client_ttl`` that never got a
        grant, refresh token or remembered consent (never the first-party client, never
        one with an authorization in progress)."""
        busy = {c.client_id for c in list(self.codes.values())}
        busy |= {p.grant.client.client_id for p in list(self.pending.values())}
        pruned = self.store.prune_unused_clients(self.unused_client_ttl, keep=busy)
        for client_id in pruned:
            self.cimd_clients.pop(client_id, None)
        if pruned:
            log.info("pruned %d client registration(s) that never got a grant", len(pruned))
        self.next_prune = self.clock() + PRUNE_INTERVAL
        return pruned

    def token_revoked(self, vt: VerifiedToken) -> bool:
        return (vt.grant_id is not None and vt.grant_id in self.revoked_grants) or (
            vt.token_id is not None and vt.token_id in self.revoked_jtis
        )

    def revoke_grant_sync(self, grant_id: str, reason: str) -> bool:
        self.revoked_grants.add(grant_id)
        revoked = self.store.revoke_grant(grant_id, reason)
        if revoked:
            grant = self.store.get_grant(grant_id)
            client = grant.client_id if grant is not None else None
            self.audit.emit(
                "grant_revoked",
                actor=_REVOKERS.get(reason, client),
                target=grant.server if grant is not None else None,
                outcome=SUCCESS,
                reason=reason,
                client=client,
                grant=grant_id,
            )
        return revoked

    def revoke_jti_sync(self, jti: str, expires_at: float, client_id: str | None = None) -> None:
        self.revoked_jtis.add(jti)
        self.store.revoke_jti(jti, expires_at)
        self.audit.emit(
            "token_revoked", actor=client_id, outcome=SUCCESS, reason="revoked_by_client", jti=jti
        )

    def verify_own_token_sync(self, token: str) -> VerifiedToken | None:
        """One of our access tokens, checked for signature, issuer and expiry (any audience)."""
        try:
            return self._own_validator.verify_local(token)
        except TokenInvalid:
            return None

    def generate_token(
        self,
        grant_type: str,
        client: Client,
        user: GrantUser | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        """authlib's token generator: an RFC 9068 JWT access token (``auth/tokens.py``)
        and, unless told not to, a refresh token (stored by :func:`grants.save_token`)."""
        if user is None:
            raise oauth_errors.InvalidRequestError("No grant for this token request.")
        ttl = int(self.access_token_ttl())
        scope = scope or user.scope
        claims = access_token_claims(
            issuer=self.issuer(),
            user=user,
            client_id=client.client_id,
            scope=scope,
            now=int(self.clock()),
            ttl=ttl,
        )
        kid, key = self.keys.signing_key()
        token: dict[str, Any] = {
            "access_token": sign_access_token(claims, kid, key),
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": scope,
        }
        if include_refresh_token:
            token["refresh_token"] = secrets.token_urlsafe(32)
        return token


async def token(owner: OAuthServer, request: Request) -> Response:
    """``POST /oauth/token`` (RFC 6749 §3.2): the grants in ``auth/grants.py``."""
    incoming = await read_request(request)
    if isinstance(incoming, Response):
        return incoming
    response = await run(owner.server.create_token_response, incoming)
    if response.status_code >= 400:
        try:
            error = json.loads(bytes(response.body)).get("error")
        except (ValueError, AttributeError):
            error = None
        owner.audit.emit(
            "token_failed",
            actor=incoming.form.get("client_id") or None,
            outcome=FAILURE,
            reason=error if isinstance(error, str) else f"HTTP {response.status_code}",
            grant_type=incoming.form.get("grant_type"),
            status=response.status_code,
        )
    return response


Handler = Callable[["OAuthServer", Request], Awaitable[Response]]

ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("/.well-known/oauth-authorization-server", "GET", authorization_server_metadata),
    ("/.well-known/openid-configuration", "GET", openid_configuration),
    ("/oauth/jwks.json", "GET", jwks),
    ("/oauth/authorize", "GET", authorize),
    ("/oauth/authorize/continue", "POST", continue_authorization),
    ("/oauth/token", "POST", token),
    ("/oauth/register", "POST", register),
    ("/oauth/revoke", "POST", revoke),
    ("/oauth/introspect", "POST", introspect),
)
"""The authorization server's endpoints: (path, method, handler)."""


def authorization_server_routes(oauth: Callable[[], OAuthServer | None]) -> list[BaseRoute]:
    """Every route of the authorization server. ``oauth()`` is looked up per request
    (the engine mounts the routes before its auth service has started): while it is
    None the endpoints answer 503."""

    def bind(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            owner = oauth()
            if owner is None:
                return JSONResponse({"error": "temporarily_unavailable"}, status_code=503)
            return await handler(owner, request)

        return endpoint

    return [Route(path, bind(handler), methods=[method]) for path, method, handler in ROUTES]
