"""Groups (issue 14) against the single-server endpoint, one run. Not a test.

One ``switchboard serve`` (a separate process) with the echo server
(tests/fixtures/echo_server.py) and:

- group ``g`` = {echo} (priority naming: the tool keeps its name ``echo``): a call
  through ``/groups/g/mcp`` vs ``/servers/echo/mcp``, wrk (Lua body script, one MCP
  session), runs interleaved A B / B A ``--rounds`` times per concurrency, medians.
  Targets: p50 within +10 % at c=1, calls/s within -10 % at c=8.
- group ``g10`` = ten echo servers: ``tools/list`` from the group's cache, wrk c=1 p50
  (target <= 1 ms).
- lean mode: characters of the ``tools/list`` JSON of a 10-server group of real servers
  (server-everything, server-filesystem, mcp-server-time, the mcp-SDK sampling and
  conformance fixtures, each twice under two names) without and with lean mode, and of
  a lean session's typical load (tools/list + one ``search_tools`` answer).

    .venv/bin/python bench/groups_bench.py [--duration 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from gateway_bench import (
    ECHO,
    PY,
    ROOT,
    SWITCHBOARD,
    free_port,
    open_session,
    process,
    wait_port,
    wrk,
)

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
    local method = os.getenv("MCP_METHOD") or "tools/call"
    function request()
      counter = counter + 1
      local params = '{"name":"echo","arguments":{"text":"hello"}}'
      if method ~= "tools/call" then params = '{}' end
      local body = '{"jsonrpc":"2.0","id":' .. (tid * 100000000 + counter) ..
        ',"method":"' .. method .. '","params":' .. params .. '}'
      return wrk.format(nil, nil, nil, body)
    end
    """
)

CACHE = Path(os.environ.get("SWITCHBOARD_TEST_CACHE", Path.home() / ".cache" / "switchboard-tests"))
FIXTURES = ROOT / "tests" / "fixtures"


def _cli(home: str, *args: str) -> None:
    env = dict(os.environ, SWITCHBOARD_NO_LOGIN_SHELL="1")
    subprocess.run([SWITCHBOARD, "--home", home, *args], env=env, check=True, capture_output=True)


def _real_servers(workdir: Path) -> list[tuple[str, list[str]]]:
    """(name, argv) of the real servers found on this machine (npm ones from the test
    cache, installed by tests/interop), each twice."""
    out: list[tuple[str, list[str]]] = []
    node = "node"
    everything = sorted(
        CACHE.glob("interop-*/node_modules/@modelcontextprotocol/server-everything/dist/index.js")
    )
    filesystem = sorted(
        CACHE.glob(
            "filesystem-*/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js"
        )
    )
    found: list[tuple[str, list[str]]] = []
    if everything:
        found.append(("everything", [node, str(everything[-1]), "stdio"]))
    if filesystem:
        found.append(("filesystem", [node, str(filesystem[-1]), str(workdir)]))
    found.append(("time", [str(Path(PY).with_name("mcp-server-time")), "--local-timezone", "UTC"]))
    found.append(("asker", [PY, str(FIXTURES / "gw_sampling_server.py")]))
    found.append(("conformance", [PY, str(FIXTURES / "gw_conformance_server.py")]))
    for copy in ("a", "b"):
        for name, argv in found:
            out.append((f"{name}-{copy}", argv))
    return out


@contextmanager
def engine() -> Iterator[tuple[str, str]]:
    """A ``switchboard serve`` with the servers and groups of this bench: (home, base)."""
    home = tempfile.mkdtemp(prefix="sb-groups-bench-")
    port = free_port()
    _cli(home, "add", "--auth", "off", "echo", "--", PY, "-u", str(ECHO))
    for i in range(10):
        _cli(home, "add", "--auth", "off", f"echo{i}", "--", PY, "-u", str(ECHO))
    real = _real_servers(Path(home))
    for name, argv in real:
        _cli(home, "add", "--auth", "off", name, "--", *argv)
    _cli(home, "group", "create", "--auth", "off", "--naming", "priority", "g", "echo")
    _cli(home, "group", "create", "--auth", "off", "g10", *(f"echo{i}" for i in range(10)))
    members = [name for name, _ in real]
    _cli(home, "group", "create", "--auth", "off", "real", *members)
    _cli(home, "group", "create", "--auth", "off", "--lean", "real-lean", *members)
    env = dict(os.environ, SWITCHBOARD_NO_LOGIN_SHELL="1")
    with process([SWITCHBOARD, "--home", home, "serve", "--port", str(port)], env=env):
        wait_port(port)
        for name in ["echo", *(f"echo{i}" for i in range(10)), *members]:
            _cli(home, "start", name)
        yield home, f"http://127.0.0.1:{port}"


def _post(url: str, session: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    headers = {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-session-id": session,
        "mcp-protocol-version": "2025-11-25",
    }
    body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": params}
    r = httpx.post(url, json=body, headers=headers, timeout=60)
    r.raise_for_status()
    reply: dict[str, Any] = r.json()
    return reply


def _lean(base: str) -> dict[str, int]:
    full_url, lean_url = f"{base}/groups/real/mcp", f"{base}/groups/real-lean/mcp"
    full = _post(full_url, open_session_plain(full_url), "tools/list", {})["result"]
    session = open_session_plain(lean_url)
    lean = _post(lean_url, session, "tools/list", {})["result"]
    search = _post(
        lean_url,
        session,
        "tools/call",
        {"name": "search_tools", "arguments": {"query": "read file"}},
    )["result"]
    return {
        "tools": len(full["tools"]),
        "full_chars": len(json.dumps(full)),
        "lean_chars": len(json.dumps(lean)),
        "lean_plus_search_chars": len(json.dumps(lean)) + len(json.dumps(search)),
    }


def open_session_plain(url: str) -> str:
    """An initialized session (no warm-up echo call: these groups have no ``echo``)."""
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "b", "version": "1"},
        },
    }
    r = httpx.post(url, json=init, headers=headers, timeout=60)
    r.raise_for_status()
    return str(r.headers["mcp-session-id"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    script = Path(tempfile.mkdtemp()) / "call.lua"
    script.write_text(LUA)
    with engine() as (_home, base):
        server_url, group_url = f"{base}/servers/echo/mcp", f"{base}/groups/g/mcp"
        sessions = {u: open_session(u) for u in (server_url, group_url)}
        rows: dict[str, dict[int, list[dict[str, float]]]] = {server_url: {}, group_url: {}}
        for conns in (1, 8):
            for i in range(args.rounds):
                order = (server_url, group_url) if i % 2 == 0 else (group_url, server_url)
                for url in order:
                    r = wrk(url, sessions[url], conns, args.duration, script)
                    rows[url].setdefault(conns, []).append(r)
        med = {
            url: {
                c: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                for c, runs in cells.items()
            }
            for url, cells in rows.items()
        }
        s, g = med[server_url], med[group_url]
        head = ("p50 c1 ms", "p99 c1 ms", "calls/s c1", "calls/s c8")
        print(f"{'endpoint':<22}{head[0]:>11}{head[1]:>11}{head[2]:>12}{head[3]:>12}")
        for label, m in (("/servers/echo/mcp", s), ("/groups/g/mcp", g)):
            print(
                f"{label:<22}{m[1]['p50']:>11.3f}{m[1]['p99']:>11.3f}{m[1]['rps']:>12.0f}{m[8]['rps']:>12.0f}"
            )
        p50_ratio = g[1]["p50"] / s[1]["p50"]
        rps_ratio = g[8]["rps"] / s[8]["rps"]
        print(f"group/server p50 (c=1): {p50_ratio:.3f}  (target <= 1.10)")
        print(f"group/server calls/s (c=8): {rps_ratio:.3f}  (target >= 0.90)")
        bad = sum(m[c]["non2xx"] + m[c]["socket_errors"] for m in (s, g) for c in (1, 8))
        if bad:
            print(f"warning: {bad:.0f} non-2xx responses or socket errors", file=sys.stderr)

        list_url = f"{base}/groups/g10/mcp"
        session = open_session_plain(list_url)
        n_tools = len(
            _post(list_url, session, "tools/list", {})["result"]["tools"]
        )  # warms the cache
        env_script = Path(tempfile.mkdtemp()) / "list.lua"
        env_script.write_text(LUA)
        os.environ["MCP_METHOD"] = "tools/list"
        listed = wrk(list_url, session, 1, args.duration, env_script)
        del os.environ["MCP_METHOD"]
        print(
            f"tools/list of a 10-server group ({n_tools} tools) from cache, c=1: "
            f"p50 {listed['p50']:.3f} ms, p99 {listed['p99']:.3f} ms, {listed['rps']:.0f}/s "
            "(target p50 <= 1 ms)"
        )

        lean = _lean(base)
        print(
            f"lean mode, 10-server group of real servers ({lean['tools']} tools): tools/list "
            f"{lean['full_chars']} -> {lean['lean_chars']} characters "
            f"({100 * (1 - lean['lean_chars'] / lean['full_chars']):.1f} % less); with one "
            f"search_tools answer {lean['lean_plus_search_chars']} "
            f"({100 * (1 - lean['lean_plus_search_chars'] / lean['full_chars']):.1f} % less)"
        )


if __name__ == "__main__":
    main()
