"""Which host spellings are "this computer" (core/loopback.py), one table for every check.

The listener binds 127.0.0.1 (or ::1) and its Origin/Host guard answers to exactly
``127.0.0.1``, ``localhost`` and ``[::1]``; every other check (redirect URIs, RFC 8707
resources, consent) must agree with it, so each spelling is decided here once.
"""

from __future__ import annotations

import pytest

from switchboard.core.loopback import (
    BIND_HOSTS,
    LOOPBACK_HOSTS,
    canonical_url,
    host_of,
    is_loopback_host,
    is_loopback_url,
    url_host,
)

# (spelling, loopback?, why)
CASES = [
    ("127.0.0.1", True, "the address the listener binds"),
    ("localhost", True, "the name every client uses (RFC 8252 §7.3 allows it)"),
    ("LOCALHOST", True, "host names compare case-insensitively (RFC 3986 §3.2.2)"),
    ("LocalHost:8765", True, "case-insensitive, port ignored"),
    ("[::1]", True, "the IPv6 loopback address as written in a URL"),
    ("::1", True, "the same address as urlsplit().hostname gives it (no brackets)"),
    ("[::1]:80", True, "bracketed IPv6 with a port"),
    ("127.0.0.1:5555", True, "port ignored: only the host is judged"),
    ("127.0.0.2", False, "another 127/8 address: loopback, but not the listener's name"),
    ("localhost.", False, "an absolute DNS name: resolved by DNS, not the hosts file"),
    ("0.0.0.0", False, "the unspecified address, not loopback"),
    ("[::ffff:127.0.0.1]", False, "IPv4-mapped: an AF_INET6 socket, not the listener"),
    ("[0:0:0:0:0:0:0:1]", False, "a long spelling of ::1 the guard does not accept"),
    ("127.1", False, "inet_aton shorthand: not a dotted quad (RFC 3986 §3.2.2)"),
    ("2130706433", False, "127.0.0.1 as one number: a name, not an address"),
    ("127.0.0.%31", False, "percent-encoding is not decoded in a host"),
    ("localhost%00", False, "percent-encoded NUL after the name"),
    ("ｌｏｃａｌｈｏｓｔ", False, "fullwidth look-alike (IDN): not ASCII"),
    ("xn--localhost-", False, "punycode form: another name"),
    ("localhost.evil.example", False, "a name under localhost's spelling"),
    ("127.0.0.1.evil.example", False, "a name that starts with the address"),
    ("evil@localhost", False, "userinfo: not a host"),
    ("localhost/x", False, "a path: not a host"),
    ("[::1", False, "unclosed bracket: unreadable"),
    ("", False, "no host"),
]


@pytest.mark.parametrize(("host", "loopback", "why"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_is_loopback_host(host: str, loopback: bool, why: str) -> None:
    assert is_loopback_host(host) is loopback, why


@pytest.mark.parametrize(("host", "loopback", "why"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_is_loopback_url_agrees(host: str, loopback: bool, why: str) -> None:
    """The same decision for an http URL's authority (a bare ``::1`` cannot be written
    in a URL, and a netloc with userinfo or a path is read as its host by urlsplit)."""
    if host == "::1" or "@" in host or "/" in host:
        return
    spelled = host if host.startswith("[") or host.count(":") < 2 else f"[{host}]"
    assert is_loopback_url(f"http://{spelled}/cb") is loopback, why


def test_none_is_not_loopback() -> None:
    assert not is_loopback_host(None)
    assert not is_loopback_url("http://[::1/cb")


@pytest.mark.parametrize(
    ("netloc", "host"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("LOCALHOST:80", "localhost"),
        ("::1", "[::1]"),
        ("[::1]", "[::1]"),
        ("[::1]:8765", "[::1]"),
        ("example.com:443", "example.com"),
        ("a@b", ""),
        ("[::1", ""),
    ],
)
def test_host_of(netloc: str, host: str) -> None:
    assert host_of(netloc) == host


def test_url_host_brackets_ipv6_once() -> None:
    assert url_host("::1") == "[::1]"
    assert url_host("[::1]") == "[::1]"
    assert url_host("127.0.0.1") == "127.0.0.1"


def test_bind_hosts_are_the_names_without_brackets() -> None:
    assert sorted(BIND_HOSTS) == ["127.0.0.1", "::1", "localhost"]
    assert {url_host(h) for h in BIND_HOSTS} == LOOPBACK_HOSTS


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("http://localhost:8765/servers/x/mcp", "http://127.0.0.1:8765/servers/x/mcp"),
        ("http://[::1]:8765/servers/x/mcp", "http://127.0.0.1:8765/servers/x/mcp"),
        ("http://LOCALHOST/servers/x/mcp", "http://127.0.0.1/servers/x/mcp"),
        ("http://127.0.0.2:8765/x", "http://127.0.0.2:8765/x"),
        ("http://user@localhost:8765/x", "http://user@localhost:8765/x"),
        ("http://example.com/x", "http://example.com/x"),
        ("http://[::1/x", "http://[::1/x"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical
