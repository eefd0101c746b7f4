"""Activity recording (issue 15.2) benchmarks. Prints numbers and ratios measured in the
same run; never a timed test.

    .venv/bin/python bench/activity_bench.py gateway [--duration 5] [--rounds 5] [--conns 8]
    .venv/bin/python bench/activity_bench.py page [--rows 100000] [--seconds 20]

gateway  calls/s through the gateway (``tools/call echo``, tests/fixtures/echo_server.py,
         wrk, one MCP session, auth on: a real first-party token on every request) with
         activity recording on and off: two engines built by ``build_engine`` (the
         composition root, ``record_activity=True/False``) served side by side, wrk runs
         interleaved (A B, B A, ...) ``--rounds`` times, medians. Target: on >= 0.95x off.
page     the Activity page (offscreen Qt, qasync, as in the app) over a log of
         ``--rows`` records: event-loop lag (lateness of a 5 ms timer) while a driver
         types filters, switches outcome/time filters, scrolls to the end of long
         listings (pages fetched lazily) and selects rows. Target: p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "app"))

from gateway_bench import ECHO, LUA, PY, free_port, open_session, process, wait_port, wrk  # noqa: E402

ENV = dict(
    os.environ,
    SWITCHBOARD_NO_LOGIN_SHELL="1",
    # Never the person's keyring: keys and the first-party secret in owner-only files.
    PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
)

SERVE = textwrap.dedent(
    """
    import asyncio, logging, signal, sys
    from switchboard.composition import build_engine
    from switchboard.core.paths import AppPaths

    async def main() -> None:
        logging.basicConfig(level=logging.WARNING)
        logging.getLogger("switchboard").setLevel(logging.INFO)
        home, port, record = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "on"
        engine = build_engine(AppPaths.default(home), port=port, record_activity=record)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await engine.start()
        try:
            await stop.wait()
        finally:
            await engine.aclose()

    asyncio.run(main())
    """
)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (Linux /proc; its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def engine(record: bool) -> Iterator[tuple[str, str, str, str, int]]:
    """(row name, MCP URL, token, home, engine pid) of an engine with the echo server."""
    home = tempfile.mkdtemp(prefix="sb-activity-bench-")
    port = free_port()
    cli = [PY, "-m", "switchboard", "--home", home]
    add = [*cli, "add", "--auth", "switchboard", "echo", "--", PY, "-u", str(ECHO)]
    subprocess.run(add, env=ENV, check=True, capture_output=True)
    serve = [PY, "-c", SERVE, home, str(port), "on" if record else "off"]
    with process(serve, env=ENV) as proc:
        wait_port(port)
        subprocess.run([*cli, "start", "echo"], env=ENV, check=True, capture_output=True)
        code = (
            "import sys\nfrom switchboard.auth.connect_client import get_token\n"
            "from switchboard.core.paths import AppPaths\n"
            "print(get_token(AppPaths.default(sys.argv[1]), 'echo'))"
        )
        token = subprocess.run(
            [PY, "-c", code, home], env=ENV, check=True, capture_output=True, text=True
        ).stdout.strip()
        name = "recording on" if record else "recording off"
        yield name, f"http://127.0.0.1:{port}/servers/echo/mcp", token, home, proc.pid


def bench_gateway(duration: int, rounds: int, conns: int) -> None:
    script = Path(tempfile.mkdtemp(prefix="sb-wrk-")) / "call.lua"
    script.write_text(LUA)
    with engine(True) as on, engine(False) as off:
        sessions = {name: open_session(url, token) for name, url, token, _, _ in (on, off)}
        runs: dict[str, list[dict[str, float]]] = {on[0]: [], off[0]: []}
        for i in range(rounds):
            for name, url, token, _, pid in (on, off) if i % 2 == 0 else (off, on):
                cpu0 = cpu_seconds(pid)
                r = wrk(url, sessions[name], conns, duration, script, token)
                # The engine's CPU per call: what recording costs, whatever else runs.
                r["cpu_us"] = (cpu_seconds(pid) - cpu0) / (r["rps"] * duration) * 1e6
                runs[name].append(r)
                print(
                    f"  round {i + 1} {name}: {r['rps']:.0f} calls/s, "
                    f"{r['cpu_us']:.0f} us engine CPU per call",
                    flush=True,
                )
        rows = subprocess.run(
            [PY, "-m", "switchboard", "--home", on[3], "activity", "-n", "1", "--json"],
            env=ENV,
            capture_output=True,
            text=True,
        ).stdout.strip()
    med = {name: statistics.median(r["rps"] for r in rs) for name, rs in runs.items()}
    p50 = {name: statistics.median(r["p50"] for r in rs) for name, rs in runs.items()}
    cpu = {name: statistics.median(r["cpu_us"] for r in rs) for name, rs in runs.items()}
    print(
        f"\ngateway tools/call at c={conns}, auth on, {rounds} interleaved rounds x {duration} s:"
    )
    for name in runs:
        print(
            f"  {name:14} {med[name]:8.0f} calls/s   p50 {p50[name]:.3f} ms   "
            f"engine CPU {cpu[name]:.0f} us/call"
        )
    ratio = med[on[0]] / med[off[0]]
    print(f"  calls/s on/off: {ratio:.3f}x (target >= 0.95x)")
    print(f"  engine CPU per call on/off: {cpu[on[0]] / cpu[off[0]]:.3f}x (target <= 1.05x)")
    print(f"  newest record of the 'on' engine: {rows[:200]}")
    loop_us, writer_us = record_cost()
    per_call = cpu[off[0]]
    print(
        f"  recording alone: {loop_us:.2f} us CPU on the event loop + {writer_us:.1f} us in "
        f"the writer thread per request = {(loop_us + writer_us) / per_call:.1%} of the "
        f"engine's {per_call:.0f} us CPU per call without it"
    )


def record_cost(n: int = 200_000) -> tuple[float, float]:
    """CPU microseconds per request: building the record + ``record()`` on the loop (what
    the mux adds to a request), and the writer thread's (row, insert, figures). The
    writer writes what accumulated in one go here; at 3,000 calls/s it writes batches of
    ~750 every 0.25 s, about the same per-record work."""
    import orjson

    from switchboard.activity import ActivityRecorder
    from switchboard.core.activity import OK
    from switchboard.core.spec import Settings

    params = {"name": "echo", "arguments": {"text": "hello"}}
    request = orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})
    response = b'{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hello"}]}}'
    path = Path(tempfile.mkdtemp(prefix="sb-activity-cost-")) / "activity.sqlite3"
    recorder = ActivityRecorder(path, settings=lambda: Settings(activity_max_rows=10_000_000))

    async def run() -> tuple[float, float]:
        # CPU time (not wall: the machine is shared): the loop's share alone (the writer
        # not started yet), then the writer thread's own CPU clock.
        what = ("session", "tools/call", "echo", OK, None, len(request), len(response))
        t0 = time.thread_time()
        for _ in range(n):
            started = time.time()
            duration = time.time() - started
            recorder.record(
                (started, duration, "echo", None, "client", "person", *what, request, response)
            )
        loop = time.thread_time() - t0
        await recorder.start()
        thread = recorder._thread
        assert thread is not None
        assert thread.ident is not None
        clock = time.pthread_getcpuclockid(thread.ident)
        await recorder.flush(timeout=600)
        writer = time.clock_gettime(clock)
        await recorder.aclose()
        return loop / n * 1e6, writer / n * 1e6

    return asyncio.run(run())


# -- the page --------------------------------------------------------------------------------
def fill(path: Path, rows: int) -> None:
    from switchboard.activity import ActivityDB

    db = ActivityDB(path)
    now = time.time()
    batch = []
    for i in range(rows):
        outcome, code = ("error", -32602) if i % 13 == 0 else ("ok", None)
        ts = now - (rows - i) * 2.0
        client = (f"client-{i % 4}", f"Client {i % 4}", "person", f"s{i % 50}")
        call = ("tools/call", f"tool_{i % 37}", outcome, code, 120, 900, None, None)
        batch.append((ts, 1.0 + i % 40, f"server{i % 6}", None, *client, *call))
        if len(batch) == 10_000:
            db.insert(batch)
            batch = []
    if batch:
        db.insert(batch)
    db.close()


async def _page_lag(path: Path, seconds: float) -> tuple[list[float], list[float], dict[str, int]]:
    """(lags while idle, lags while driven, what the driver did)."""
    from collections.abc import Callable

    from PySide6.QtWidgets import QApplication

    from switchboard.activity import ActivityDB
    from switchboard.ui.activity.page import ActivityPage

    class Source:
        def open_reader(self) -> ActivityDB:
            return ActivityDB(path, readonly=True)

        def subscribe(self, listener: Callable[[int], None]) -> Callable[[], None]:
            return lambda: None

    from switchboard.ui.gui_thread_gc import GuiThreadGC

    collector = GuiThreadGC()  # as the app runs: collections on the GUI thread's timer
    page = ActivityPage(Source())
    page.resize(1100, 700)
    page.show()
    model = page.model
    assert model is not None
    app = QApplication.instance()
    assert app is not None
    lags: list[float] = []
    done = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def probe() -> None:
        while not done.is_set():
            t = loop.time()
            await asyncio.sleep(0.005)
            lags.append((loop.time() - t - 0.005) * 1000)

    async def settle() -> None:
        while model._busy:
            await asyncio.sleep(0.005)

    async def type_text(edit: object, text: str) -> None:
        for ch in text:
            edit.setText(edit.text() + ch)  # type: ignore[attr-defined]
            await asyncio.sleep(0.06)

    counts = {"filters": 0, "pages": 0, "selections": 0}
    await asyncio.sleep(1.0)
    await settle()
    # The floor: the same page and loop, idle (on a shared machine, its load shows here).
    probing = asyncio.ensure_future(probe())
    await asyncio.sleep(min(seconds / 3, 10))
    done.set()
    await probing
    idle, lags[:] = list(lags), []
    done.clear()
    probing = asyncio.ensure_future(probe())
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end:
        error = page.outcome.findData("error")
        for combo, index in ((page.outcome, error), (page.outcome, 0), (page.period, 2),
                             (page.period, 0)):  # fmt: skip
            combo.setCurrentIndex(index)
            counts["filters"] += 1
            await asyncio.sleep(0.2)
            await settle()
        await type_text(page.tool, "tool_1")
        await type_text(page.client, "Client 2")
        await asyncio.sleep(0.4)
        await settle()
        counts["filters"] += 2
        page.tool.clear()
        page.client.clear()
        await asyncio.sleep(0.4)
        await settle()
        for _ in range(20):  # scroll far down an unfiltered listing
            before = model.rowCount()
            page.table.scrollToBottom()
            await asyncio.sleep(0.02)
            await settle()
            counts["pages"] += model.rowCount() > before
        for row in range(0, min(model.rowCount(), 400), 40):
            page.table.selectRow(row)
            counts["selections"] += 1
            await asyncio.sleep(0.03)
        page.table.scrollToTop()
    done.set()
    await probing
    page.close_model()
    page.close()
    collector.stop()
    return idle, lags, counts


def bench_page(rows: int, seconds: float) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtWidgets import QApplication

    path = Path(tempfile.mkdtemp(prefix="sb-activity-page-")) / "activity.sqlite3"
    t0 = time.perf_counter()
    fill(path, rows)
    print(f"filled {rows:,} records in {time.perf_counter() - t0:.1f} s ({path})")
    app = QApplication.instance() or QApplication(["activity-bench"])
    idle, lags, counts = qasync.run(_page_lag(path, seconds))
    del app

    def pct(values: list[float], p: float) -> float:
        ordered = sorted(values)
        return float(ordered[min(len(ordered) - 1, int(p * len(ordered)))])

    print(f"\nActivity page over {rows:,} records, {seconds:.0f} s of filtering and scrolling")
    print(f"  driver: {counts}")
    for label, values in (("idle page (floor)", idle), ("filter + scroll", lags)):
        p50, p99 = pct(values, 0.5), pct(values, 0.99)
        print(f"  {label:18} loop lag p50 {p50:5.1f} ms  p99 {p99:5.1f} ms  "
              f"max {max(values):6.1f} ms  ({len(values)} samples)")  # fmt: skip
    print("  target: p99 <= 50 ms while filtering and scrolling")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    g = sub.add_parser("gateway")
    g.add_argument("--duration", type=int, default=5)
    g.add_argument("--rounds", type=int, default=5)
    g.add_argument("--conns", type=int, default=8)
    pg = sub.add_parser("page")
    pg.add_argument("--rows", type=int, default=100_000)
    pg.add_argument("--seconds", type=float, default=20.0)
    args = p.parse_args()
    if args.what == "gateway":
        bench_gateway(args.duration, args.rounds, args.conns)
    else:
        bench_page(args.rows, args.seconds)


if __name__ == "__main__":
    main()
