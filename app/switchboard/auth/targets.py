"""Resource indicators (RFC 8707): which server(s) a grant and a token are for.

An authorization request names one MCP URL of this gateway
(``http://127.0.0.1:PORT/servers/NAME/mcp``, or ``.../sse``), or names none: no resource
at all (Codex without ``oauth_resource``, rmcp clients such as older Goose) or exactly
this gateway's origin (older Gemini CLI). For those the default audience (RFC 8707 §2
lets the server pick one) is what the person picks: the consent request is a "choose
servers" one, and the code, grant, refresh token and access token (``aud`` an array,
RFC 9068 §2.2) carry the picked servers' MCP URLs. Any other resource (another origin,
an unknown server) is refused with ``invalid_target`` and a description naming the MCP
URL(s) to configure (:func:`resource_hint`). The token request may omit ``resource`` (a
token for everything granted) or name one granted URL (a token for that one only,
RFC 8707 §2.2, :func:`token_target`); anything else is ``invalid_target``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import errors as oauth_errors

from switchboard.core.loopback import canonical_url

if TYPE_CHECKING:
    from switchboard.auth.server import OAuthServer


class InvalidTargetError(oauth_errors.OAuth2Error):  # type: ignore[misc]
    """RFC 8707 §2: the requested resource is unknown or not allowed."""

    error = "invalid_target"
    status_code = 400


def names_no_server(owner: OAuthServer, resources: list[str]) -> bool:
    """The authorization names no server: no ``resource``, or exactly this gateway's
    origin (RFC 8707 §2: the default audience is then what the person picks)."""
    iss = canonical_url(owner.issuer())
    return not resources or (len(resources) == 1 and canonical_url(resources[0]).rstrip("/") == iss)


def server_choices(owner: OAuthServer) -> tuple[str, ...]:
    """The servers a person may pick for a request that named none: those behind
    Switchboard's own authorization."""
    names = (owner.resolve_resource(u) for u in owner.server_urls())
    return tuple(dict.fromkeys(n for n in names if n))


def resource_hint(owner: OAuthServer, resources: list[str]) -> str:
    """RFC 8707 §2 ``invalid_target`` description that names the fix: the exact MCP URL
    to configure."""
    urls = list(owner.server_urls())
    example = urls[0] if urls else f"{owner.issuer()}/servers/NAME/mcp"
    if len(resources) > 1:
        what = "Send exactly one resource"
    elif names_no_server(owner, resources):
        what = "No server of this gateway uses Switchboard's sign-in"
    else:
        what = "The resource is not an MCP server of this gateway"
    shown = ", ".join(urls[:5]) + (", ..." if len(urls) > 5 else "")
    servers = f" Servers here: {shown}." if urls else ""
    return (
        f"{what}. Set the client's resource to the server's MCP URL, e.g. {example} "
        f"(Codex: oauth_resource in config.toml).{servers}"
    )


def token_target(grant: Any, granted: str) -> str:
    """RFC 8707 §2.2 at the token endpoint: no ``resource`` (or only the gateway's
    origin) means everything granted; one granted URL gets a token for that one only;
    anything else is invalid_target. Returns the target ("" = all granted)."""
    values = grant.request.payload.datalist.get("resource", [])
    allowed = granted.split()
    if names_no_server(grant.server.owner, values):
        # Older Gemini CLI repeats the origin it authorized with: still "no server named".
        return ""
    if len(values) > 1 or values[0] not in allowed:
        raise InvalidTargetError("The resource is not one this grant covers.")
    return values[0] if len(allowed) > 1 else ""
