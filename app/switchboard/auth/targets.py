"""Resource indicators (RFC 8707): which server(s) or group(s) a grant and a token are for.

An authorization request names one MCP URL of this gateway
(``http://127.0.0.1:PORT/servers/NAME/mcp``, a group's ``.../groups/NAME/mcp``, or
their ``.../sse``), or names none: no resource
at all (Codex without ``oauth_resource``, rmcp clients such as older Goose) or exactly
this gateway's origin (older Gemini CLI). For those the default audience (RFC 8707 §2
lets the server pick one) is what the person picks: the consent request is a "choose
servers" one (groups are offered beside the servers), and the code, grant, refresh token
and access token (``aud`` an array, RFC 9068 §2.2) carry the picked MCP URLs. Any other
resource (another origin, an unknown server or group) is refused with ``invalid_target``
and a description naming the MCP URL(s) to configure (:func:`resource_hint`). Grants name
their targets by key (``auth/targetkeys.py``: ``NAME`` or ``group:NAME``). The token
request may omit ``resource`` (a token for everything granted) or name one granted URL
(a token for that one only, RFC 8707 §2.2, :func:`token_target`); anything else is
``invalid_target``.
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
    """The keys a person may pick for a request that named none: the servers, then the
    groups, behind Switchboard's own authorization."""
    names = (owner.resolve_resource(u) for u in (*owner.server_urls(), *owner.group_urls()))
    return tuple(dict.fromkeys(n for n in names if n))


def resource_hint(owner: OAuthServer, resources: list[str]) -> str:
    """RFC 8707 §2 ``invalid_target`` description that names the fix: the exact MCP URL
    to configure (a server's or a group's)."""
    urls = list(owner.server_urls())
    group_urls = list(owner.group_urls())
    example = (urls or group_urls or [f"{owner.issuer()}/servers/NAME/mcp"])[0]
    if len(resources) > 1:
        what = "Send exactly one resource"
    elif names_no_server(owner, resources):
        what = "No server or group of this gateway uses Switchboard's sign-in"
    else:
        what = "The resource is not an MCP server of this gateway nor one of its groups"

    def shown(items: list[str]) -> str:
        return ", ".join(items[:5]) + (", ..." if len(items) > 5 else "")

    servers = f" Servers here: {shown(urls)}." if urls else ""
    groups = f" Groups here: {shown(group_urls)}." if group_urls else ""
    return (
        f"{what}. Set the client's resource to the server's or group's MCP URL, e.g. "
        f"{example} (Codex: oauth_resource in config.toml).{servers}{groups}"
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
