"""Names of what a grant is for: a server (``time``) or a group (``group:work``).

A grant, a consent request and a remembered consent name their targets by *key*: a
server's key is its name (as it always was, so stored grants keep working), a group's
is ``group:`` + its name. Server and group names are ``[a-z0-9._-]`` (``core/spec.py``
``validate_name``), so no server name contains the colon and the two never collide, even
when a group and a server share a name. Each key has one MCP URL per transport,
``{base}/servers/NAME/mcp`` or ``{base}/groups/NAME/mcp`` (and ``/sse``): the RFC 8707
resource indicators, and the ``aud`` of the tokens (RFC 9068 §2.2). A token for a group
is not one for its member servers, nor the other way round: the URLs differ.

No imports of ours: the consent broker, the GUI and the CLI use these too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

GROUP_PREFIX = "group:"
SERVERS = "servers"
GROUPS = "groups"


def key_of(kind: str, name: str) -> str:
    """The key of the server (``kind == "servers"``) or group (``"groups"``) ``name``."""
    return f"{GROUP_PREFIX}{name}" if kind == GROUPS else name


def split_key(key: str) -> tuple[str, str]:
    """(``"servers"`` or ``"groups"``, name) of a key."""
    if key.startswith(GROUP_PREFIX):
        return GROUPS, key[len(GROUP_PREFIX) :]
    return SERVERS, key


def is_group(key: str) -> bool:
    return key.startswith(GROUP_PREFIX)


def key_url(base: str, key: str, endpoint: str = "mcp") -> str:
    """The MCP URL of ``key`` on the listener ``base`` (``http://127.0.0.1:PORT``)."""
    kind, name = split_key(key)
    return f"{base.rstrip('/')}/{kind}/{name}/{endpoint}"


def label(key: str, members: Mapping[str, Sequence[str]] | None = None) -> str:
    """How a person reads a key: ``time`` for a server, ``group work (servers: a, b)``
    for a group (its member servers from ``members``, by key, when known)."""
    kind, name = split_key(key)
    if kind == SERVERS:
        return name
    servers = (members or {}).get(key)
    if servers is None:
        return f"group {name}"
    return f"group {name} (servers: {', '.join(servers) or 'none yet'})"


def labels(keys: Sequence[str], members: Mapping[str, Sequence[str]] | None = None) -> str:
    """Several keys as one comma-separated text."""
    return ", ".join(label(k, members) for k in keys)
