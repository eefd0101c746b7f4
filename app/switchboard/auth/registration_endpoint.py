"""The RFC 7591 registration endpoint (``POST /oauth/register``) on authlib's.

Registration is open on loopback (every token still needs the person's consent), so the
body is checked first (``registration.clean_metadata``: types, sizes, characters, each
redirect URI judged, RFC 8252 §7), so a refused request stores nothing; then the number
of registrations is capped per source and for all sources together (429 with an RFC 7591
§3.2.2-shaped body); registrations that never led to a grant are pruned
(:meth:`OAuthServer.prune_unused_clients`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import errors as oauth_errors
from authlib.oauth2.rfc7591 import ClientMetadataClaims, ClientRegistrationEndpoint
from authlib.oauth2.rfc7591.errors import InvalidRedirectURIError
from starlette.requests import Request
from starlette.responses import Response

from switchboard.auth.adapter import json_error, read_request, run
from switchboard.auth.metadata import server_metadata
from switchboard.auth.models import (
    AUTH_METHODS,
    SCOPES_SUPPORTED,
    Client,
    hash_secret,
    redirect_allowed,
)
from switchboard.auth.registration import (
    REFUSED_FIELD,
    RegistrationRejected,
    clean_metadata,
    source_key,
)

if TYPE_CHECKING:
    from switchboard.auth.server import OAuthServer

log = logging.getLogger("switchboard.auth")

# Dynamic Client Registration hygiene: registration is open on loopback, so cap how fast
# clients can be added (per source, see auth/registration.py, and for all sources together
# so memory and disk stay bounded) and drop registrations that never led to a grant.
REGISTRATION_LIMIT = 20
REGISTRATION_CEILING = 200
REGISTRATION_WINDOW = 60.0
UNUSED_CLIENT_TTL = 86400.0
PRUNE_INTERVAL = 3600.0


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
        return server_metadata(owner.issuer())

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
            data["client_secret_hash"] = hash_secret(client_info["client_secret"])
        owner.store.save_client(data["client_id"], data)
        return Client(data)


async def register(owner: OAuthServer, request: Request) -> Response:
    """RFC 7591 §3. The body is checked first (``registration.clean_metadata``: types,
    sizes, characters, each redirect URI judged), so a refused request stores nothing;
    then capped per source and globally (429 with an RFC 7591 §3.2.2-shaped body)."""
    incoming = await read_request(request)
    if isinstance(incoming, Response):
        return incoming
    if incoming.json is None:
        return json_error(
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
        return json_error(400, exc.error, exc.description)
    wait = owner.registration_retry_after(source_key(metadata))
    if wait is not None:
        seconds, which = wait
        limit = owner.registration_limit if which == "source" else owner.registration_ceiling
        who = "by this client" if which == "source" else "in all"
        log.warning(
            "client registration refused: more than %d %s in %g s",
            limit,
            who,
            owner.registration_window,
        )
        return json_error(
            429,
            "temporarily_unavailable",
            f"Too many client registrations {who} (at most {limit} per "
            f"{owner.registration_window:g} s). Retry after the time in Retry-After, "
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
    if owner.clock() >= owner.next_prune:
        await asyncio.to_thread(owner.prune_unused_clients)
    return await run(owner.server.create_endpoint_response, "client_registration", incoming)
