"""10.9: a flood of authorization requests does not lock real clients out.

Pending consent requests are capped per client id and per source (non-loopback redirect
host, private-use scheme, CIMD host), a newer request replacing the oldest of its own
group; the global ceiling (memory) makes room from the client holding the most. Real
listener and HTTP for the flood; the broker's grouping rules directly."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest

from switchboard.auth.consent import ConsentBroker, Decision
from switchboard.core.spec import ServerSpec
from switchboard.engine import Engine
from tests.conftest import fixture_cmd
from tests.unit.auth.tokens import b64

pytestmark = pytest.mark.timeout(120)

REDIRECT = "http://127.0.0.1:40123/cb"
CHALLENGE = b64(hashlib.sha256(b"v" * 64).digest())


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
        yield client


@pytest.fixture
async def eng(engine: Engine) -> Engine:
    cmd, args = fixture_cmd("echo_server.py")
    await engine.add_server(ServerSpec(name="echo", command=cmd, args=args))
    return engine


async def _register(http: httpx.AsyncClient, eng: Engine, name: str) -> str:
    r = await http.post(
        f"{eng.base_url}/oauth/register", json={"client_name": name, "redirect_uris": [REDIRECT]}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["client_id"])


async def _authorize(http: httpx.AsyncClient, eng: Engine, client_id: str, state: str) -> int:
    r = await http.get(
        f"{eng.base_url}/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "state": state,
            "code_challenge": CHALLENGE,
            "code_challenge_method": "S256",
            "resource": eng.server_url("echo"),
        },
    )
    return r.status_code


async def test_a_flooding_client_does_not_lock_out_another(
    eng: Engine, http: httpx.AsyncClient
) -> None:
    broker = eng.consent
    flooder = await _register(http, eng, "throw-away")
    codes = [await _authorize(http, eng, flooder, f"a{i}") for i in range(30)]
    assert codes == [200] * 30  # its newer requests replace its own older ones
    assert [r.client_id for r in broker.pending()] == [flooder] * broker.max_per_client

    # Throw-away registrations, each flooding, beyond the global ceiling.
    broker.max_pending = 20
    throwaways = [await _register(http, eng, f"throw-away {i}") for i in range(12)]
    for i, cid in enumerate(throwaways):
        for j in range(4):
            assert await _authorize(http, eng, cid, f"t{i}.{j}") == 200
    assert len(broker.pending()) <= broker.max_pending

    real = await _register(http, eng, "Real client")
    assert await _authorize(http, eng, real, "b") == 200
    mine = [r for r in broker.pending() if r.client_id == real]
    assert len(mine) == 1 and mine[0].client_name == "Real client"
    assert len(broker.pending()) <= broker.max_pending
    assert max(Counter(r.client_id for r in broker.pending()).values()) <= broker.max_per_client


def _open(broker: ConsentBroker, client_id: str, redirect_uri: str) -> str:
    return broker.open(
        client_id=client_id,
        client_name="c",
        redirect_uri=redirect_uri,
        redirect_host="",
        server="echo",
        resource="r",
        scopes=("mcp",),
    ).id


async def test_caps_per_source_and_what_the_replaced_waiter_gets() -> None:
    broker = ConsentBroker(max_per_client=2, max_per_source=3, max_pending=100)
    decided: list[tuple[str, Decision]] = []
    broker.on_decided(lambda rid, d: decided.append((rid, d)))
    # Many client ids, one remote redirect host: capped together.
    remote = [_open(broker, f"c{i}", f"https://evil.example/cb{i}") for i in range(5)]
    assert [r.id for r in broker.pending()] == remote[2:]
    assert decided == [(remote[0], Decision.EXPIRED), (remote[1], Decision.EXPIRED)]
    assert await broker.wait(remote[0]) == (Decision.EXPIRED, False)
    # The same for a private-use scheme and for CIMD client ids of one host.
    app = [_open(broker, f"d{i}", "evil-app:/cb") for i in range(4)]
    cimd = [_open(broker, f"https://evil.example/c{i}.json", REDIRECT) for i in range(4)]
    # Loopback redirects are shared by every local client: only the per-client cap.
    local = [_open(broker, f"l{i}", REDIRECT) for i in range(6)]
    ids = {r.id for r in broker.pending()}
    assert ids == set(remote[2:]) | set(app[1:]) | set(cimd[1:]) | set(local)


async def test_the_global_ceiling_takes_from_the_biggest_client() -> None:
    broker = ConsentBroker(max_per_client=5, max_pending=6)
    big = [_open(broker, "big", REDIRECT) for _ in range(5)]
    small = _open(broker, "small", REDIRECT)
    newcomer = _open(broker, "new", REDIRECT)
    assert [r.id for r in broker.pending()] == [*big[1:], small, newcomer]
