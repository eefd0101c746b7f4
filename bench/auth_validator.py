"""Token validation cost: in-process keys (cold and cached) vs HTTP JWKS on loopback.

Starts a real engine (temporary home, port 0) so the HTTP JWKS path fetches the engine's
real ``/oauth/jwks.json`` over loopback through uvicorn, exactly the path the ToolHive
change removed. Prints µs per validation, validations/s, first-request latency after
start, and ratios against the in-process numbers measured in the same run.

    .venv/bin/python bench/auth_validator.py [--n 5000] [--fresh 30] [--rounds 10]

Rows, all measured in the same interleaved rounds: a cached token, a cold token (the
signature is checked) with the keys already at hand, and a new validator per call (the
first request after start: in-process reads the key provider, HTTP JWKS does discovery
and fetches the JWKS over loopback first).

Targets (issue 4): cached <= 5 µs, cold <= 60 µs, first request after start >= 10x faster
in-process than through HTTP JWKS.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from switchboard.auth.models import GrantUser
from switchboard.auth.validator import JWKSClient, TokenValidator
from switchboard.composition import build_engine
from switchboard.core.paths import AppPaths
from switchboard.core.spec import ServerSpec

ROWS = ("floor", "cached", "cold", "fresh", "http_cached", "http_keys_held", "http_fresh")
NAMES = {
    "floor": "floor: bare RSA verify (no JWT)",
    "cached": "in-process, cached token",
    "cold": "in-process, cold token",
    "fresh": "in-process, new validator",
    "http_cached": "HTTP JWKS, cached token",
    "http_keys_held": "HTTP JWKS, cold token, keys held",
    "http_fresh": "HTTP JWKS, new validator",
}

Validate = Callable[[Any, str], Awaitable[object]]


async def per_call(fn: Validate, tokens: Sequence[Any], audience: str) -> float:
    """µs per ``fn(token, audience)``, one validator for all calls."""
    t0 = time.perf_counter()
    for tok in tokens:
        await fn(tok, audience)
    return (time.perf_counter() - t0) / len(tokens) * 1e6


async def per_fresh(make: Callable[[], TokenValidator], tokens: Sequence[str], aud: str) -> float:
    """µs per validation by a validator made for that one call (nothing fetched or cached
    yet: for HTTP JWKS this includes discovery and the JWKS request over loopback).
    Making the validator and closing its HTTP client are outside the timing."""
    total = 0.0
    for tok in tokens:
        v = make()
        t0 = time.perf_counter()
        await v.validate(tok, aud)
        total += time.perf_counter() - t0
        if v.jwks is not None:
            await v.jwks.aclose()
    return total / len(tokens) * 1e6


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--fresh", type=int, default=30, help="new validators per round and path")
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as home:
        paths = AppPaths.default(Path(home))
        engine = build_engine(paths, port=0, path_resolver=lambda: os.environ.get("PATH", ""))
        await engine.start()
        try:
            await engine.add_server(ServerSpec(name="echo", command=sys.executable))
            aud = engine.server_url("echo")
            oauth, keys = engine.auth.oauth, engine.auth.keys
            assert oauth is not None
            assert keys is not None
            client = oauth.query_client("switchboard-cli")
            assert client is not None
            user = GrantUser("g-bench", "bench", "echo", aud, "mcp")
            tokens = [
                oauth.generate_token("authorization_code", client, user, "mcp", None, False)[
                    "access_token"
                ]
                for _ in range(args.n)
            ]
            issuer = engine.base_url

            def inproc(cache: int = 4096) -> TokenValidator:
                return TokenValidator(
                    issuer,
                    key_provider=keys,
                    expected_typ="at+jwt",
                    cache_size=cache,
                    is_revoked=oauth.token_revoked,
                )

            def via_http(cache: int = 4096) -> TokenValidator:
                return TokenValidator(
                    issuer,
                    jwks=JWKSClient(issuer),
                    expected_typ="at+jwt",
                    cache_size=cache,
                    is_revoked=oauth.token_revoked,
                )

            info = keys.get_public_key(keys.signing_key()[0])
            assert info is not None
            sigs = []
            for t in tokens:
                si, sg = t.rsplit(".", 1)
                sigs.append((si.encode(), base64.urlsafe_b64decode(sg + "=" * (-len(sg) % 4))))

            async def floor(item: tuple[bytes, bytes], _aud: str) -> None:
                info.public_key.verify(item[1], item[0], padding.PKCS1v15(), hashes.SHA256())

            # Long-lived validators; the HTTP ones fetch the JWKS once here, so their rows
            # below measure the steady state (keys held), not the fetch.
            cold, cached = inproc(0), inproc()
            http_keys_held, http_cached = via_http(0), via_http()
            for v in (cold, cached, http_keys_held, http_cached):
                await v.validate(tokens[0], aud)
            # The machine is shared: interleave the paths in rounds, report the median round.
            samples: dict[str, list[float]] = {k: [] for k in ROWS}
            chunk = max(1, len(tokens) // args.rounds)
            for r in range(args.rounds):
                part = tokens[r * chunk : (r + 1) * chunk]
                same = [tokens[0]] * len(part)
                few = part[: args.fresh]
                samples["floor"].append(await per_call(floor, sigs[: len(part)], aud))
                samples["cached"].append(await per_call(cached.validate, same, aud))
                samples["cold"].append(await per_call(cold.validate, part, aud))
                samples["fresh"].append(await per_fresh(inproc, few, aud))
                samples["http_cached"].append(await per_call(http_cached.validate, same, aud))
                samples["http_keys_held"].append(await per_call(http_keys_held.validate, part, aud))
                samples["http_fresh"].append(await per_fresh(via_http, few, aud))
            for v in (http_keys_held, http_cached):
                assert v.jwks is not None
                await v.jwks.aclose()
            med = {k: statistics.median(v) for k, v in samples.items()}
            best = {k: min(v) for k, v in samples.items()}
            jwks_hits = engine.auth.jwks_requests
        finally:
            await engine.aclose()

    print(
        f"token validation, n={args.n} in {args.rounds} interleaved rounds "
        f"(RS256, {len(tokens[0])}-byte tokens; new validators: {args.fresh} per round)"
    )
    print(f"{'path':34} {'median µs':>10} {'best µs':>9} {'validations/s':>14}")
    for key in ROWS:
        print(f"{NAMES[key]:34} {med[key]:10.2f} {best[key]:9.2f} {1e6 / med[key]:14.0f}")
    print()
    print("ratios (same work, side by side):")
    print(f"  in-process: cold / cached           : {med['cold'] / med['cached']:8.1f}x")
    print(f"  in-process cold / bare RSA floor    : {med['cold'] / med['floor']:8.2f}x")
    print(f"  cached token: HTTP / in-process     : {med['http_cached'] / med['cached']:8.2f}x")
    print(f"  cold token: HTTP keys held / in-proc: {med['http_keys_held'] / med['cold']:8.2f}x")
    print(f"  new validator: HTTP / in-process    : {med['http_fresh'] / med['fresh']:8.1f}x")
    print(f"  JWKS endpoint requests during run   : {jwks_hits} (all from the HTTP variant)")
    print()
    cached_us, cold_us = med["cached"], med["cold"]
    first = med["http_fresh"] / med["fresh"]
    print(
        "targets: cached <= 5 µs: {}; cold <= 60 µs: {}; first request >= 10x: {}".format(
            "ok" if cached_us <= 5 else "MISSED",
            "ok" if cold_us <= 60 else "MISSED",
            "ok" if first >= 10 else "MISSED",
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
