"""Loopback names: the one place that says which host spellings mean "this computer".

The listener binds 127.0.0.1 (or ::1) and answers to ``127.0.0.1``, ``localhost`` and
``[::1]`` (the Origin/Host guard refuses any other name). Every check that asks "is this
host ours?" — the guard's Host and Origin (MCP transports §Security), redirect URIs
(RFC 8252 §7.3), the RFC 8707/9728 resource, the consent screen — asks it here.

Deliberately narrow: hosts compare case-insensitively (RFC 3986 §3.2.2) and an IPv6
address may come with or without its brackets, but nothing else is normalised. Another
127/8 address, ``0.0.0.0``, ``localhost.``, ``[::ffff:127.0.0.1]``, a shorthand such as
``127.1``, a percent-encoded or non-ASCII look-alike are not the listener's names, so
they are not loopback here (see tests/unit/core/test_loopback.py for each case and why).

The same server is reachable under three URLs that differ only in the host's spelling;
audience checks (RFC 8707/9068) compare them in :func:`canonical_url` form so a token
issued for ``http://127.0.0.1:8765/servers/x/mcp`` also opens
``http://localhost:8765/servers/x/mcp`` — the same listener, port and path — and nothing
else.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
"""Host spellings (as they appear in a URL's netloc, lowercase) that name this computer."""

BIND_HOSTS = frozenset(host.strip("[]") for host in LOOPBACK_HOSTS)
"""The same names as a socket address (``::1`` without brackets): what the listener binds."""


def url_host(host: str) -> str:
    """``host`` as written in a URL's authority: an IPv6 address in brackets (RFC 3986
    §3.2.2), anything else unchanged."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def host_of(netloc: str) -> str:
    """The host named by ``netloc`` (``host``, ``host:port``, ``[v6]``, ``[v6]:port`` or a
    bare ``v6`` such as ``urlsplit().hostname`` gives), lowercase, an IPv6 address in
    brackets; "" when it cannot be read or carries anything but a host and port."""
    if any(c in netloc for c in "@/?#\\") or not netloc.isascii():
        return ""
    if netloc.count(":") > 1 and not netloc.startswith("["):
        host = netloc  # a bare IPv6 address: its colons are not a port separator
    else:
        try:  # the port is not looked at: the question is only which host
            host = urlsplit(f"//{netloc}").hostname or ""
        except ValueError:  # e.g. "[::1" (an unclosed bracket)
            return ""
    return url_host(host.lower())


def is_loopback_host(host: str | None) -> bool:
    """``host`` (a host, with or without port or IPv6 brackets) is one of the listener's
    loopback names."""
    return host_of(host or "") in LOOPBACK_HOSTS


def is_loopback_url(url: str) -> bool:
    """``url`` is absolute and its host is a loopback name (scheme, port and path not
    checked); False for anything that does not parse."""
    try:
        return is_loopback_host(urlsplit(url).hostname)
    except ValueError:
        return False


def canonical_url(url: str) -> str:
    """``url`` with a loopback host spelled ``127.0.0.1`` (anything else unchanged)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return url
    if not is_loopback_host(host) or parts.username is not None:
        return url
    netloc = "127.0.0.1" if port is None else f"127.0.0.1:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


__all__ = [
    "BIND_HOSTS",
    "LOOPBACK_HOSTS",
    "canonical_url",
    "host_of",
    "is_loopback_host",
    "is_loopback_url",
    "url_host",
]
