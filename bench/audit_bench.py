"""What the audit log and the OpenTelemetry export cost.

    .venv/bin/python bench/audit_bench.py [--rounds 5] [--signins 40] [--refused 400]

Rows, audit on vs off on one engine (the sink flipped between rounds, interleaved
on off off on ...), medians reported:

- sign-ins/s: a whole authorization-code flow against a real engine (authorize, consent
  approved through the broker, consent page post-back, code -> token), one registered
  client; audited: ``consent`` + ``sign_in``;
- refused requests/s: gateway requests with a bad token (``token_rejected`` each).

Gateway calls/s with OpenTelemetry exporting vs off (the setting flipped on one engine,
rounds interleaved; the OTLP receiver is another process): only where the gateway's
per-request hook (``core/activity.py``, issue 15.2) is present.

Then, in-process (CPU time, the background threads included):
writer thread's lines/s; ``Telemetry.record`` with the setting off vs an ``OtelExporter``
record (span + metrics, exported to a local OTLP/HTTP receiver on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from tests.conftest import fixture_cmd, make_test_engine
from tests.integration.test_otel import record
from tests.unit.auth.tokens import code_flow

from switchboard.audit import AuditLog
from switchboard.core.audit import NO_AUDIT
from switchboard.core.paths import AppPaths
from switchboard.core.spec import AuthMode, ServerSpec
from switchboard.telemetry import Telemetry


class SwitchedAudit:
    """One engine, audit flipped between rounds: no engine-to-engine bias."""

    def __init__(self, log: AuditLog) -> None:
        self.log = log
        self.on = True

    def emit(self, event: str, **fields: Any) -> None:
        if self.on:
            self.log.emit(event, **fields)


async def engine_for(home: str, audit: SwitchedAudit) -> Any:
    engine = make_test_engine(AppPaths.default(home), audit=audit)
    await engine.start()
    cmd, args = fixture_cmd("echo_server.py")
    await engine.add_server(
        ServerSpec(name="echo", command=cmd, args=args, auth=AuthMode.SWITCHBOARD)
    )
    await engine.start_server("echo")
    return engine


async def signins(engine: Any, http: httpx.AsyncClient, client: dict[str, Any], n: int) -> float:
    url = engine.server_url("echo")
    t0 = time.perf_counter()
    for _ in range(n):
        await code_flow(engine, http, url, client=client)
    return n / (time.perf_counter() - t0)


async def refused(engine: Any, http: httpx.AsyncClient, n: int) -> float:
    url = engine.server_url("echo")
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"authorization": "Bearer not.a.token"}
    t0 = time.perf_counter()
    for _ in range(n):
        r = await http.post(url, json=body, headers=headers)
        assert r.status_code == 401
    return n / (time.perf_counter() - t0)


async def flows(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as home:
        audit = SwitchedAudit(AuditLog.for_paths(AppPaths.default(home)))
        engine = await engine_for(home, audit)
        try:
            async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
                client, _ = await code_flow(engine, http, engine.server_url("echo"))
                rows: dict[str, dict[str, list[float]]] = {
                    "sign-ins/s": {"on": [], "off": []},
                    "refused requests/s": {"on": [], "off": []},
                }
                for i in range(args.rounds * 2):
                    audit.on = (i % 4) in (0, 3)  # on off off on on off off on ...
                    name = "on" if audit.on else "off"
                    rows["sign-ins/s"][name].append(
                        await signins(engine, http, client, args.signins)
                    )
                    rows["refused requests/s"][name].append(
                        await refused(engine, http, args.refused)
                    )
            audit.log.flush()
            lines = len(audit.log.path.read_text().splitlines())
            print(f"{'row':22} {'audit on':>10} {'audit off':>10} {'on/off':>7}")
            for row, cells in rows.items():
                m_on, m_off = statistics.median(cells["on"]), statistics.median(cells["off"])
                print(f"{row:22} {m_on:10.1f} {m_off:10.1f} {m_on / m_off:7.3f}")
                if args.verbose:
                    print("   on: ", " ".join(f"{v:.0f}" for v in cells["on"]))
                    print("   off:", " ".join(f"{v:.0f}" for v in cells["off"]))
            print(f"(audit lines written: {lines})")
        finally:
            await engine.aclose()


SINK = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(200); self.send_header("content-length", "0"); self.end_headers()
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""


async def gateway(args: argparse.Namespace) -> None:
    if importlib.util.find_spec("switchboard.core.activity") is None:
        print("gateway calls/s, OTel on vs off: the per-request hook is not on this branch")
        return
    sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None
    endpoint = f"http://127.0.0.1:{sink.stdout.readline().strip()}"
    with tempfile.TemporaryDirectory() as home:
        engine = make_test_engine(AppPaths.default(home), audit=NO_AUDIT)
        await engine.start()
        try:
            cmd, cmd_args = fixture_cmd("echo_server.py")
            await engine.add_server(
                ServerSpec(name="echo", command=cmd, args=cmd_args, auth=AuthMode.OFF)
            )
            await engine.start_server("echo")
            url = engine.server_url("echo")
            head = {"accept": "application/json, text/event-stream"}
            async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
                r = await http.post(
                    url,
                    headers=head,
                    json={
                        "jsonrpc": "2.0",
                        "id": 0,
                        "method": "initialize",
                        "params": {
                            "protocolVersion": "2025-06-18",
                            "capabilities": {},
                            "clientInfo": {"name": "bench", "version": "1"},
                        },
                    },
                )
                head["mcp-session-id"] = r.headers["mcp-session-id"]
                await http.post(
                    url,
                    headers=head,
                    json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                )
                call = {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "tools/call",
                    "params": {"name": "echo", "arguments": {"text": "hi"}},
                }
                cells: dict[str, list[float]] = {"on": [], "off": []}
                for i in range(args.rounds * 2):
                    on = (i % 4) in (0, 3)
                    settings = engine.config.settings
                    await engine.update_settings(
                        dataclasses.replace(settings, otlp_endpoint=endpoint if on else "")
                    )
                    await http.post(url, headers=head, json=call)  # applies the setting
                    t0 = time.perf_counter()
                    for _ in range(args.calls):
                        r = await http.post(url, headers=head, json=call)
                        assert r.status_code == 200
                    cells["on" if on else "off"].append(args.calls / (time.perf_counter() - t0))
            m_on, m_off = statistics.median(cells["on"]), statistics.median(cells["off"])
            print(
                f"{'gateway calls/s':22} {m_on:10.1f} {m_off:10.1f} {m_on / m_off:7.3f}"
                "   (columns: OTel exporting, OTel off)"
            )
        finally:
            await engine.aclose()
            sink.terminate()
            sink.wait()


def in_process() -> None:
    """CPU time of the whole process (``time.process_time``: the writer's and the SDK's
    threads included) per event: steadier than wall time on a loaded machine."""
    with tempfile.TemporaryDirectory() as d:
        log = AuditLog(Path(d) / "audit.jsonl", max_bytes=1 << 30)  # no rotation here
        n = 50_000
        log.emit("warmup")
        log.flush()
        c0, t0 = time.process_time(), time.perf_counter()
        for i in range(n):
            log.emit("token_rejected", target="echo", outcome="failure", reason="expired", n=i)
        t1 = time.perf_counter()
        log.flush()
        c1 = time.process_time()
        size = os.path.getsize(log.path)
        log.close()
    print(f"AuditLog.emit, caller's wall time: {(t1 - t0) / n * 1e6:.2f} µs/event")
    print(f"AuditLog, CPU incl. the writer:    {(c1 - c0) / n * 1e6:.2f} µs/event")
    print(f"  ({size / n:.0f} bytes/line)")

    off = Telemetry(lambda: "")
    r = record()
    n = 200_000
    c0 = time.process_time()
    for _ in range(n):
        off.record(r)
    cpu_off = (time.process_time() - c0) / n
    sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None
    endpoint = f"http://127.0.0.1:{sink.stdout.readline().strip()}"
    try:
        on = Telemetry(lambda: endpoint)
        on.record(r)
        on.flush()
        n_on, batch = 20_000, 1000  # under the SDK's 2048-span queue between flushes
        c0 = time.process_time()
        for _ in range(n_on // batch):
            for _ in range(batch):
                on.record(r)
            on.flush()
        cpu_on = (time.process_time() - c0) / n_on
        on.close()
    finally:
        sink.terminate()
        sink.wait()
    print(f"Telemetry.record, setting off: {cpu_off * 1e9:.0f} ns CPU/request")
    print(
        f"Telemetry.record, exporting:   {cpu_on * 1e6:.1f} µs CPU/request "
        "(span + 2 metric points + OTLP encoding and POST, to another process)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--signins", type=int, default=40)
    parser.add_argument("--refused", type=int, default=400)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--verbose", action="store_true", help="every round's figure")
    args = parser.parse_args()
    asyncio.run(flows(args))
    asyncio.run(gateway(args))
    in_process()


if __name__ == "__main__":
    main()
