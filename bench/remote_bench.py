"""Remote servers (issue 18): the cost of going through Switchboard's gateway to an
OAuth-protected remote MCP server, against calling it directly with its own token.

The upstream is tests/helpers/remote_fixture.py (the Python mcp SDK's server with its
auth provider and bearer middleware) on loopback, in its own process (``--same-process``:
in the bench's loop); the engine is in-process (auth off on the gateway side, so only
the remote hop is measured). Same SDK client both ways, N sequential ``tools/call echo``
in one session each, alternating rounds.

    .venv/bin/python bench/remote_bench.py --calls 300 --rounds 3

Prints p50/p90 per row and the ratio. Not a test: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import make_test_engine  # noqa: E402
from tests.helpers.remote_fixture import ScriptedBrowser, remote_fixture  # noqa: E402

from switchboard.core.paths import AppPaths  # noqa: E402
from switchboard.core.spec import AuthMode, ServerSpec, Transport  # noqa: E402


async def run_calls(url: str, headers: dict[str, str], calls: int) -> list[float]:
    out: list[float] = []
    async with (
        httpx2.AsyncClient(headers=headers, trust_env=False, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        await client.call_tool("echo", {"message": "warm"})
        for i in range(calls):
            t0 = time.perf_counter()
            await client.call_tool("echo", {"message": f"m{i}"})
            out.append((time.perf_counter() - t0) * 1e3)
    return out


def pct(values: list[float], p: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * p))]


@contextlib.asynccontextmanager
async def fixture_process() -> AsyncIterator[str]:
    """The fixture in a child process; yields its MCP URL."""
    code = (
        "import asyncio, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from tests.helpers.remote_fixture import remote_fixture\n"
        "async def main():\n"
        "    async with remote_fixture() as fx:\n"
        "        print(fx.url, flush=True)\n"
        "        await asyncio.Event().wait()\n"
        "asyncio.run(main())\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    try:
        yield (await proc.stdout.readline()).decode().strip()
    finally:
        proc.terminate()
        await proc.wait()


@contextlib.asynccontextmanager
async def fixture_here() -> AsyncIterator[str]:
    async with remote_fixture() as fx:
        yield fx.url


async def main(calls: int, rounds: int, same_process: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = AppPaths.default(Path(tmp) / "home")
        paths.ensure()
        async with fixture_here() if same_process else fixture_process() as url:
            engine = make_test_engine(paths, browser=ScriptedBrowser())
            await engine.start()
            try:
                await engine.add_server(
                    ServerSpec(
                        name="fx",
                        transport=Transport.STREAMABLE_HTTP,
                        url=url,
                        remote=True,
                        auth=AuthMode.OFF,
                    )
                )
                await engine.sign_in("fx")
                assert engine.remote is not None
                stored = await engine.remote.vault.tokens("fx")
                assert stored is not None
                token = stored.access_token
                rows: dict[str, list[float]] = {"direct": [], "switchboard": []}
                for _ in range(rounds):
                    rows["direct"] += await run_calls(
                        url, {"authorization": f"Bearer {token}"}, calls
                    )
                    rows["switchboard"] += await run_calls(engine.server_url("fx"), {}, calls)
            finally:
                await engine.aclose()
    for name, values in rows.items():
        print(
            f"{name:12} n={len(values):5}  p50 {statistics.median(values):6.2f} ms"
            f"  p90 {pct(values, 0.9):6.2f} ms"
        )
    d, s = statistics.median(rows["direct"]), statistics.median(rows["switchboard"])
    print(f"switchboard/direct p50: {s / d:.2f}x (+{s - d:.2f} ms)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--same-process", action="store_true")
    a = ap.parse_args()
    asyncio.run(main(a.calls, a.rounds, a.same_process))
