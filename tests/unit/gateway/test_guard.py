"""The Origin/Host guard as a plain ASGI app."""

from __future__ import annotations

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

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

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
