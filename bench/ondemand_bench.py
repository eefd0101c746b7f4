"""On-demand servers (issue 16.2/16.3): memory asleep vs awake, and what a wake costs.

One in-process engine (temporary home, port 0, auth off) with ``--servers`` on-demand
copies of ``mcp-server-time`` (PyPI, installed next to this Python). Prints:

* processes and tree RSS of all servers while asleep (expected: none, 0 B);
* the first call to a sleeping server (initialize + tools/call: the wake) vs the same
  call on the running server, medians over ``--rounds`` sleep/wake cycles;
* tree RSS per server and in total once every server was woken.

    .venv/bin/python bench/ondemand_bench.py --servers 10 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mcp import Client

from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, ServerSpec, StartMode
from switchboard.core.state import ServerState
from switchboard.core.units import format_bytes

TIME_SERVER = str(Path(sys.executable).with_name("mcp-server-time"))


async def call(url: str) -> float:
    t0 = time.perf_counter()
    async with Client(url, mode="legacy") as client:
        await client.call_tool("get_current_time", {"timezone": "UTC"})
    return time.perf_counter() - t0


async def main(servers: int, rounds: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.conftest import make_test_engine  # the engine the tests use: no keyring

    home = Path(tempfile.mkdtemp(prefix="sb-ondemand-"))
    paths = AppPaths.default(home)
    paths.ensure()
    engine = make_test_engine(paths)
    await engine.start()
    try:
        names = [f"t{i}" for i in range(servers)]
        for name in names:
            spec = ServerSpec(
                name=name,
                command=TIME_SERVER,
                auth=AuthMode.OFF,
                start=StartMode.ON_DEMAND,
                sleep_after=60,
            )
            await engine.add_server(spec)
        await engine.supervisor.sample_memory()
        asleep = [engine.status(n) for n in names]
        print(
            f"{servers} servers asleep: "
            f"{sum(1 for s in asleep if s.pid is not None)} processes, "
            f"{format_bytes(engine.supervisor.total_rss())} resident "
            f"(states: {sorted({s.state.value for s in asleep})})"
        )
        url = engine.server_url(names[0])
        cold, warm = [], []
        for _ in range(rounds):
            await engine.sleep_server(names[0])
            assert engine.status(names[0]).state is ServerState.SLEEPING
            cold.append(await call(url))
            warm.append(await call(url))
        cold_ms, warm_ms = statistics.median(cold) * 1e3, statistics.median(warm) * 1e3
        print(
            f"session + call, median of {rounds}: asleep (wake) {cold_ms:.0f} ms, "
            f"running {warm_ms:.0f} ms"
        )
        await asyncio.gather(*(call(engine.server_url(n)) for n in names[1:]))
        await engine.supervisor.sample_memory()
        each = [engine.status(n).rss_bytes or 0 for n in names]
        print(
            f"{servers} servers awake: {format_bytes(sum(each))} resident "
            f"({format_bytes(int(statistics.median(each)))} median per server tree)"
        )
    finally:
        await engine.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--servers", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    ns = parser.parse_args()
    asyncio.run(main(ns.servers, ns.rounds))
