"""CPU per request of the listener's protocol: ``LimitedHttpToolsProtocol`` (request head
limits, ``switchboard/httplimits.py``) against uvicorn's ``HttpToolsProtocol``. Not a test.

No sockets: the same request as gateway_bench.py's (POST tools/call, a bearer token,
the MCP headers) is fed to each protocol with a stub transport and a trivial app, on one
keep-alive connection; the two alternate per round, medians reported. What it isolates is
the cost the limits add on the hot path (end to end it is within gateway_bench's noise).

    .venv/bin/python bench/httplimits_bench.py [--rounds 12] [--requests 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from switchboard.httplimits import LimitedHttpToolsProtocol

BODY = (
    b'{"jsonrpc":"2.0","id":1,"method":"tools/call",'
    b'"params":{"name":"echo","arguments":{"text":"hi"}}}'
)
REQUEST = (
    b"POST /servers/echo/mcp HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n"
    b"Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
    b"Mcp-Session-Id: abcdefghijklmnopqrstuvwxyz012345\r\nMcp-Protocol-Version: 2025-11-25\r\n"
    b"Authorization: Bearer " + b"x" * 600 + b"\r\nContent-Length: %d\r\n\r\n" % len(BODY)
) + BODY


async def app(scope: Any, receive: Any, send: Any) -> None:
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"{}"})


class StubTransport(asyncio.Transport):
    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8765), "peername": ("127.0.0.1", 5555)}.get(name, default)

    def write(self, data: Any) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        pass


async def per_request_us(cls: type[HttpToolsProtocol], n: int) -> float:
    config = uvicorn.Config(app, lifespan="off", proxy_headers=False, log_level="warning")
    config.load()
    protocol = cls(config, ServerState(), {}, asyncio.get_running_loop())
    protocol.connection_made(StubTransport())
    t0 = time.perf_counter()
    for _ in range(n):
        protocol.data_received(REQUEST)
        await asyncio.sleep(0)  # the app task runs and answers
        await asyncio.sleep(0)
    elapsed = (time.perf_counter() - t0) / n * 1e6
    protocol.connection_lost(None)
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--requests", type=int, default=20000)
    args = parser.parse_args()
    pair: list[tuple[str, type[HttpToolsProtocol]]] = [
        ("uvicorn HttpToolsProtocol", HttpToolsProtocol),
        ("LimitedHttpToolsProtocol", LimitedHttpToolsProtocol),
    ]
    runs: dict[str, list[float]] = {name: [] for name, _ in pair}
    for i in range(args.rounds):
        for name, cls in pair if i % 2 == 0 else pair[::-1]:
            runs[name].append(await per_request_us(cls, args.requests))
    for name, values in runs.items():
        print(f"{name:28} {statistics.median(values):7.2f} us/request (min {min(values):.2f})")
    base, ours = (statistics.median(v) for v in runs.values())
    print(f"limits add {ours - base:+.2f} us/request ({ours / base:.3f}x)")


if __name__ == "__main__":
    asyncio.run(main())
