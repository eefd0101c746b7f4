"""The embedded OAuth 2.1 authorization server: authlib's core plus a thin Starlette adapter.

authlib's server core is synchronous. The adapter reads the request body first
(``await request.form()`` / JSON), builds an :class:`OAuth2Request` carrying that payload,
and runs authlib in a worker thread (so its SQLite calls stay off the event loop). The
consent wait is the only async part of the authorization endpoint and happens outside
authlib: the endpoint never approves by itself (see ``auth/consent.py``).

Implements: RFC 6749 authorization code grant with PKCE S256 only (RFC 7636, OAuth 2.1),
RFC 8252 §7 redirect URIs (loopback port rule; private-use app schemes; off-machine
redirects dropped, see ``auth/registration.py``), RFC 9207 ``iss``, RFC 8707 ``resource`` →
``aud``, RFC 9068 JWT access tokens, refresh-token rotation with reuse detection (RFC 9700
§4.14), RFC 7591 registration (metadata checked before authlib; caps per source),
Client ID Metadata Documents, RFC 7009 revocation, RFC 7662 introspection, client
credentials for the first-party client.

``resource`` (RFC 8707 §2 lets the server refuse or pick a default): an authorization
request names one MCP URL of this gateway (``http://127.0.0.1:PORT/servers/NAME/mcp``, or
``.../sse``), or names none: no resource at all (Codex without ``oauth_resource``, rmcp
clients such as older Goose) or exactly this gateway's origin (older Gemini CLI). For
those the default audience is what the person picks: the consent request is a "choose
servers" one, and the code, grant, refresh token and access token (``aud`` an array,
RFC 9068 §2.2) carry the picked servers' MCP URLs. Any other resource (another origin,
an unknown server) is refused with ``invalid_target`` and a description naming the MCP
URL(s) to configure. The token request may omit ``resource`` (a token for everything
granted) or name one granted URL (a token for that one only, RFC 8707 §2.2); anything
else is ``invalid_target``.

Every URL the server emits (issuer, RFC 8414 endpoints) comes from the configured
listener (``issuer``), never from the request's Host header.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import html
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (
    ClientMixin,
    OAuth2Request,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc6749 import errors as oauth_errors
from authlib.oauth2.rfc6749.requests import JsonRequest
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7591 import ClientMetadataClaims, ClientRegistrationEndpoint
from authlib.oauth2.rfc7591.errors import InvalidRedirectURIError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from switchboard.auth.cimd import CIMDError, ClientMetadataResolver, is_cimd_client_id
from switchboard.auth.consent import ConsentBroker, Decision
from switchboard.auth.keys import ALG, KeyProvider
from switchboard.auth.registration import (
    LOOPBACK_REDIRECT_HOSTS,
    REFUSED_FIELD,
    RegistrationLimiter,
    RegistrationRejected,
    clean_metadata,
    judge_redirect_uri,
    source_key,
)
from switchboard.auth.store import AuthStore, GrantRecord, RefreshRecord
from switchboard.auth.validator import TokenInvalid, TokenValidator, VerifiedToken
from switchboard.core.loopback import canonical_url

log = logging.getLogger("switchboard.auth")

SCOPE = "mcp"
SCOPES_SUPPORTED = (SCOPE,)
AUTH_METHODS = ["none", "client_secret_basic", "client_secret_post"]
CODE_TTL = 120.0
REFRESH_TTL = 30 * 86400.0
"""Refresh-token lifetime of a grant approved without "remember": counted from the
approval, not renewed by rotation (then the client asks the person again)."""
REMEMBERED_REFRESH_TTL = 90 * 86400.0
"""A remembered grant's refresh token lives this long after its last use (sliding), so
a remembered client rarely needs a new authorization; rotation and reuse detection
(RFC 9700 §4.14.2) stay."""
CSRF_COOKIE = "sb_consent_"
MAX_BODY = 64 * 1024
# Dynamic Client Registration hygiene: registration is open on loopback, so cap how fast
# clients can be added (per source, see auth/registration.py, and for all sources together
# so memory and disk stay bounded) and drop registrations that never led to a grant.
REGISTRATION_LIMIT = 20
REGISTRATION_CEILING = 200
REGISTRATION_WINDOW = 60.0
UNUSED_CLIENT_TTL = 86400.0
PRUNE_INTERVAL = 3600.0


class BodyTooLarge(Exception):
    """An OAuth request body above MAX_BODY."""


class InvalidTargetError(oauth_errors.OAuth2Error):  # type: ignore[misc]
    """RFC 8707 §2: the requested resource is unknown or not allowed."""

    error = "invalid_target"
    status_code = 400


# -- models ------------------------------------------------------------------------------
def _hash_secret(secret: str) -> str:
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
    host_a = (a.hostname or "").lower()
    host_b = (b.hostname or "").lower()
    host_a = f"[{host_a}]" if ":" in host_a else host_a
    host_b = f"[{host_b}]" if ":" in host_b else host_b
    if host_a != host_b or host_a not in LOOPBACK_REDIRECT_HOSTS:
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
        return bool(stored) and hmac.compare_digest(_hash_secret(client_secret), str(stored))

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


# -- the adapter -------------------------------------------------------------------------
@dataclasses.dataclass(slots=True)
class Incoming:
    """An HTTP request already read, so authlib can run in a thread."""

    method: str
    url: str
    headers: Mapping[str, str]
    args: dict[str, str]
    form: dict[str, str]
    datalist: dict[str, list[str]]
    json: Any = None

    @classmethod
    async def read(cls, request: Request) -> Incoming:
        """Query parameters for GET; for POST only the body counts (OAuth 2.1 §3.2),
        read with a size cap: urlencoded forms or JSON (registration)."""
        args: dict[str, str] = {}
        datalist: dict[str, list[str]] = {}
        for k, v in request.query_params.multi_items():
            args.setdefault(k, v)
            if request.method != "POST":
                datalist.setdefault(k, []).append(v)
        form: dict[str, str] = {}
        body_json: Any = None
        if request.method == "POST":
            raw = await read_capped(request)
            ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype == "application/json":
                try:
                    body_json = json.loads(raw)
                except (ValueError, RecursionError):
                    # RecursionError: a deeply nested body fits in MAX_BODY.
                    body_json = None
            elif ctype == "application/x-www-form-urlencoded":
                try:
                    pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
                except UnicodeDecodeError:
                    pairs = []
                for k, v in pairs:
                    form.setdefault(k, v)
                    datalist.setdefault(k, []).append(v)
        return cls(
            request.method, str(request.url), request.headers, args, form, datalist, body_json
        )


async def read_capped(request: Request) -> bytes:
    """The request body, or BodyTooLarge beyond MAX_BODY (declared or streamed)."""
    try:
        declared = int(request.headers.get("content-length", "0"))
    except ValueError:
        declared = MAX_BODY + 1
    if declared > MAX_BODY:
        raise BodyTooLarge
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise BodyTooLarge
    return raw


class _Payload:
    def __init__(self, incoming: Incoming) -> None:
        self._incoming = incoming
        self.data = incoming.form if incoming.method == "POST" else incoming.args
        self.datalist = incoming.datalist

    @property
    def client_id(self) -> str | None:
        return self.data.get("client_id")

    @property
    def response_type(self) -> str | None:
        rt = self.data.get("response_type")
        return " ".join(sorted(rt.split())) if rt and " " in rt else rt

    @property
    def grant_type(self) -> str | None:
        return self.data.get("grant_type")

    @property
    def redirect_uri(self) -> str | None:
        return self.data.get("redirect_uri")

    @property
    def scope(self) -> str | None:
        return self.data.get("scope")

    @property
    def state(self) -> str | None:
        return self.data.get("state")


class StarletteOAuth2Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, incoming: Incoming) -> None:
        super().__init__(incoming.method, incoming.url, headers=incoming.headers)
        self.incoming = incoming
        self.payload = _Payload(incoming)

    @property
    def args(self) -> dict[str, str]:
        return self.incoming.args

    @property
    def form(self) -> dict[str, str]:
        return self.incoming.form


class _JsonPayload:
    def __init__(self, data: Any) -> None:
        self.data = data if isinstance(data, dict) else {}


class StarletteJsonRequest(JsonRequest):  # type: ignore[misc]
    def __init__(self, incoming: Incoming) -> None:
        super().__init__(incoming.method, incoming.url, incoming.headers)
        self.payload = _JsonPayload(incoming.json)


@dataclasses.dataclass(slots=True)
class Result:
    """authlib's (status, body, headers), kept framework-free until we answer."""

    status: int
    body: Any
    headers: list[tuple[str, str]]

    @property
    def location(self) -> str | None:
        for k, v in self.headers:
            if k.lower() == "location":
                return v
        return None


class SwitchboardAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """authlib's AuthorizationServer bound to our store, keys and adapter."""

    def __init__(self, owner: OAuthServer) -> None:
        super().__init__(scopes_supported=list(SCOPES_SUPPORTED))
        self.owner = owner
        self.register_token_generator("default", owner.generate_token)
        self.register_grant(AuthorizationCodeGrant, [S256Only(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_grant(ClientCredentialsGrant)
        self.register_endpoint(RegistrationEndpoint)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)

    def query_client(self, client_id: str) -> Client | None:
        return self.owner.query_client(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        self.owner.save_token(token, request)

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


def _token_target(grant: Any, granted: str) -> str:
    """RFC 8707 §2.2 at the token endpoint: no ``resource`` (or only the gateway's
    origin) means everything granted; one granted URL gets a token for that one only;
    anything else is invalid_target. Returns the target ("" = all granted)."""
    values = grant.request.payload.datalist.get("resource", [])
    allowed = granted.split()
    if grant.server.owner.names_no_server(values):
        # Older Gemini CLI repeats the origin it authorized with: still "no server named".
        return ""
    if len(values) > 1 or values[0] not in allowed:
        raise InvalidTargetError("The resource is not one this grant covers.")
    return values[0] if len(allowed) > 1 else ""


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    _target = ""

    @property
    def owner(self) -> OAuthServer:
        owner: OAuthServer = self.server.owner
        return owner

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
        return dataclasses.replace(
            user, grant_id=grant_id, scope=authorization_code.scope, target=self._target
        )

    def validate_token_request(self) -> None:
        super().validate_token_request()
        self._target = _token_target(self, self.request.authorization_code.user.resource)


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True
    _target = ""

    @property
    def owner(self) -> OAuthServer:
        owner: OAuthServer = self.server.owner
        return owner

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
        self._target = _token_target(self, self.request.refresh_token.grant.resource)

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


class _ClientMetadataClaims(ClientMetadataClaims):  # type: ignore[misc]
    """authlib's RFC 7591 §2 checks, minus ``redirect_uris``: those were judged already
    (``registration.judge_redirect_uri``) and authlib's URL check refuses the RFC 8252
    §7.1 private-use form ``com.example.app:/callback``."""

    def validate_redirect_uris(self) -> None:
        pass


class RegistrationEndpoint(ClientRegistrationEndpoint):  # type: ignore[misc]
    """RFC 7591 open registration (loopback only; every token still needs consent). The
    request body reaching it was cleaned by ``registration.clean_metadata``."""

    def __init__(self, server: Any = None, claims_classes: Any = None) -> None:
        super().__init__(server, claims_classes or [_ClientMetadataClaims])

    def authenticate_token(self, request: Any) -> str:
        return "anonymous"

    def get_server_metadata(self) -> dict[str, Any]:
        owner: OAuthServer = self.server.owner
        return owner.metadata()

    def _auth_method(self, request: Any) -> str:
        method = request.payload.data.get("token_endpoint_auth_method") or "none"
        return str(method)

    def generate_client_info(self, request: Any) -> dict[str, Any]:
        info: dict[str, Any] = {
            "client_id": self.generate_client_id(request),
            "client_id_issued_at": int(self.server.owner.clock()),
        }
        if self._auth_method(request) != "none":
            info["client_secret"] = self.generate_client_secret(request)
            info["client_secret_expires_at"] = 0
        return info

    def extract_client_metadata(self, request: Any) -> dict[str, Any]:
        metadata: dict[str, Any] = super().extract_client_metadata(request)
        uris = metadata.get("redirect_uris") or []
        if not uris or not all(redirect_allowed(u) for u in uris):
            raise InvalidRedirectURIError("redirect_uris is required.")
        refused = request.payload.data.get(REFUSED_FIELD)
        if refused:
            metadata[REFUSED_FIELD] = refused
        method = self._auth_method(request)
        if method not in AUTH_METHODS:
            raise oauth_errors.InvalidRequestError("Unsupported token_endpoint_auth_method.")
        metadata["token_endpoint_auth_method"] = method
        metadata.setdefault("grant_types", ["authorization_code", "refresh_token"])
        metadata.setdefault("response_types", ["code"])
        if "client_credentials" in metadata["grant_types"]:
            raise oauth_errors.InvalidRequestError("client_credentials is not offered.")
        return metadata

    def save_client(
        self, client_info: dict[str, Any], client_metadata: dict[str, Any], request: Any
    ) -> Client:
        owner: OAuthServer = self.server.owner
        data = {**client_metadata, "client_id": client_info["client_id"]}
        if "client_secret" in client_info:
            data["client_secret_hash"] = _hash_secret(client_info["client_secret"])
        owner.store.save_client(data["client_id"], data)
        return Client(data)


def _query_any_token(owner: OAuthServer, token: str) -> RefreshToken | AccessToken | None:
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


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return _query_any_token(self.server.owner, token_string)

    def revoke_token(self, token: Any, request: Any) -> None:
        owner: OAuthServer = self.server.owner
        if isinstance(token, RefreshToken):
            owner.revoke_grant_sync(token.grant.id, "revoked_by_client")
        elif isinstance(token, AccessToken) and token.token.token_id:
            owner.revoke_jti_sync(token.token.token_id, token.token.expires_at)


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return _query_any_token(self.server.owner, token_string)

    def check_permission(self, token: Any, client: Client, request: Any) -> bool:
        return bool(token.check_client(client))

    def introspect_token(self, token: Any) -> dict[str, Any]:
        owner: OAuthServer = self.server.owner
        if isinstance(token, RefreshToken):
            return {
                "active": True,
                "token_type": "refresh_token",
                "client_id": token.record.client_id,
                "scope": token.record.scope,
                "sub": token.grant.subject,
                "aud": list(token.grant.resources)
                if len(token.grant.resources) > 1
                else token.grant.resource,
                "iss": owner.issuer(),
                "exp": int(token.record.expires_at),
                "iat": int(token.record.issued_at),
            }
        vt: VerifiedToken = token.token
        return {
            "active": True,
            "token_type": "Bearer",
            "client_id": vt.client_id,
            "scope": " ".join(sorted(vt.scopes)),
            "sub": vt.subject,
            "aud": list(vt.audience),
            "iss": vt.issuer,
            "exp": int(vt.expires_at),
            "jti": vt.token_id,
        }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclasses.dataclass(slots=True)
class _PendingAuthorization:
    incoming: Incoming
    grant: Any
    csrf: str
    user: GrantUser


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Approve in Switchboard</title>
<style>body{{font:16px system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em}}
code{{background:#eee;padding:.1em .3em}}</style></head>
<body>
<h1>Approve in Switchboard</h1>
<p><strong>{client}</strong> (redirects to <code>{host}</code>) asks to use {what}
with scope <code>{scope}</code>.</p>
<p>{how} This page continues by itself.</p>
<form id="continue" method="post" action="{action}">
<input type="hidden" name="request_id" value="{rid}">
<input type="hidden" name="csrf_token" value="{csrf}">
<noscript><button type="submit">Continue after approving</button></noscript>
</form>
<script nonce="{nonce}">document.getElementById("continue").submit();</script>
</body></html>
"""


class OAuthServer:
    """Routes, authlib server and the state they share (codes in memory, rest in SQLite)."""

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
        unused_client_ttl: float = UNUSED_CLIENT_TTL,
    ) -> None:
        self.store = store
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
        self.limiter = RegistrationLimiter(
            per_source=registration_limit, ceiling=registration_ceiling, window=registration_window
        )
        self.unused_client_ttl = unused_client_ttl
        self._next_prune = 0.0
        self.codes: dict[str, AuthCode] = {}
        self.used_codes: dict[str, str] = {}
        self.revoked_grants: set[str] = set()
        self.revoked_jtis: set[str] = set()
        self._cimd_clients: dict[str, Client] = {}
        self._pending: dict[str, _PendingAuthorization] = {}
        broker.on_decided(self._forget_expired)
        self._lock = threading.Lock()
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
        cached = self._cimd_clients.get(client_id)
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

    def redirect_problem(self, incoming: Incoming) -> str | None:
        """Blocking: why an authorization request's ``redirect_uri`` cannot be used (never
        redirected to, RFC 6749 §4.1.2.1): one the client registered but we dropped
        (``registration.judge_redirect_uri``), or one it never registered. None if fine
        or if authlib is to judge (no client, no redirect_uri)."""
        requested = incoming.args.get("redirect_uri")
        client = self.query_client(incoming.args.get("client_id", ""))
        if not requested or client is None:
            return None
        for item in client.data.get(REFUSED_FIELD) or []:
            if isinstance(item, dict) and item.get("redirect_uri") == requested:
                return (
                    f"The redirect URI {requested} was not registered: {item.get('reason')}. "
                    "Use one of the client's other redirect URIs."
                )
        if not client.check_redirect_uri(requested):
            return (
                "The redirect_uri is not one this client registered (exact match; only a "
                "loopback port may differ). Register it, or use a registered one."
            )
        return None

    def names_no_server(self, resources: list[str]) -> bool:
        """The authorization names no server: no ``resource``, or exactly this gateway's
        origin (RFC 8707 §2: the default audience is then what the person picks)."""
        iss = canonical_url(self.issuer())
        return not resources or (
            len(resources) == 1 and canonical_url(resources[0]).rstrip("/") == iss
        )

    def server_choices(self) -> tuple[str, ...]:
        """The servers a person may pick for a request that named none: those behind
        Switchboard's own authorization."""
        names = (self.resolve_resource(u) for u in self.server_urls())
        return tuple(dict.fromkeys(n for n in names if n))

    def resource_hint(self, resources: list[str]) -> str:
        """RFC 8707 §2 ``invalid_target`` description that names the fix: the exact MCP URL
        to configure."""
        urls = list(self.server_urls())
        example = urls[0] if urls else f"{self.issuer()}/servers/NAME/mcp"
        if len(resources) > 1:
            what = "Send exactly one resource"
        elif self.names_no_server(resources):
            what = "No server of this gateway uses Switchboard's sign-in"
        else:
            what = "The resource is not an MCP server of this gateway"
        shown = ", ".join(urls[:5]) + (", ..." if len(urls) > 5 else "")
        servers = f" Servers here: {shown}." if urls else ""
        return (
            f"{what}. Set the client's resource to the server's MCP URL, e.g. {example} "
            f"(Codex: oauth_resource in config.toml).{servers}"
        )

    def prune_unused_clients(self) -> list[str]:
        """Blocking: drop registrations older than ``unused_client_ttl`` that never got a
        grant, refresh token or remembered consent (never the first-party client, never
        one with an authorization in progress)."""
        busy = {c.client_id for c in list(self.codes.values())}
        busy |= {p.grant.client.client_id for p in list(self._pending.values())}
        pruned = self.store.prune_unused_clients(self.unused_client_ttl, keep=busy)
        for client_id in pruned:
            self._cimd_clients.pop(client_id, None)
        if pruned:
            log.info("pruned %d client registration(s) that never got a grant", len(pruned))
        self._next_prune = self.clock() + PRUNE_INTERVAL
        return pruned

    def token_revoked(self, vt: VerifiedToken) -> bool:
        return (vt.grant_id is not None and vt.grant_id in self.revoked_grants) or (
            vt.token_id is not None and vt.token_id in self.revoked_jtis
        )

    def revoke_grant_sync(self, grant_id: str, reason: str) -> bool:
        self.revoked_grants.add(grant_id)
        return self.store.revoke_grant(grant_id, reason)

    def revoke_jti_sync(self, jti: str, expires_at: float) -> None:
        self.revoked_jtis.add(jti)
        self.store.revoke_jti(jti, expires_at)

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
        """RFC 9068 JWT access token (``typ: at+jwt``, ``aud`` = the RFC 8707 resource, or
        the array of the servers the person picked, RFC 9068 §2.2)."""
        if user is None:
            raise oauth_errors.InvalidRequestError("No grant for this token request.")
        now = int(self.clock())
        ttl = int(self.access_token_ttl())
        kid, key = self.keys.signing_key()
        scope = scope or user.scope
        claims = {
            "iss": self.issuer(),
            "sub": user.subject,
            "aud": user.audience(),
            "client_id": client.client_id,
            "scope": scope,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": secrets.token_urlsafe(16),
        }
        if user.grant_id:
            claims["gid"] = user.grant_id
        header = {"alg": ALG, "typ": "at+jwt", "kid": kid}
        signing_input = (
            _b64(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        token: dict[str, Any] = {
            "access_token": f"{signing_input}.{_b64(signature)}",
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": scope,
        }
        if include_refresh_token:
            token["refresh_token"] = secrets.token_urlsafe(32)
        return token

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Blocking (worker thread): the refresh token (hashed) and the grant's last use."""
        refresh = token.get("refresh_token")
        user: GrantUser | None = request.user
        if user is None or not user.grant_id:
            return
        client_id = request.client.client_id
        if refresh:
            ttl = self.refresh_ttl(user.grant_id, client_id, user.server)
            self.store.add_refresh(refresh, user.grant_id, client_id, token["scope"], ttl)
        self.store.touch_grant(user.grant_id)

    def refresh_ttl(self, grant_id: str, client_id: str, server: str) -> float:
        """Blocking: :data:`REMEMBERED_REFRESH_TTL` from now for a remembered grant (every
        server of it remembered), else what is left of :data:`REFRESH_TTL` since the
        grant was approved."""
        names = server.split()
        if names and all(self.store.get_consent(client_id, n) is not None for n in names):
            return REMEMBERED_REFRESH_TTL
        grant = self.store.get_grant(grant_id)
        if grant is None:
            return REFRESH_TTL
        return max(0.0, min(REFRESH_TTL, grant.created_at + REFRESH_TTL - self.clock()))

    # -- metadata ------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        """RFC 8414 authorization server metadata."""
        iss = self.issuer()
        return {
            "issuer": iss,
            "authorization_endpoint": f"{iss}/oauth/authorize",
            "token_endpoint": f"{iss}/oauth/token",
            "registration_endpoint": f"{iss}/oauth/register",
            "revocation_endpoint": f"{iss}/oauth/revoke",
            "introspection_endpoint": f"{iss}/oauth/introspect",
            "jwks_uri": f"{iss}/oauth/jwks.json",
            "scopes_supported": list(SCOPES_SUPPORTED),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "token_endpoint_auth_methods_supported": AUTH_METHODS,
            "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
            "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
            "client_id_metadata_document_supported": True,
            "resource_indicators_supported": True,
        }

    # -- HTTP ----------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [
            Route("/.well-known/oauth-authorization-server", self._metadata, methods=["GET"]),
            Route("/.well-known/openid-configuration", self._oidc_metadata, methods=["GET"]),
            Route("/oauth/jwks.json", self._jwks, methods=["GET"]),
            Route("/oauth/authorize", self._authorize, methods=["GET"]),
            Route("/oauth/authorize/continue", self._continue, methods=["POST"]),
            Route("/oauth/token", self._token, methods=["POST"]),
            Route("/oauth/register", self._register, methods=["POST"]),
            Route("/oauth/revoke", self._revoke, methods=["POST"]),
            Route("/oauth/introspect", self._introspect, methods=["POST"]),
        ]

    async def _metadata(self, request: Request) -> Response:
        return JSONResponse(self.metadata())

    async def _oidc_metadata(self, request: Request) -> Response:
        data = self.metadata()
        data.update(subject_types_supported=["public"], id_token_signing_alg_values_supported=[ALG])
        return JSONResponse(data)

    async def _jwks(self, request: Request) -> Response:
        self.jwks_requests += 1
        return JSONResponse(self.keys.jwks(), headers={"Cache-Control": "max-age=300"})

    async def _run(self, fn: Callable[..., Result], *args: Any) -> Response:
        try:
            result = await asyncio.to_thread(fn, *args)
        except Exception:
            log.exception("authorization server error")
            return JSONResponse(
                {"error": "server_error", "error_description": "Internal error; see the log."},
                status_code=500,
                headers={"Cache-Control": "no-store"},
            )
        return _to_response(result)

    async def _token(self, request: Request) -> Response:
        incoming = await _read(request)
        if isinstance(incoming, Response):
            return incoming
        return await self._run(self.server.create_token_response, incoming)

    async def _register(self, request: Request) -> Response:
        """RFC 7591 §3. The body is checked first (``registration.clean_metadata``: types,
        sizes, characters, each redirect URI judged), so a refused request stores nothing;
        then capped per source and globally (429 with an RFC 7591 §3.2.2-shaped body)."""
        incoming = await _read(request)
        if isinstance(incoming, Response):
            return incoming
        if incoming.json is None:
            return _json_error(
                400,
                "invalid_client_metadata",
                "Send the client metadata as a JSON object (Content-Type: application/json).",
            )
        try:
            metadata, dropped = clean_metadata(
                incoming.json,
                scopes_supported=SCOPES_SUPPORTED,
                grant_types_supported=("authorization_code", "refresh_token"),
            )
        except RegistrationRejected as exc:
            log.warning("client registration refused: %s", exc.description)
            return _json_error(400, exc.error, exc.description)
        wait = self.registration_retry_after(source_key(metadata))
        if wait is not None:
            seconds, which = wait
            limit = self.registration_limit if which == "source" else self.registration_ceiling
            who = "by this client" if which == "source" else "in all"
            log.warning(
                "client registration refused: more than %d %s in %g s",
                limit,
                who,
                self.registration_window,
            )
            return _json_error(
                429,
                "temporarily_unavailable",
                f"Too many client registrations {who} (at most {limit} per "
                f"{self.registration_window:g} s). Retry after the time in Retry-After, "
                "or reuse an existing registration.",
                {"Retry-After": str(max(1, int(seconds + 0.999)))},
            )
        if dropped:
            metadata[REFUSED_FIELD] = [{"redirect_uri": v.uri, "reason": v.reason} for v in dropped]
            log.warning(
                "client registration %r: redirect URI(s) dropped: %s",
                metadata.get("client_name", ""),
                "; ".join(f"{v.uri} ({v.reason})" for v in dropped),
            )
        incoming.json = metadata
        if self.clock() >= self._next_prune:
            await asyncio.to_thread(self.prune_unused_clients)
        return await self._run(
            self.server.create_endpoint_response, "client_registration", incoming
        )

    async def _revoke(self, request: Request) -> Response:
        incoming = await _read(request)
        if isinstance(incoming, Response):
            return incoming
        return await self._run(self.server.create_endpoint_response, "revocation", incoming)

    async def _introspect(self, request: Request) -> Response:
        incoming = await _read(request)
        if isinstance(incoming, Response):
            return incoming
        return await self._run(self.server.create_endpoint_response, "introspection", incoming)

    async def _authorize(self, request: Request) -> Response:
        incoming = await _read(request)
        if isinstance(incoming, Response):
            return incoming
        client_id = incoming.args.get("client_id", "")
        if is_cimd_client_id(client_id):
            # Re-resolved on every authorization (the resolver caches for its TTL), so a
            # changed document (new redirect URIs, name) takes effect.
            try:
                doc = await self.cimd.resolve(client_id)
            except CIMDError as exc:
                return _error_page(400, "invalid_client", exc.public_message)
            data = {
                "client_id": client_id,
                "client_name": doc.get("client_name") or urlsplit(client_id).hostname,
                "redirect_uris": list(doc["redirect_uris"]),
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "cimd": True,
            }
            if doc.get(REFUSED_FIELD):
                data[REFUSED_FIELD] = doc[REFUSED_FIELD]
            known = self._cimd_clients.get(client_id)
            if known is None or known.data != data:
                self._cimd_clients[client_id] = Client(data)
                await asyncio.to_thread(self.store.save_client, client_id, data)
        refused = await asyncio.to_thread(self.redirect_problem, incoming)
        if refused is not None:
            return _error_page(400, "invalid_request", refused)
        try:
            grant = await asyncio.to_thread(self.server.get_consent_grant, incoming)
        except oauth_errors.OAuth2Error as error:
            if error.redirect_uri:
                return _to_response(self.server.handle_error_response(None, error))
            return _error_page(400, error.error, error.description or "Invalid request.")
        except ValueError:
            # authlib refuses to build an error whose text would carry characters RFC 6749
            # §5.2 forbids (they came from the request): still the request's fault.
            log.info("authorization request refused: malformed parameters")
            return _error_page(400, "invalid_request", "The authorization request is malformed.")
        except Exception:
            log.exception("authorization request failed")
            return _error_page(500, "server_error", "Internal error; see the log.")
        client: Client = grant.client
        redirect_uri: str = grant.redirect_uri
        state = incoming.args.get("state")
        resources = incoming.datalist.get("resource", [])
        choices: tuple[str, ...] = ()
        if self.names_no_server(resources):
            choices = self.server_choices()
            server: str | None = "" if choices else None
        else:
            server = self.resolve_resource(resources[0]) if len(resources) == 1 else None
        if server is None:
            err = InvalidTargetError(
                self.resource_hint(resources), state=state, redirect_uri=redirect_uri
            )
            return _to_response(self.server.handle_error_response(None, err))
        scope: str = grant.request.scope or SCOPE
        resource = resources[0] if server else ""
        user = GrantUser(None, self.subject, server, resource, scope)
        # RFC 8252 §8.6: a public client's identity cannot be assured, so a remembered
        # approval never answers by itself; it only marks the request for the person.
        remembered = (
            await asyncio.to_thread(self.store.get_consent, client.client_id, server)
            if server
            else None
        )
        req = self.broker.open(
            client_id=client.client_id,
            client_name=client.name,
            redirect_uri=redirect_uri,
            redirect_host=urlsplit(redirect_uri).netloc,
            server=server,
            resource=resource,
            scopes=tuple(scope.split()),
            previously_approved=remembered is not None
            and set(scope.split()) <= set(remembered.scope.split()),
            choices=choices,
        )
        csrf = secrets.token_urlsafe(24)
        self._pending[req.id] = _PendingAuthorization(incoming, grant, csrf, user)
        nonce = secrets.token_urlsafe(12)
        rid = html.escape(req.id)
        if server:
            what = f"the server <strong>{html.escape(server)}</strong>"
            how = (
                "Approve or deny it in the Switchboard app, or with "
                f"<code>switchboard consent approve {rid}</code>."
            )
        else:
            what = "servers of this gateway (it did not say which)"
            how = (
                "Choose the servers and approve in the Switchboard app, or with "
                f"<code>switchboard consent approve {rid} --server NAME</code>."
            )
        page = _PAGE.format(
            client=html.escape(client.name),
            host=html.escape(urlsplit(redirect_uri).netloc),
            what=what,
            how=how,
            scope=html.escape(scope),
            rid=rid,
            csrf=html.escape(csrf),
            nonce=nonce,
            action="/oauth/authorize/continue",
        )
        response = HTMLResponse(page, headers=_page_headers(nonce))
        response.set_cookie(
            CSRF_COOKIE + req.id,
            csrf,
            httponly=True,
            samesite="strict",
            path="/oauth/authorize",
        )
        return response

    def _forget_expired(self, request_id: str, decision: Decision) -> None:
        """The broker dropped a request (timeout, or replaced under its caps): forget it
        now. A decided one waits ``timeout`` more for its consent page to post back."""
        if decision is Decision.EXPIRED:
            self._pending.pop(request_id, None)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # decided outside the loop (a test): the page may still post
            return
        loop.call_later(self.broker.timeout, self._pending.pop, request_id, None)

    async def _continue(self, request: Request) -> Response:
        """The consent page posts here and waits until the person decided in the app."""
        try:
            fields = dict(parse_qsl((await read_capped(request)).decode("utf-8", "replace")))
        except BodyTooLarge:
            fields = {}
        rid = fields.get("request_id", "")
        token = fields.get("csrf_token", "")
        # One cookie per request: two authorizations in one browser do not collide.
        cookie = request.cookies.get(CSRF_COOKIE + rid, "") if rid else ""
        pending = self._pending.get(rid)
        if (
            pending is None
            or not token
            or not hmac.compare_digest(token.encode(), pending.csrf.encode())
            or not hmac.compare_digest(cookie.encode(), pending.csrf.encode())
        ):
            return _error_page(403, "access_denied", "This consent request is unknown or expired.")
        decision, remember = await self.broker.wait(rid)
        if self._pending.pop(rid, None) is None and decision is not Decision.EXPIRED:
            return _error_page(403, "access_denied", "This consent request was used already.")
        approved = decision is Decision.APPROVED
        user = pending.user
        if approved and not user.server:
            user = self._picked(user, self.broker.chosen(rid))
            approved = bool(user.server)
        client_id = pending.grant.client.client_id
        for name in user.server.split() if approved else ():
            if remember:
                await asyncio.to_thread(self.store.remember_consent, client_id, name, user.scope)
            else:  # "remember" unticked this time: the latest approval counts
                await asyncio.to_thread(self.store.forget_consent, client_id, name)
        response = await self._finish(pending.incoming, pending.grant, user, approved)
        if response.status_code == 302:
            response.status_code = 303
        response.delete_cookie(CSRF_COOKIE + rid, path="/oauth/authorize")
        return response

    def _picked(self, user: GrantUser, names: tuple[str, ...]) -> GrantUser:
        """The user of a "choose servers" request with the picked servers' MCP URLs on
        this listener; those removed meanwhile are dropped (none left: not approved)."""
        iss = self.issuer()
        kept = [n for n in names if self.resolve_resource(f"{iss}/servers/{n}/mcp") == n]
        if len(kept) < len(names):
            log.info("consent: picked server(s) no longer available dropped")
        return dataclasses.replace(
            user,
            server=" ".join(kept),
            resource=" ".join(f"{iss}/servers/{n}/mcp" for n in kept),
        )

    async def _finish(
        self, incoming: Incoming, grant: Any, user: GrantUser, approved: bool
    ) -> Response:
        return await self._run(
            self.server.create_authorization_response,
            grant.request,
            user if approved else None,
            grant,
        )


async def _read(request: Request) -> Incoming | Response:
    try:
        return await Incoming.read(request)
    except BodyTooLarge:
        return JSONResponse(
            {"error": "invalid_request", "error_description": "The request body is too large."},
            status_code=413,
        )


def _json_error(
    status: int, code: str, text: str, headers: Mapping[str, str] | None = None
) -> Response:
    return JSONResponse(
        {"error": code, "error_description": text},
        status_code=status,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def _page_headers(nonce: str | None = None) -> dict[str, str]:
    script = f"'nonce-{nonce}'" if nonce else "'none'"
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; script-src {script}; style-src 'unsafe-inline'; "
            "frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }


def _error_page(status: int, code: str, text: str) -> Response:
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Authorization error"
        f"</title></head><body><h1>Authorization error</h1><p>{html.escape(text)}</p>"
        f"<p><code>{html.escape(code)}</code></p></body></html>"
    )
    return HTMLResponse(body, status_code=status, headers=_page_headers())


def _to_response(result: Result) -> Response:
    headers = {k: v for k, v in result.headers if k.lower() not in ("content-type",)}
    if result.status in (301, 302, 303, 307) and result.location:
        loc = result.location
        headers.pop("Location", None)
        return RedirectResponse(loc, status_code=result.status, headers=headers)
    body = result.body
    if isinstance(body, dict | list):
        return JSONResponse(body, status_code=result.status, headers=headers)
    return Response(
        body or b"", status_code=result.status, headers=headers, media_type="application/json"
    )


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))
