"""Loopback names: the one place that says which host spellings mean "this computer".

The listener binds 127.0.0.1 (or ::1) and answers to ``127.0.0.1``, ``localhost`` and
``[::1]`` (the Origin/Host guard refuses any other name). The same server is therefore
reachable under three URLs that differ only in the host's spelling; audience checks
(RFC 8707/9068) compare them in :func:`canonical_url` form so a token issued for
``http://127.0.0.1:8765/servers/x/mcp`` also opens ``http://localhost:8765/servers/x/mcp``
— the same listener, port and path — and nothing else.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
"""Host spellings (as they appear in a URL's netloc) that name this computer."""


def canonical_url(url: str) -> str:
    """``url`` with a loopback host spelled ``127.0.0.1`` (anything else unchanged)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return url
    if host is None:
        return url
    spelled = f"[{host}]" if ":" in host else host
    if spelled not in LOOPBACK_HOSTS or parts.username is not None:
        return url
    netloc = "127.0.0.1" if port is None else f"127.0.0.1:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


__all__ = ["LOOPBACK_HOSTS", "canonical_url"]
