"""The stdio bridge against a scripted gateway (httpx MockTransport): priming events are
not relayed as empty lines, and a dropped GET stream resumes with Last-Event-ID."""

from __future__ import annotations

import asyncio
import json

import httpx

from switchboard.gateway.stdio_bridge import StdioBridge

URL = "http://127.0.0.1:1/servers/x/mcp"
SSE = {"content-type": "text/event-stream"}


async def no_token(refresh: bool) -> str | None:
    return None


def event(event_id: str, data: str) -> str:
    return f"id: {event_id}\nevent: message\ndata: {data}\n\n"


async def test_priming_events_are_skipped_and_the_get_stream_resumes() -> None:
    gets: list[str | None] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return httpx.Response(200)
        if request.method == "GET":
            gets.append(request.headers.get("last-event-id"))
            if len(gets) == 1:
                note = json.dumps({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
                return httpx.Response(
                    200, headers=SSE, text="id: G2-4\ndata: \n\n" + event("G2-5", note)
                )
            return httpx.Response(405)  # the bridge stops its GET loop
        msg = json.loads(request.content)
        if msg["method"] == "initialize":
            body = {"jsonrpc": "2.0", "id": msg["id"], "result": {"protocolVersion": "2025-11-25"}}
            return httpx.Response(200, json=body, headers={"mcp-session-id": "s1"})
        if "id" not in msg:
            return httpx.Response(202)
        progress = {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": 1}}
        result = {"jsonrpc": "2.0", "id": msg["id"], "result": {"content": []}}
        text = "id: P1-1\ndata: \n\n" + event("P1-2", json.dumps(progress))
        return httpx.Response(200, headers=SSE, text=text + event("P1-3", json.dumps(result)))

    lines: list[bytes] = []
    bridge = StdioBridge(
        URL, lines.append, token_provider=no_token, transport=httpx.MockTransport(gateway)
    )
    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}}
    await bridge.handle(json.dumps(init).encode())
    await bridge.handle(b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}')
    assert bridge._get_task is not None
    await asyncio.wait_for(bridge._get_task, 5)
    await asyncio.wait_for(asyncio.gather(*bridge._tasks), 5)
    await bridge.aclose()
    assert b"" not in lines
    methods = [json.loads(line).get("method") for line in lines]
    assert sorted(m or "" for m in methods) == sorted(
        ["", "", "notifications/progress", "notifications/tools/list_changed"]
    )
    assert gets == [None, "G2-5"]
