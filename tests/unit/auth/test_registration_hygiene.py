"""Dynamic Client Registration hygiene: a cap per time window (429 beyond it) and the
pruning of registrations that never got a grant (never those with grants or remembered
consents, never the first-party client). Real HTTP handlers over ASGI, injected clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from switchboard.auth.cimd import ClientMetadataResolver
from switchboard.auth.consent import ConsentBroker
from switchboard.auth.keys import KeyProvider, MemoryStorage
from switchboard.auth.server import OAuthServer, authorization_server_routes
from switchboard.auth.store import AuthStore, GrantRecord
from tests.helpers.clocks import ManualClock

ISSUER = "http://127.0.0.1:8765"
DAY = 86400.0


class Harness:
    def __init__(self, tmp_path: Path, clock: ManualClock, **options: Any) -> None:
        self.clock = clock
        self.store = AuthStore(tmp_path / "auth.db", clock=clock)
        self.store.open()
        keys = KeyProvider(MemoryStorage(), clock=clock)
        keys.load_or_create()
        self.oauth = OAuthServer(
            store=self.store,
            keys=keys,
            broker=ConsentBroker(),
            issuer=lambda: ISSUER,
            resolve_resource=lambda resource: None,
            access_token_ttl=lambda: 900,
            cimd=ClientMetadataResolver(),
            clock=clock,
            **options,
        )
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(
                app=Starlette(routes=authorization_server_routes(lambda: self.oauth))
            ),
            base_url=ISSUER,
        )

    async def register(self, name: str = "c") -> httpx.Response:
        return await self.http.post(
            "/oauth/register",
            json={"client_name": name, "redirect_uris": ["http://127.0.0.1:1/cb"]},
        )

    async def client_id(self, name: str) -> str:
        r = await self.register(name)
        assert r.status_code == 201, r.text
        return str(r.json()["client_id"])


@pytest.fixture
async def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def h(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Harness]:
    harness = Harness(tmp_path, clock)
    try:
        yield harness
    finally:
        await harness.http.aclose()
        harness.store.close()


async def test_registrations_beyond_the_cap_get_429_until_the_window_moves(
    h: Harness, clock: ManualClock
) -> None:
    """The cap is per source (client_name + redirect hosts): 20 per minute."""
    assert h.oauth.registration_limit == 20 and h.oauth.registration_window == 60.0
    for _ in range(20):
        clock.t += 1.0
        r = await h.register("flood")
        assert r.status_code == 201, r.text
        assert r.json()["client_id_issued_at"] == int(clock.t)  # the injected clock
    r = await h.register("flood")
    assert r.status_code == 429
    body = r.json()
    assert body["error"] == "temporarily_unavailable"
    assert "by this client (at most 20 per 60 s)" in body["error_description"]
    assert r.headers["cache-control"] == "no-store"
    # The oldest of the 20 (at +1 s) leaves the window at +61 s: 41 s from now (+20 s).
    assert r.headers["retry-after"] == "41"
    assert h.store.count_clients() == 20
    clock.t += 40.0
    assert (await h.register("flood")).status_code == 429
    clock.t += 1.0
    assert (await h.register("flood")).status_code == 201
    assert (await h.register("flood")).status_code == 429
    clock.t += 60.0
    assert (await h.register("flood")).status_code == 201
    assert h.store.count_clients() == 22


async def test_a_flood_from_one_client_does_not_lock_out_another(
    h: Harness, clock: ManualClock
) -> None:
    """10.9: a throw-away client registering in a loop uses up its own budget only."""
    codes = [(await h.register("throwaway")).status_code for _ in range(50)]
    assert codes.count(201) == 20 and codes[20:] == [429] * 30
    r = await h.http.post(
        "/oauth/register",
        json={"client_name": "Cursor", "redirect_uris": ["cursor://anysphere.cursor-mcp/cb"]},
    )
    assert r.status_code == 201, r.text
    # Same name, other redirect host: another source too (a name alone is not trusted).
    r = await h.http.post(
        "/oauth/register",
        json={"client_name": "throwaway", "redirect_uris": ["com.example.other:/cb"]},
    )
    assert r.status_code == 201, r.text
    assert h.store.count_clients() == 22


async def test_the_global_ceiling_holds_a_client_that_changes_its_name(
    tmp_path: Path, clock: ManualClock
) -> None:
    h = Harness(tmp_path, clock, registration_ceiling=5)
    try:
        codes = [(await h.register(f"name {i}")).status_code for i in range(7)]
        assert codes == [201] * 5 + [429] * 2
        r = await h.register("someone else")
        assert "in all (at most 5 per 60 s)" in r.json()["error_description"]
        clock.t += 60.0
        assert (await h.register("someone else")).status_code == 201
    finally:
        await h.http.aclose()
        h.store.close()


async def test_the_cap_is_a_constructor_parameter(tmp_path: Path, clock: ManualClock) -> None:
    h = Harness(tmp_path, clock, registration_limit=2, registration_window=10.0)
    try:
        assert [(await h.register()).status_code for _ in range(3)] == [201, 201, 429]
        clock.t += 10.0
        assert (await h.register()).status_code == 201
    finally:
        await h.http.aclose()
        h.store.close()


def _grant(client_id: str, now: float) -> GrantRecord:
    return GrantRecord(
        id=f"g-{client_id}",
        client_id=client_id,
        server="echo",
        resource=f"{ISSUER}/servers/echo/mcp",
        scope="mcp",
        subject="local-user",
        created_at=now,
    )


async def test_clients_without_grants_are_pruned_after_a_day(
    h: Harness, clock: ManualClock
) -> None:
    granted = await h.client_id("granted")
    revoked = await h.client_id("revoked grant")
    remembered = await h.client_id("remembered consent")
    refreshing = await h.client_id("has a refresh token")
    unused = await h.client_id("never used")
    h.store.add_grant(_grant(granted, clock.t))
    h.store.add_grant(_grant(revoked, clock.t))
    h.store.revoke_grant(f"g-{revoked}", "test")
    h.store.remember_consent(remembered, "echo", "mcp")
    h.store.add_refresh("rt", f"g-{granted}", refreshing, "mcp", 30 * DAY)
    h.store.save_client("switchboard-cli", {"client_id": "switchboard-cli", "first_party": True})
    clock.t += DAY - 1.0
    assert h.oauth.prune_unused_clients() == []  # younger than a day: kept
    clock.t += 2.0
    assert h.oauth.prune_unused_clients() == [unused]
    assert h.store.get_client(unused) is None
    for kept in (granted, revoked, remembered, refreshing, "switchboard-cli"):
        assert h.store.get_client(kept) is not None, kept
    assert h.oauth.query_client(unused) is None


async def test_registration_prunes_stale_clients_at_most_hourly(
    h: Harness, clock: ManualClock
) -> None:
    first = await h.client_id("first")
    clock.t += DAY + 1.0
    await h.client_id("second")  # a day later, the next registration prunes `first`
    assert h.store.get_client(first) is None
    clock.t -= 2 * DAY  # a registration made two days ago, never used
    h.store.save_client("stale", {"client_id": "stale", "client_name": "stale"})
    clock.t += 2 * DAY
    clock.t += 3599.0
    await h.client_id("third")  # within the hour after the last prune: no pruning
    assert h.store.get_client("stale") is not None
    clock.t += 1.0
    await h.client_id("fourth")
    assert h.store.get_client("stale") is None


async def test_a_client_with_an_authorization_in_progress_is_kept(
    h: Harness, clock: ManualClock
) -> None:
    busy = await h.client_id("busy")
    clock.t += DAY + 1.0
    assert h.store.prune_unused_clients(DAY, keep={busy}) == []
    assert h.store.prune_unused_clients(DAY) == [busy]
