"""Remembered grants: a long, sliding refresh-token lifetime (rotation and reuse detection
kept) instead of silent codes; a grant approved without "remember" ends 30 days after
the approval. Every token issued for a grant records its last use; grants keep the
redirect URI of their approval; databases from before those columns are migrated.
Real handlers over ASGI, injected clock."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from switchboard.auth.cimd import ClientMetadataResolver
from switchboard.auth.consent import ConsentBroker
from switchboard.auth.grants import REFRESH_TTL, REMEMBERED_REFRESH_TTL
from switchboard.auth.keys import KeyProvider, MemoryStorage
from switchboard.auth.server import OAuthServer, authorization_server_routes
from switchboard.auth.store import AuthStore, GrantRecord
from tests.helpers.clocks import ManualClock
from tests.unit.auth.tokens import code_flow

ISSUER = "http://127.0.0.1:8765"
RESOURCE = f"{ISSUER}/servers/echo/mcp"
DAY = 86400.0


@dataclasses.dataclass
class Rig:
    clock: ManualClock
    store: AuthStore
    consent: ConsentBroker
    http: httpx.AsyncClient
    base_url: str = ISSUER

    async def refresh(self, client: dict[str, Any], token: str) -> httpx.Response:
        return await self.http.post(
            "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": token,
                "client_id": client["client_id"],
            },
        )


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    clock = ManualClock()
    store = AuthStore(tmp_path / "auth.db", clock=clock)
    store.open()
    keys = KeyProvider(MemoryStorage(), clock=clock)
    keys.load_or_create()
    broker = ConsentBroker()
    oauth = OAuthServer(
        store=store,
        keys=keys,
        broker=broker,
        issuer=lambda: ISSUER,
        resolve_resource=lambda r: "echo" if r == RESOURCE else None,
        access_token_ttl=lambda: 900,
        cimd=ClientMetadataResolver(),
        clock=clock,
    )
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(
            app=Starlette(routes=authorization_server_routes(lambda: oauth))
        ),
        base_url=ISSUER,
    )
    try:
        yield Rig(clock, store, broker, http)
    finally:
        await http.aclose()
        store.close()


async def test_a_remembered_grant_slides_and_keeps_reuse_detection(rig: Rig) -> None:
    t0 = rig.clock.t
    client, tok = await code_flow(rig, rig.http, RESOURCE, remember=True)
    record = rig.store.get_refresh(tok["refresh_token"])
    assert record is not None and record.expires_at == t0 + REMEMBERED_REFRESH_TTL
    [grant] = rig.store.list_grants()
    assert grant.last_used_at == t0
    assert grant.redirect_uri == "http://127.0.0.1:40123/cb"

    rig.clock.t = t0 + 60 * DAY  # used now and then: never needs a new authorization
    r = await rig.refresh(client, tok["refresh_token"])
    assert r.status_code == 200, r.text
    rotated = r.json()["refresh_token"]
    record = rig.store.get_refresh(rotated)
    assert record is not None and record.expires_at == rig.clock.t + REMEMBERED_REFRESH_TTL
    assert rig.store.list_grants()[0].last_used_at == rig.clock.t

    r = await rig.refresh(client, tok["refresh_token"])  # the rotated one comes back
    assert r.status_code == 400
    assert rig.store.list_grants() == []  # RFC 9700 §4.14.2: the grant is revoked
    assert (await rig.refresh(client, rotated)).status_code == 400


async def test_a_grant_without_remember_ends_30_days_after_approval(rig: Rig) -> None:
    t0 = rig.clock.t
    client, tok = await code_flow(rig, rig.http, RESOURCE)
    record = rig.store.get_refresh(tok["refresh_token"])
    assert record is not None and record.expires_at == t0 + REFRESH_TTL
    rig.clock.t = t0 + 20 * DAY
    r = await rig.refresh(client, tok["refresh_token"])
    assert r.status_code == 200, r.text
    record = rig.store.get_refresh(r.json()["refresh_token"])
    assert record is not None and record.expires_at == t0 + REFRESH_TTL  # not renewed
    assert rig.store.list_grants()[0].last_used_at == t0 + 20 * DAY
    rig.clock.t = t0 + REFRESH_TTL + 1
    assert (await rig.refresh(client, r.json()["refresh_token"])).status_code == 400


def test_a_database_from_before_the_new_columns_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "auth.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE grants (id TEXT PRIMARY KEY, client_id TEXT NOT NULL, server TEXT NOT "
        "NULL, resource TEXT NOT NULL, scope TEXT NOT NULL, subject TEXT NOT NULL, "
        "created_at REAL NOT NULL, revoked_at REAL, revoke_reason TEXT);"
        "INSERT INTO grants VALUES ('g1', 'c1', 'echo', 'r', 'mcp', 'me', 5.0, NULL, NULL);"
    )
    db.commit()
    db.close()
    store = AuthStore(path, clock=lambda: 7.0)
    store.open()
    try:
        assert store.list_grants() == [GrantRecord("g1", "c1", "echo", "r", "mcp", "me", 5.0)]
        store.touch_grant("g1")
        store.add_grant(GrantRecord("g2", "c1", "echo", "r", "mcp", "me", 6.0, redirect_uri="x"))
        assert [(g.id, g.redirect_uri, g.last_used_at) for g in store.list_grants()] == [
            ("g1", None, 7.0),
            ("g2", "x", None),
        ]
    finally:
        store.close()


async def test_approving_without_remember_ends_the_remembered_lifetime(rig: Rig) -> None:
    await code_flow(rig, rig.http, RESOURCE, remember=True)
    [consent] = rig.store.list_consents()
    client = {"client_id": consent.client_id}
    t1 = rig.clock.t = rig.clock.t + DAY
    _, tok = await code_flow(rig, rig.http, RESOURCE, client=client)  # unticked this time
    assert rig.store.list_consents() == []
    record = rig.store.get_refresh(tok["refresh_token"])
    assert record is not None and record.expires_at == t1 + REFRESH_TTL
