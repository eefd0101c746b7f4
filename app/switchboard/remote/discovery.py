"""Finding a remote server's authorization server (MCP 2025-11-25 basic/authorization,
"Authorization Server Discovery").

1. The server's 401 names its Protected Resource Metadata in ``WWW-Authenticate:
   Bearer resource_metadata="..."`` (RFC 9728 §5.1); without it the well-known URIs
   are tried, path-inserted first, then at the root (RFC 9728 §3.1).
2. The metadata's ``authorization_servers[0]`` issuer is looked up per RFC 8414 §3.1
   (path insertion), then OpenID Connect Discovery 1.0 (path insertion, then appended).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from switchboard.core.errors import AuthError
from switchboard.core.loopback import is_loopback_host

_PARAM_RE = re.compile(r'([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
MAX_DOC = 256 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class Challenge:
    """The parameters of a ``Bearer`` challenge (RFC 6750 §3, RFC 9728 §5.1)."""

    resource_metadata: str | None = None
    scope: str | None = None
    error: str | None = None


def parse_challenge(header: str | None) -> Challenge:
    """Parse a ``WWW-Authenticate`` value; only the Bearer scheme's parameters."""
    if not header:
        return Challenge()
    i = header.lower().find("bearer")
    if i < 0:
        return Challenge()
    params = {
        m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
        for m in _PARAM_RE.finditer(header[i + 6 :])
    }
    return Challenge(params.get("resource_metadata"), params.get("scope"), params.get("error"))


@dataclasses.dataclass(frozen=True, slots=True)
class Discovered:
    """What a sign-in needs to know about the provider."""

    resource: str
    """The RFC 8707 resource indicator (the PRM's ``resource``, else the server URL)."""
    issuer: str
    metadata: dict[str, Any]
    """The authorization server's RFC 8414 metadata."""
    scopes: tuple[str, ...]


def well_known(url: str, suffix: str, *, insert: bool = True) -> str:
    """RFC 8414 §3.1 / RFC 9728 §3.1: ``/.well-known/<suffix>`` inserted before the path
    (``insert``), or appended to it (OIDC Discovery 1.0 §4)."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    new = f"/.well-known/{suffix}{path}" if insert else f"{path}/.well-known/{suffix}"
    return urlunsplit((parts.scheme, parts.netloc, new, "", ""))


async def _get_json(http: httpx.AsyncClient, url: str) -> dict[str, Any] | None:
    try:
        response = await http.get(url, headers={"accept": "application/json"})
    except httpx.HTTPError:
        return None
    if response.status_code != 200 or len(response.content) > MAX_DOC:
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _secure(url: object) -> bool:
    """https, or http to this computer (the loopback exception of RFC 8252 §8.3)."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme == "https" or (
        parts.scheme == "http" and is_loopback_host(parts.hostname or "")
    )


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


async def discover(http: httpx.AsyncClient, server_url: str, challenge: Challenge) -> Discovered:
    """Protected resource metadata, then the authorization server's metadata.

    A server without RFC 9728 metadata (MCP 2025-03-26) gets its origin as the
    issuer. Raises AuthError saying what was missing."""
    prm: dict[str, Any] | None = None
    candidates = []
    if challenge.resource_metadata:
        candidates.append(urljoin(server_url, challenge.resource_metadata))
    origin = urlsplit(server_url)
    candidates += [
        well_known(server_url, "oauth-protected-resource"),
        urlunsplit((origin.scheme, origin.netloc, "/.well-known/oauth-protected-resource", "", "")),
    ]
    for url in dict.fromkeys(candidates):
        prm = await _get_json(http, url)
        if prm is not None:
            break
    resource = server_url
    scopes: tuple[str, ...] = ()
    if prm is not None:
        declared = prm.get("resource")
        if isinstance(declared, str) and declared:
            # RFC 9728 §3.3: the metadata must be about this resource.
            if not _same_origin(declared, server_url) or not server_url.startswith(
                declared.rstrip("/")
            ):
                raise AuthError(
                    f"The server's protected resource metadata names another resource "
                    f"({declared}).",
                    hint="Check the server URL; the provider's metadata does not match it.",
                )
            resource = declared
        servers = prm.get("authorization_servers")
        if not isinstance(servers, list) or not servers or not isinstance(servers[0], str):
            raise AuthError(
                "The server's protected resource metadata names no authorization server.",
                hint="The provider may not support OAuth sign-in; use an API key header.",
            )
        issuer = servers[0]
        supported = prm.get("scopes_supported")
        if isinstance(supported, list):
            scopes = tuple(s for s in supported if isinstance(s, str))
    else:
        parts = urlsplit(server_url)
        issuer = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    if challenge.scope:
        scopes = tuple(challenge.scope.split())
    metadata = None
    for url in (
        well_known(issuer, "oauth-authorization-server"),
        well_known(issuer, "openid-configuration"),
        well_known(issuer, "openid-configuration", insert=False),
    ):
        metadata = await _get_json(http, url)
        if metadata is not None:
            break
    if metadata is None:
        raise AuthError(
            f"Could not read the authorization server metadata of {issuer}.",
            hint="The provider may be down; try again later.",
        )
    if metadata.get("issuer") not in (issuer, issuer.rstrip("/"), issuer.rstrip("/") + "/"):
        raise AuthError(
            f"The authorization server metadata at {issuer} names another issuer.",
            hint="This is a provider misconfiguration (RFC 8414 §3.3); sign-in is refused.",
        )
    for key in ("authorization_endpoint", "token_endpoint"):
        if not isinstance(metadata.get(key), str):
            raise AuthError(
                f"The authorization server {issuer} has no {key}.",
                hint="The provider does not support browser sign-in.",
            )
    for key in ("issuer", "authorization_endpoint", "token_endpoint", "registration_endpoint"):
        value = metadata.get(key)
        if value is not None and not _secure(value):
            # OAuth 2.1 §1.5 / MCP "Communication Security": endpoints over TLS only.
            raise AuthError(
                f"The authorization server {issuer} uses a plain-http {key}.",
                hint="Sign-in is refused: tokens would travel unencrypted.",
            )
    if "S256" not in (metadata.get("code_challenge_methods_supported") or []):
        # MCP 2025-11-25 "Authorization Code Protection": MUST refuse without PKCE support.
        raise AuthError(
            f"The authorization server {issuer} does not advertise PKCE (S256).",
            hint="Switchboard only signs in where PKCE protects the code.",
        )
    return Discovered(resource=resource, issuer=issuer, metadata=metadata, scopes=scopes)
