"""Memory and start latency of npm MCP servers: literal ``npx -y`` vs resolved entry points.

Ten npm servers from the bundled catalog that start without secrets, each planned by
the catalog exactly as ``switchboard catalog install`` would (``npx -y pkg@version``),
run by Switchboard's real supervisor in two modes, in one run:

- ``npx``: the command as written (``npm exec`` stays beside the server).
- ``resolved``: the same spec through :class:`switchboard.packages.PackageResolver`
  (the package installed once in a cache, its ``bin`` spawned with ``node``).

Both modes are warmed first (npx's cache filled, the resolver's installs done), so the
numbers compare steady-state starts, not downloads. Measured:

- RSS: all ten running at once, each answered ``initialize``, settled 3 s; the sum of
  VmRSS over every process of each server's tree (supervisor/tree.py ``members``).
- start-to-first-answer: one server at a time, from ``start()`` to the answer to
  ``initialize`` on its stdio stream; median of ``--rounds`` per server.

Not a test: prints MB and ratios.

    .venv/bin/python bench/lean_bench.py [--rounds 3] [--cache DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from switchboard.catalog.catalog import Catalog
from switchboard.catalog.plan import plan_install
from switchboard.core.events import EventBus
from switchboard.core.spec import ServerSpec
from switchboard.core.state import ServerState
from switchboard.packages import PackageResolver
from switchboard.supervisor import tree
from switchboard.supervisor.supervisor import Supervisor

INIT = {
    "jsonrpc": "2.0",
    "id": "bench-init",
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "lean-bench", "version": "0"},
    },
}


def catalog_servers(workdir: Path) -> list[ServerSpec]:
    """(catalog handle, --arg values): npm servers that need no secret to start."""
    picks: list[tuple[str, dict[str, list[str]]]] = [
        ("filesystem", {"directory": [str(workdir)]}),
        ("everything", {}),
        ("memory", {}),
        ("sequential-thinking", {}),
        ("postgresql", {"database_url": ["postgresql://127.0.0.1:9/none"]}),
        ("context7", {}),
        ("playwright", {}),
        ("kubernetes", {}),
        ("shopify-dev", {}),
        ("browser-mcp", {}),
    ]
    catalog = Catalog()
    specs = []
    for handle, args in picks:
        plan = plan_install(catalog.get(handle), args=args)
        env = {"MEMORY_FILE_PATH": str(workdir / "memory.jsonl")} if handle == "memory" else {}
        specs.append(ServerSpec(plan.spec.name, plan.spec.command, plan.spec.args, env=env))
    return specs


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid: int) -> int:
    """Proportional set size: shared pages (the node binary, libraries) split between
    the processes that map them, so a tree's sum does not count them twice."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cmd_name(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [w.decode(errors="replace") for w in raw if w]
    return " ".join(Path(w).name if i == 0 else w for i, w in enumerate(words[:3]))[:60]


def tree_rss(pid: int) -> tuple[int, int, list[str]]:
    """RSS and PSS KiB over the server's process tree, and what each process is."""
    found = tree.members(pid, tree.start_time(pid), None)
    return (
        sum(rss_kib(p) for p in found),
        sum(pss_kib(p) for p in found),
        [f"{cmd_name(p)} {rss_kib(p) / 1024:.0f}MB" for p in sorted(found)],
    )


async def first_answer(sup: Supervisor, name: str) -> float:
    """Seconds from start() to the answer to initialize."""
    server = sup.get(name)
    t0 = time.perf_counter()
    await server.start()
    if server.state is not ServerState.RUNNING or server.stream is None:
        raise RuntimeError(f"{name} did not start: {server.detail}")
    stream = server.stream
    await stream.send(json.dumps(INIT).encode())
    while True:
        line = await asyncio.wait_for(stream.receive(), 120)
        if b"bench-init" in line:
            return time.perf_counter() - t0


def supervisor(home: Path, resolver: PackageResolver | None) -> Supervisor:
    path = os.environ["PATH"]
    return Supervisor(
        EventBus(), None, path_resolver=lambda: path, watchdog=False, resolver=resolver
    )


@dataclasses.dataclass
class Mode:
    label: str
    latency: dict[str, float]
    """Median seconds from start() to the initialize answer, per server."""
    rss: dict[str, int]
    """KiB over each server's process tree, all ten running."""
    pss: dict[str, int]
    detail: dict[str, list[str]]


async def run_mode(
    label: str, specs: list[ServerSpec], resolver: PackageResolver | None, rounds: int
) -> Mode:
    sup = supervisor(Path(), resolver)
    await sup.start()
    for spec in specs:
        sup.add(spec)
    try:
        # Warm-up: npx fills its cache, the resolver installs; not measured.
        for spec in specs:
            await first_answer(sup, spec.name)
            await sup.get(spec.name).stop()
        latency: dict[str, float] = {}
        for spec in specs:
            times = []
            for _ in range(rounds):
                times.append(await first_answer(sup, spec.name))
                await sup.get(spec.name).stop()
            latency[spec.name] = statistics.median(times)
        # Everything at once, then memory.
        await asyncio.gather(*(first_answer(sup, s.name) for s in specs))
        await asyncio.sleep(3.0)
        rss: dict[str, int] = {}
        pss: dict[str, int] = {}
        detail: dict[str, list[str]] = {}
        for spec in specs:
            pid = sup.get(spec.name).pid
            assert pid is not None, spec.name
            rss[spec.name], pss[spec.name], detail[spec.name] = tree_rss(pid)
        return Mode(label, latency, rss, pss, detail)
    finally:
        await sup.aclose()


def report(specs: list[ServerSpec], npx: Mode, res: Mode) -> None:
    lat_n, lat_r = npx.latency, res.latency
    rss_n, rss_r = npx.rss, res.rss
    print()
    print("| server | RSS npx MB | RSS resolved MB | saved | start npx s | start resolved s | x |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for spec in specs:
        n, r = rss_n[spec.name] / 1024, rss_r[spec.name] / 1024
        a, b = lat_n[spec.name], lat_r[spec.name]
        print(
            f"| {spec.name} | {n:.0f} | {r:.0f} | {1 - r / n:.0%} | {a:.2f} | {b:.2f} "
            f"| {a / b:.1f} |"
        )
    tn, tr = sum(rss_n.values()) / 1024, sum(rss_r.values()) / 1024
    mn, mr = statistics.median(lat_n.values()), statistics.median(lat_r.values())
    sn, sr = sum(lat_n.values()), sum(lat_r.values())
    print(
        f"| **total / median** | **{tn:.0f}** | **{tr:.0f}** | **{1 - tr / tn:.0%}** "
        f"| **{mn:.2f}** | **{mr:.2f}** | **{mn / mr:.1f}** |"
    )
    print()
    print(f"RSS: {tn:.0f} MB -> {tr:.0f} MB ({1 - tr / tn:.0%} less; ratio {tn / tr:.2f}x)")
    pn, pr = sum(npx.pss.values()) / 1024, sum(res.pss.values()) / 1024
    print(f"PSS: {pn:.0f} MB -> {pr:.0f} MB ({1 - pr / pn:.0%} less; ratio {pn / pr:.2f}x)")
    print(f"start-to-first-answer: median {mn:.2f}s -> {mr:.2f}s ({mn / mr:.1f}x faster); ")
    print(f"  sum over ten {sn:.1f}s -> {sr:.1f}s ({sn / sr:.1f}x)")
    for mode in (npx, res):
        print(f"\n{mode.label} process trees:")
        for spec in specs:
            print(f"  {spec.name}: {', '.join(mode.detail[spec.name])}")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cache", help="the resolver's cache (default: a temporary folder)")
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lean-bench-") as tmp:
        work = Path(tmp)
        specs = catalog_servers(work)
        for spec in specs:
            print(f"{spec.name}: {spec.command} {' '.join(spec.args)}", file=sys.stderr)
        cache = Path(opts.cache) if opts.cache else work / "cache"
        npx = await run_mode("npx -y (as written)", specs, None, opts.rounds)
        res = await run_mode("resolved", specs, PackageResolver(cache), opts.rounds)
    report(specs, npx, res)


if __name__ == "__main__":
    asyncio.run(main())
