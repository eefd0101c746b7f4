"""The Origin/Host guard as a plain ASGI app."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pytest

from switchboard.gateway.guard import OriginHostGuard, origin_allowed


@pytest.mark.parametrize(
    ("origin", "ok"),
    [
        ("http://localhost:3000", True),
        ("http://127.0.0.1", True),
        ("https://[::1]:8443", True),
        ("https://evil.example", False),
        ("http://127.0.0.1.evil.example", False),
        ("null", False),
        ("file://", False),
    ],
)
def test_origin_allowed(origin: str, ok: bool) -> None:
    assert origin_allowed(origin) is ok


def test_allow_list() -> None:
    assert origin_allowed("https://app.example", frozenset({"https://app.example"}))


async def run(guard: OriginHostGuard, headers: list[tuple[bytes, bytes]]) -> int:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    await guard({"type": "http", "headers": headers}, receive, send)
    return int(sent[0]["status"])


async def test_guard_statuses() -> None:
    async def ok(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    guard = OriginHostGuard(ok)
    assert await run(guard, [(b"host", b"127.0.0.1:8765")]) == 200
    assert await run(guard, [(b"host", b"localhost")]) == 200
    assert await run(guard, [(b"host", b"[::1]:8765")]) == 200
    assert await run(guard, [(b"host", b"evil.example:8765")]) == 421
    assert await run(guard, []) == 421
    assert await run(guard, [(b"host", b"127.0.0.1"), (b"origin", b"https://evil.example")]) == 403
    assert await run(guard, [(b"host", b"127.0.0.1"), (b"origin", b"http://localhost:1")]) == 200


async def test_exactly_one_well_formed_host() -> None:
    """Issue 10.2: Starlette/authlib read the first Host, the gateway the last; two
    Hosts are refused, and a Host is a loopback name with at most a numeric port (it
    ends up in URLs the gateway emits, e.g. WWW-Authenticate's resource_metadata)."""

    async def ok(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    guard = OriginHostGuard(ok)
    two = [(b"host", b"127.0.0.1:8765"), (b"host", b"evil.example")]
    assert await run(guard, two) == 400
    assert await run(guard, two[::-1]) == 400
    same = [(b"host", b"127.0.0.1:8765"), (b"host", b"127.0.0.1:8765")]
    assert await run(guard, same) == 400
    for bad in (
        b'localhost:1", error="x',
        b"localhost:8765/evil",
        b"localhost:abc",
        b"localhost:",
        b"localhost.:80",
        b"::1",
        b"127.0.0.1:123456",
        b"user@localhost",
        b"",
    ):
        assert await run(guard, [(b"host", bad)]) == 421, bad
    assert await run(guard, [(b"host", b"LOCALHOST:80")]) == 200
