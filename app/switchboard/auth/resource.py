"""The resource-server side: the gateway's Authenticator for Switchboard and external tokens.

For each MCP server (``ServerSpec.auth``) and group (``GroupSpec.auth``, served at
``/groups/<name>/mcp``): ``switchboard`` checks our own RFC 9068 tokens with keys read
in process (never HTTP JWKS); ``external`` (servers only) checks an external OIDC
issuer's tokens with its JWKS over HTTP (cached); ``off`` needs no token. A refusal is
an RFC 6750 §3 ``WWW-Authenticate: Bearer`` challenge (``error``, a fixed
``error_description`` per reason, never exception text, ``scope``) that points at the
endpoint's RFC 9728 protected resource metadata (§5.1 ``resource_metadata``), served here
too (:meth:`ResourceServer.routes`). A group is a resource of its own: its token's
audience is the group's URL, which opens neither its member servers' URLs nor the other
way round (``auth/targetkeys.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from switchboard.auth.models import SCOPE
from switchboard.auth.targetkeys import GROUPS, SERVERS, key_of
from switchboard.auth.validator import JWKSClient, TokenInvalid, TokenValidator
from switchboard.core.auth import ANONYMOUS, AuthDenied, Principal
from switchboard.core.errors import AuthError
from switchboard.core.group import GroupSpec
from switchboard.core.loopback import host_of, is_loopback_host
from switchboard.core.spec import AuthMode, ServerSpec

# Fixed, person-readable texts per rejection reason: never exception text.
_REASONS = {
    "expired": "The access token expired.",
    "revoked": "The access token was revoked.",
    "wrong_audience": "The access token was issued for another resource.",
    "wrong_issuer": "The access token comes from another issuer.",
    "not_yet_valid": "The access token is not valid yet.",
}
_DEFAULT_REASON = "The access token is invalid."


class ResourceServer:
    """Checks bearer tokens for the gateway (see
    :class:`switchboard.core.auth.Authenticator`) and serves RFC 9728 metadata."""

    def __init__(
        self,
        *,
        issuer: Callable[[], str],
        servers: Callable[[], Sequence[ServerSpec]],
        groups: Callable[[], Sequence[GroupSpec]] = tuple,
        own_validator: Callable[[], TokenValidator | None],
        http_transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float],
    ) -> None:
        self.issuer = issuer
        self._servers = servers
        self._groups = groups
        self._own_validator = own_validator
        self._http_transport = http_transport
        self._clock = clock
        self._external: dict[str, TokenValidator] = {}

    async def aclose(self) -> None:
        """Close the external issuers' JWKS clients."""
        for validator in self._external.values():
            if validator.jwks is not None:
                await validator.jwks.aclose()
        self._external.clear()

    # -- resources -----------------------------------------------------------------------
    def server(self, name: str) -> ServerSpec | None:
        for spec in self._servers():
            if spec.name == name:
                return spec
        return None

    def group(self, name: str) -> GroupSpec | None:
        for spec in self._groups():
            if spec.name == name:
                return spec
        return None

    def endpoint(self, kind: str, name: str) -> ServerSpec | GroupSpec | None:
        """The server (``kind == "servers"``) or group (``"groups"``) called ``name``."""
        if kind == SERVERS:
            return self.server(name)
        return self.group(name) if kind == GROUPS else None

    def resolve_resource(self, resource: str) -> str | None:
        """The target key (``auth/targetkeys.py``: a server's name, ``group:NAME`` for a
        group) of a gateway MCP URL on this listener (any loopback spelling), if it
        takes Switchboard's tokens."""
        try:
            parts = urlsplit(resource)
            ours = urlsplit(self.issuer())
            port = parts.port
        except (ValueError, AuthError):
            return None
        if (
            parts.scheme != ours.scheme
            or not is_loopback_host(parts.hostname)
            or port != ours.port
            or parts.query
            or parts.fragment
        ):
            return None
        segments = parts.path.split("/")
        if len(segments) != 4 or segments[0] or segments[3] not in ("mcp", "sse"):
            return None
        spec = self.endpoint(segments[1], segments[2])
        if spec is None or spec.auth is not AuthMode.SWITCHBOARD:
            return None
        return key_of(spec.kind, spec.name)

    @staticmethod
    def resource_metadata_url(resource: str) -> str:
        parts = urlsplit(resource)
        return f"{parts.scheme}://{parts.netloc}/.well-known/oauth-protected-resource{parts.path}"

    # -- the gateway's auth slot ---------------------------------------------------------
    async def authenticate(
        self, *, server: ServerSpec | GroupSpec, resource: str, authorization: str | None
    ) -> Principal:
        """See :class:`switchboard.core.auth.Authenticator`."""
        if server.auth is AuthMode.OFF:
            return ANONYMOUS
        required = frozenset({SCOPE}) if server.auth is AuthMode.SWITCHBOARD else frozenset()
        scope_param = f', scope="{SCOPE}"' if required else ""
        if not authorization:
            raise AuthDenied(
                401,
                f'Bearer resource_metadata="{self._metadata_for(server, resource)}"{scope_param}',
                {"error": "unauthorized", "error_description": "An access token is required."},
            )
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise self._invalid(
                self._metadata_for(server, resource), scope_param, "invalid_request"
            )
        validator = self._validator_for(server)
        try:
            try:
                vt = await validator.validate(token, resource)
            except TokenInvalid as exc:
                # One server, two transports: a token for its /mcp URL also opens its
                # legacy /sse endpoint and the other way round (same origin and server).
                sibling = _sibling_endpoint(resource)
                if exc.reason != "wrong_audience" or sibling is None:
                    raise
                vt = await validator.validate(token, sibling)
        except TokenInvalid as exc:
            meta = self._metadata_for(server, resource)
            raise self._invalid(meta, scope_param, exc.reason) from None
        if not required <= vt.scopes:
            raise AuthDenied(
                403,
                f'Bearer error="insufficient_scope", scope="{" ".join(sorted(required))}", '
                f'resource_metadata="{self._metadata_for(server, resource)}"',
                {
                    "error": "insufficient_scope",
                    "error_description": "The access token lacks a required scope.",
                },
            )
        return Principal(
            subject=vt.subject, client_id=vt.client_id, scopes=vt.scopes, token_id=vt.token_id
        )

    def _metadata_for(self, server: ServerSpec | GroupSpec, resource: str) -> str:
        """The RFC 9728 metadata URL for a challenge: it points at the configured listener,
        whatever the Host said (built only when a request is refused: not on the hot path)."""
        try:
            parts = urlsplit(resource)
            netloc, path = parts.netloc, parts.path
        except ValueError:
            netloc, path = "", f"/{server.kind}/{server.name}/mcp"
        return self.resource_metadata_url(_listener_origin(self.issuer(), netloc) + path)

    @staticmethod
    def _invalid(meta: str, scope_param: str, reason: str) -> AuthDenied:
        text = _REASONS.get(reason, _DEFAULT_REASON)
        return AuthDenied(
            401,
            f'Bearer error="invalid_token", error_description="{text}", '
            f'resource_metadata="{meta}"{scope_param}',
            {"error": "invalid_token", "error_description": text},
        )

    def _validator_for(self, server: ServerSpec | GroupSpec) -> TokenValidator:
        if server.auth is AuthMode.SWITCHBOARD:
            own = self._own_validator()
            if own is None:
                raise AuthError("The auth service is not started.", hint="Start the engine.")
            return own
        issuer = server.external_issuer or ""
        validator = self._external.get(issuer)
        if validator is None:
            validator = TokenValidator(
                issuer,
                jwks=JWKSClient(issuer, transport=self._http_transport),
                clock=self._clock,
            )
            self._external[issuer] = validator
        return validator

    # -- RFC 9728 ------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        """RFC 9728 §3 protected resource metadata, one document per MCP endpoint (§3.1:
        the well-known suffix is inserted before the resource's path), for every server
        and group."""
        return [
            Route(
                f"/.well-known/oauth-protected-resource/{kind}/{{name}}/{endpoint}",
                self._protected_resource,
                methods=["GET"],
            )
            for kind in (SERVERS, GROUPS)
            for endpoint in ("mcp", "sse")
        ]

    async def _protected_resource(self, request: Request) -> Response:
        """RFC 9728 metadata; ``resource`` = the MCP URL on the configured listener, spelled
        with the loopback name the client used (see :func:`_listener_origin`)."""
        name = request.path_params["name"]
        # .../oauth-protected-resource/<kind>/<name>/<endpoint>: the route fixed both.
        _, kind, _, endpoint = request.url.path.rsplit("/", 3)
        spec = self.endpoint(kind, name)
        if spec is None or spec.auth is AuthMode.OFF:
            return JSONResponse({"error": "not_found"}, status_code=404)
        origin = _listener_origin(self.issuer(), request.headers.get("host", ""))
        resource = f"{origin}/{kind}/{name}/{endpoint}"
        if spec.auth is AuthMode.EXTERNAL:
            servers = [spec.external_issuer or ""]
            scopes: list[str] = []
        else:
            servers = [self.issuer()]
            scopes = [SCOPE]
        body: dict[str, Any] = {
            "resource": resource,
            "authorization_servers": servers,
            "bearer_methods_supported": ["header"],
            "resource_name": spec.description
            or (spec.name if kind == SERVERS else f"group {spec.name}"),
        }
        if scopes:
            body["scopes_supported"] = scopes
        return JSONResponse(body, headers={"Cache-Control": "max-age=60"})


def _listener_origin(issuer: str, host_header: str) -> str:
    """The configured listener's origin (scheme and port from ``issuer``, never from the
    request). Only the host's spelling follows the Host header, and only among the
    loopback names the listener answers to, so a client that connected to
    ``localhost`` gets ``localhost`` back (RFC 9728 §3.3: ``resource`` must equal the
    URL it used)."""
    ours = urlsplit(issuer)
    host = host_of(host_header)
    if not is_loopback_host(host) or ours.port is None:
        return f"{ours.scheme}://{ours.netloc}"
    return f"{ours.scheme}://{host}:{ours.port}"


def _sibling_endpoint(resource: str) -> str | None:
    """``.../servers/x/mcp`` <-> ``.../servers/x/sse``."""
    if resource.endswith("/mcp"):
        return resource[:-4] + "/sse"
    if resource.endswith("/sse"):
        return resource[:-4] + "/mcp"
    return None
