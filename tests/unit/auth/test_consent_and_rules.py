"""ConsentBroker semantics, the redirect URI rules (exact + RFC 8252 §7.3 loopback port)
and the SQLite store's grant/refresh bookkeeping."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from switchboard.auth.consent import ConsentBroker, Decision
from switchboard.auth.models import redirect_allowed, redirect_matches
from switchboard.auth.store import AuthStore, GrantRecord


def _open(broker: ConsentBroker, client: str = "c1") -> str:
    req = broker.open(
        client_id=client,
        client_name="Client",
        redirect_uri="http://127.0.0.1:1/cb",
        redirect_host="127.0.0.1:1",
        server="echo",
        resource="http://127.0.0.1:8765/servers/echo/mcp",
        scopes=("mcp",),
    )
    return req.id


async def test_decision_before_wait_is_kept() -> None:
    broker = ConsentBroker()
    seen: list[str] = []
    unsubscribe = broker.on_request(lambda r: seen.append(r.id))
    rid = _open(broker)
    assert seen == [rid] and [r.id for r in broker.pending()] == [rid]
    assert broker.decide(rid, True, remember=True)
    assert broker.pending() == []
    assert await broker.wait(rid) == (Decision.APPROVED, True)
    assert not broker.decide(rid, False)  # already decided
    unsubscribe()
    _open(broker)
    assert len(seen) == 1


async def test_request_ids_are_safe_to_type_into_the_cli() -> None:
    # `switchboard consent approve -htg...` would read the id as an option: hex only.
    broker = ConsentBroker()
    ids = [_open(broker, client=f"c{i}") for i in range(100)]
    assert all(re.fullmatch(r"[0-9a-f]{24}", rid) for rid in ids), ids
    assert len(set(ids)) == 100


async def test_wait_then_decide_and_timeout_and_expire() -> None:
    broker = ConsentBroker(timeout=0.05)
    resolved: list[tuple[str, Decision]] = []
    broker.on_decided(lambda rid, d: resolved.append((rid, d)))
    rid = _open(broker)
    waiter = asyncio.ensure_future(broker.wait(rid, timeout=5))
    await asyncio.sleep(0)
    broker.decide(rid, False)
    assert await waiter == (Decision.DENIED, False)
    rid2 = _open(broker)
    assert await broker.wait(rid2) == (Decision.EXPIRED, False)
    assert await broker.wait("unknown") == (Decision.EXPIRED, False)
    rid3 = _open(broker)
    waiter = asyncio.ensure_future(broker.wait(rid3, timeout=5))
    await asyncio.sleep(0)
    assert broker.expire(rid3)
    assert await waiter == (Decision.EXPIRED, False)
    assert broker.get(rid3) is None
    assert [d for _, d in resolved] == [Decision.DENIED, Decision.EXPIRED, Decision.EXPIRED]
    assert [r for r, _ in resolved] == [rid, rid2, rid3]


@pytest.mark.parametrize(
    ("registered", "requested", "ok"),
    [
        ("https://app.example/cb", "https://app.example/cb", True),
        ("https://app.example/cb", "https://app.example/cb/", False),
        ("https://app.example/cb", "https://app.example:8443/cb", False),
        ("https://app.example/cb", "https://APP.example/cb", False),
        ("http://127.0.0.1/cb", "http://127.0.0.1:53123/cb", True),
        ("http://127.0.0.1:3000/cb", "http://127.0.0.1:4000/cb", True),
        ("http://[::1]:3000/cb", "http://[::1]:4000/cb", True),
        ("http://localhost:3000/cb", "http://localhost:4000/cb", True),
        ("http://127.0.0.1:3000/cb", "http://127.0.0.1:4000/other", False),
        ("http://127.0.0.1:3000/cb", "http://localhost:3000/cb", False),
        ("http://127.0.0.1:3000/cb", "http://127.0.0.1:3000/cb?x=1", False),
        # Continue registers with ?state=..., authorizes without (RFC 8252 §7.3 loopback).
        ("http://localhost:3000/?state=abc", "http://localhost:3000", True),
        ("http://localhost:3000/?state=abc", "http://localhost:3000/?state=xyz", False),
        ("https://app.example/?state=abc", "https://app.example/", False),
        ("http://127.0.0.1:3000/cb", "http://user@127.0.0.1:3000/cb", False),
        ("http://127.0.0.1:3000/cb", "https://127.0.0.1:3000/cb", False),
        ("http://app.example:3000/cb", "http://app.example:4000/cb", False),
        ("http://127.0.0.1:3000/cb", "http://127.0.0.1:99999/cb", False),
    ],
)
def test_redirect_matching(registered: str, requested: str, ok: bool) -> None:
    assert redirect_matches(registered, requested) is ok


@pytest.mark.parametrize(
    ("uri", "ok"),
    [
        ("https://app.example/cb", False),  # the code would leave this computer
        ("https://127.0.0.1:8443/cb", True),
        ("cursor://anysphere.cursor-mcp/oauth/callback", True),
        ("com.example.app:/oauth2redirect", True),
        ("http://127.0.0.1:3000/cb", True),
        ("http://localhost/cb", True),
        ("http://[::1]:1/cb", True),
        ("http://app.example/cb", False),
        ("https://app.example/cb#f", False),
        ("javascript:alert(1)", False),
        ("app://cb", False),
        ("/relative", False),
    ],
)
def test_redirect_allowed(uri: str, ok: bool) -> None:
    assert redirect_allowed(uri) is ok


def test_store_grants_refresh_and_consents(tmp_path: Path) -> None:
    now = [1000.0]
    store = AuthStore(tmp_path / "auth.sqlite3", clock=lambda: now[0])
    store.open()
    try:
        store.save_client("c1", {"client_id": "c1", "client_name": "One"})
        store.add_grant(GrantRecord("g1", "c1", "echo", "r", "mcp", "me", now[0]))
        store.add_refresh("rt-1", "g1", "c1", "mcp", ttl=60)
        rec = store.get_refresh("rt-1")
        assert rec is not None and rec.used_at is None and rec.expires_at == 1060
        assert "rt-1" not in (tmp_path / "auth.sqlite3").read_bytes().decode("latin-1")
        store.mark_refresh_used("rt-1")
        assert store.get_refresh("rt-1").used_at == 1000  # type: ignore[union-attr]
        store.remember_consent("c1", "echo", "mcp")
        assert store.get_consent("c1", "echo") is not None
        assert store.revoke_grant("g1", "test")
        assert not store.revoke_grant("g1", "again")
        assert store.get_refresh("rt-1") is None  # a revoked grant's refresh tokens are gone
        assert store.revoked_grant_ids() == {"g1"}
        assert store.list_grants() == []
        assert [g.revoke_reason for g in store.list_grants(include_revoked=True)] == ["test"]
        store.revoke_jti("j1", expires_at=1500)
        assert store.revoked_jtis() == {"j1"}
        now[0] = 2000
        assert store.revoked_jtis() == set()  # expired entries are pruned
        assert store.forget_consent("c1", "echo")
        assert not store.forget_consent("c1", "echo")
    finally:
        store.close()
    mode = (tmp_path / "auth.sqlite3").stat().st_mode & 0o777
    assert mode == 0o600
