"""Gateway throughput and latency against direct stdio and two peer gateways. Not a test.

Same stdio server (tests/fixtures/echo_server.py), same load generator (wrk with a Lua
body script, one MCP session, ``tools/call echo``), one run:

  (a) direct stdio to the server process (asyncio pipes, N requests in flight) - the limit
  (b) Switchboard's gateway (``switchboard serve``, a separate process)
  (c) mcp-proxy (PyPI; expected in its own venv: --mcp-proxy PATH)
  (d) supergateway (npm, stateful Streamable HTTP; --supergateway PATH or via npx)
  (e) a bare uvicorn app answering by itself (no stdio hop): the HTTP floor

Prints p50/p99 of sequential calls (wrk -c1) and calls/s at 1, 8 and 32 connections,
plus ratios against (a), (c) and (d). Missing peers are skipped with a note.

    .venv/bin/python bench/gateway_bench.py [--duration 5] [--mcp-proxy /tmp/venv/bin/mcp-proxy]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
ECHO = ROOT / "tests" / "fixtures" / "echo_server.py"
PY = sys.executable
SWITCHBOARD = str(Path(PY).with_name("switchboard"))
CONCURRENCY = (1, 8, 32)

LUA = textwrap.dedent(
    """
    local counter = 0
    local tid = 0
    local threads = {}
    function setup(thread)
      thread:set("tid", #threads + 1)
      table.insert(threads, thread)
    end
    function init(args)
      tid = tonumber(wrk.thread:get("tid")) or 0
    end
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Accept"] = "application/json, text/event-stream"
    wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
    local session = os.getenv("MCP_SESSION")
    if session and session ~= "" then wrk.headers["Mcp-Session-Id"] = session end
    local auth = os.getenv("MCP_TOKEN")
    if auth and auth ~= "" then wrk.headers["Authorization"] = "Bearer " .. auth end
    function request()
      counter = counter + 1
      local body = '{"jsonrpc":"2.0","id":' .. (tid * 100000000 + counter) ..
        ',"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}'
      return wrk.format(nil, nil, nil, body)
    end
    """
)

BARE_APP = textwrap.dedent(
    """
    import sys, uvicorn
    BODY = b'{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hello"}]}}'
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode()),
            (b"mcp-session-id", b"bare")]})
        await send({"type": "http.response.body", "body": BODY})
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                access_log=False, lifespan="off")
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


@contextmanager
def process(argv: list[str], **kw: object) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        **kw,  # type: ignore[call-overload]
    )
    try:
        yield proc
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def open_session(url: str, token: str = "") -> str:
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"},
        },
    }
    deadline = time.monotonic() + 60
    while True:
        try:
            r = httpx.post(url, json=init, headers=headers, timeout=30)
            if r.status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"initialize at {url} failed")
        time.sleep(0.2)
    session = str(r.headers.get("mcp-session-id", ""))
    if session:
        headers["mcp-session-id"] = session
    headers["mcp-protocol-version"] = "2025-11-25"
    httpx.post(
        url,
        json={"jsonrpc": "2.0", "method": "notifications/initialized"},
        headers=headers,
        timeout=30,
    )
    # One warm-up call (also checks that the echo tool answers).
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "hello"}},
    }
    r = httpx.post(url, json=call, headers=headers, timeout=30)
    if "hello" not in r.text:
        raise RuntimeError(f"echo through {url} failed: {r.status_code} {r.text[:200]}")
    return session


def _ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", value.strip())
    if not m:
        return float("nan")
    n = float(m.group(1))
    return {"us": n / 1000, "ms": n, "s": n * 1000}[m.group(2)]


def wrk(
    url: str, session: str, conns: int, duration: int, script: Path, token: str = ""
) -> dict[str, float]:
    env = dict(os.environ, MCP_SESSION=session, MCP_TOKEN=token)
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(conns, 2)}",
            f"-c{conns}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # Anchored: the thread stats' "+/- Stdev" column (e.g. "87.50%") also ends in 50%.
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "p50": p50,
        "p99": p99,
        "non2xx": float(bad.group(1)) if bad else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
    }


def measure_http(
    name: str, url: str, duration: int, script: Path, token: str = ""
) -> dict[str, object]:
    session = open_session(url, token)
    result: dict[str, object] = {"name": name}
    for conns in CONCURRENCY:
        r = wrk(url, session, conns, duration, script, token)
        result[f"c{conns}"] = r
        if r["non2xx"] or r["socket_errors"]:
            print(f"  warning: {name} c={conns}: {r}", file=sys.stderr)
    return result


async def _direct(duration: float) -> dict[str, object]:
    proc = await asyncio.create_subprocess_exec(
        PY,
        "-u",
        str(ECHO),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdin
    assert proc.stdout
    waiting: dict[int, asyncio.Future[float]] = {}
    loop = asyncio.get_running_loop()

    async def reader() -> None:
        assert proc.stdout
        while line := await proc.stdout.readline():
            msg = json.loads(line)
            fut = waiting.pop(msg["id"], None)
            if fut is not None:
                fut.set_result(time.perf_counter())

    task = asyncio.create_task(reader())
    counter = 0

    async def call() -> float:
        nonlocal counter
        counter += 1
        fut: asyncio.Future[float] = loop.create_future()
        waiting[counter] = fut
        body = {
            "jsonrpc": "2.0",
            "id": counter,
            "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "hello"}},
        }
        t0 = time.perf_counter()
        proc.stdin.write(json.dumps(body).encode() + b"\n")  # type: ignore[union-attr]
        return (await fut) - t0

    result: dict[str, object] = {"name": "direct stdio"}
    for conns in CONCURRENCY:
        latencies: list[float] = []
        stop = time.perf_counter() + duration

        async def worker(latencies: list[float] = latencies, stop: float = stop) -> None:
            while time.perf_counter() < stop:
                latencies.append(await call())

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(conns)))
        elapsed = time.perf_counter() - t0
        latencies.sort()
        result[f"c{conns}"] = {
            "rps": len(latencies) / elapsed,
            "p50": statistics.median(latencies) * 1000,
            "p99": latencies[int(len(latencies) * 0.99)] * 1000,
            "non2xx": 0.0,
            "socket_errors": 0.0,
        }
    task.cancel()
    proc.kill()
    await proc.wait()
    return result


def baseline_tree(ref: str) -> str:
    """The package as of git ``ref`` (``git archive``, the working tree is not touched),
    for a before/after row in the same run."""
    out = tempfile.mkdtemp(prefix="sb-baseline-")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "app"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", out], input=archive, check=True)
    return str(Path(out) / "app")


@contextmanager
def switchboard_server(
    auth: bool = False, baseline: tuple[str, str] | None = None
) -> Iterator[tuple[str, str, str]]:
    """A ``switchboard serve`` with the echo server started: (row name, MCP URL, token).
    ``baseline``: (git ref, its package dir) to serve the gateway from instead."""
    home = tempfile.mkdtemp(prefix="sb-bench-")
    port = free_port()
    env = dict(os.environ, SWITCHBOARD_NO_LOGIN_SHELL="1")
    serve_env = dict(env)
    if baseline is not None:
        serve_env["PYTHONPATH"] = baseline[1]  # ahead of the editable install's .pth
    base = [SWITCHBOARD, "--home", home]
    mode = "switchboard" if auth else "off"
    add = [*base, "add", "--auth", mode, "echo", "--", PY, "-u", str(ECHO)]
    subprocess.run(add, env=env, check=True, capture_output=True)
    name = "switchboard+auth" if auth else "switchboard"
    if baseline is not None:
        name += f"@{baseline[0]}"
    with process([*base, "serve", "--port", str(port)], env=serve_env):
        wait_port(port)
        # The CLI and the token come from the same tree as the engine: how they reach it
        # changed (a private Unix socket since the port-squatting fix).
        subprocess.run([*base, "start", "echo"], env=serve_env, check=True, capture_output=True)
        token = ""
        if auth:
            code = (  # the module's name as of that tree (renamed in issue 13)
                "import sys\n"
                "try:\n    from switchboard.auth.connect_client import get_token\n"
                "except ImportError:\n    from switchboard.auth.firstparty import get_token\n"
                "from switchboard.core.paths import AppPaths\n"
                "print(get_token(AppPaths.default(sys.argv[1]), 'echo'))"
            )
            token = subprocess.run(
                [PY, "-c", code, home], env=serve_env, check=True, capture_output=True, text=True
            ).stdout.strip()
        yield name, f"http://127.0.0.1:{port}/servers/echo/mcp", token


def run_switchboard(duration: int, script: Path, auth: bool = False) -> dict[str, object]:
    with switchboard_server(auth) as (name, url, token):
        return measure_http(name, url, duration, script, token)


def run_against_baseline(
    duration: int, script: Path, auth: bool, baseline: tuple[str, str], rounds: int
) -> list[dict[str, object]]:
    """This tree and ``baseline`` served side by side, wrk runs interleaved (A B, B A,
    ...) ``rounds`` times per concurrency, medians: on a shared machine the load drifts,
    and sequential rows would measure the drift."""
    with switchboard_server(auth) as a, switchboard_server(auth, baseline) as b:
        sessions = {name: open_session(url, token) for name, url, token in (a, b)}
        runs: dict[str, dict[str, list[dict[str, float]]]] = {a[0]: {}, b[0]: {}}
        for conns in CONCURRENCY:
            for i in range(rounds):
                for name, url, token in (a, b) if i % 2 == 0 else (b, a):
                    r = wrk(url, sessions[name], conns, duration, script, token)
                    runs[name].setdefault(f"c{conns}", []).append(r)
    rows: list[dict[str, object]] = []
    for name, cells in runs.items():
        row: dict[str, object] = {"name": name}
        for key, results in cells.items():
            row[key] = {k: statistics.median(r[k] for r in results) for k in results[0]}
        rows.append(row)
    return rows


def run_mcp_proxy(path: str, duration: int, script: Path) -> dict[str, object]:
    port = free_port()
    with process([path, "--port", str(port), "--host", "127.0.0.1", "--", PY, "-u", str(ECHO)]):
        wait_port(port)
        return measure_http("mcp-proxy", f"http://127.0.0.1:{port}/mcp", duration, script)


def run_supergateway(argv: list[str], duration: int, script: Path) -> dict[str, object]:
    port = free_port()
    cmd = [
        *argv,
        "--stdio",
        f"{PY} -u {ECHO}",
        "--outputTransport",
        "streamableHttp",
        "--stateful",
        "--port",
        str(port),
    ]
    with process(cmd):
        wait_port(port)
        return measure_http("supergateway", f"http://127.0.0.1:{port}/mcp", duration, script)


def run_bare(duration: int, script: Path) -> dict[str, object]:
    port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(BARE_APP)
    with process([PY, fh.name, str(port)]):
        wait_port(port)
        return measure_http("bare uvicorn", f"http://127.0.0.1:{port}/mcp", duration, script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument(
        "--mcp-proxy", default=shutil.which("mcp-proxy") or "/tmp/mcpproxy-venv/bin/mcp-proxy"
    )
    parser.add_argument("--supergateway", default=shutil.which("supergateway") or "")
    parser.add_argument(
        "--only",
        nargs="*",
        help="subset: direct switchboard auth mcp-proxy supergateway bare",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds with --baseline (medians)"
    )
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also run switchboard(+auth) as of this git ref (before/after in one run)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    want = set(args.only or ["direct", "switchboard", "auth", "mcp-proxy", "supergateway", "bare"])
    script = Path(tempfile.mkdtemp()) / "mcp.lua"
    script.write_text(LUA)
    rows: list[dict[str, object]] = []
    if "direct" in want:
        rows.append(asyncio.run(_direct(args.duration)))
    if "switchboard" in want and not args.baseline:
        rows.append(run_switchboard(args.duration, script))
    if "auth" in want and not args.baseline:
        rows.append(run_switchboard(args.duration, script, auth=True))
    if args.baseline:
        base = (args.baseline, baseline_tree(args.baseline))
        for auth in [a for a, key in ((False, "switchboard"), (True, "auth")) if key in want]:
            rows += run_against_baseline(args.duration, script, auth, base, args.rounds)
    if "mcp-proxy" in want:
        if os.path.exists(args.mcp_proxy):
            rows.append(run_mcp_proxy(args.mcp_proxy, args.duration, script))
        else:
            print(f"(mcp-proxy not found at {args.mcp_proxy}: skipped)")
    if "supergateway" in want:
        argv = [args.supergateway] if args.supergateway else ["npx", "-y", "supergateway"]
        if args.supergateway or shutil.which("npx"):
            rows.append(run_supergateway(argv, args.duration, script))
    if "bare" in want:
        rows.append(run_bare(args.duration, script))

    print(
        f"\n{'':26}{'p50 ms':>9}{'p99 ms':>9}" + "".join(f"{f'c={c} /s':>11}" for c in CONCURRENCY)
    )
    for row in rows:
        c1 = row["c1"]
        assert isinstance(c1, dict)
        cells = "".join(f"{row[f'c{c}']['rps']:>11.0f}" for c in CONCURRENCY)  # type: ignore[index]
        print(f"{row['name']!s:26}{c1['p50']:>9.3f}{c1['p99']:>9.3f}{cells}")
    by_name: dict[str, dict[str, Any]] = {str(r["name"]): r for r in rows}
    for label in ("switchboard", "switchboard+auth"):
        ours = by_name.get(label)
        if ours is not None:
            _ratios(label, ours, by_name)
            before = by_name.get(f"{label}@{args.baseline}")
            if before is not None:
                thr = " ".join(
                    f"c{c}={ours[f'c{c}']['rps'] / before[f'c{c}']['rps']:.2f}x"
                    for c in CONCURRENCY
                )
                print(
                    f"  vs @{args.baseline:13} p50 {before['c1']['p50'] / ours['c1']['p50']:.2f}x"
                    f"   throughput {thr}"
                )


def _ratios(label: str, ours: dict[str, Any], by_name: dict[str, dict[str, Any]]) -> None:
    print(f"\nratios ({label} vs X; p50: X/ours, >1 = we are faster; throughput: ours/X)")
    for other in ("direct stdio", "mcp-proxy", "supergateway", "bare uvicorn"):
        row = by_name.get(other)
        if row is None:
            continue
        lat = row["c1"]["p50"] / ours["c1"]["p50"]
        thr = " ".join(
            f"c{c}={ours[f'c{c}']['rps'] / row[f'c{c}']['rps']:.2f}x" for c in CONCURRENCY
        )
        print(f"  vs {other:14} p50 {lat:.2f}x   throughput {thr}")
    c8 = ours["c8"]["rps"]
    p50 = ours["c1"]["p50"]
    print(
        f"  targets: p50 <= 0.40 ms -> {p50:.3f} ms ({'met' if p50 <= 0.40 else 'NOT met'}); "
        f">= 2700 calls/s at c=8 -> {c8:.0f} ({'met' if c8 >= 2700 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
