"""RemoteStream against scripted upstream answers (httpx.MockTransport): what the mux
gets back for each kind of answer, and what goes upstream."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from switchboard.remote.credentials import Credentials
from switchboard.remote.oauth import OAuthClient
from switchboard.remote.stream import EndReason, RemoteStream
from switchboard.remote.vault import Vault
from tests.unit.remote.test_discovery import Secrets


async def no_headers(refs: Any) -> dict[str, str]:
    return {}


def make(handler: Any) -> tuple[RemoteStream, list[dict[str, Any] | None], list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        response: httpx.Response = handler(request)
        return response

    http = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    creds = Credentials(
        "up",
        OAuthClient(http, Vault(Secrets())),
        static={},
        resolve=no_headers,
        clock=lambda: 0.0,
    )
    got: list[dict[str, Any] | None] = []
    stream = RemoteStream(
        "up",
        1,
        "https://up.example/mcp",
        legacy=False,
        http=http,
        credentials=creds,
        system=lambda _t: None,
        ended=lambda _s: None,
    )
    stream.set_sink(lambda line: got.append(None if line is None else json.loads(line)))
    return stream, got, seen


async def settle(got: list[Any], n: int) -> None:
    for _ in range(200):
        if len(got) >= n:
            return
        await asyncio.sleep(0.005)


async def test_json_and_sse_answers_and_the_session_headers() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        msg = json.loads(request.content)
        if msg.get("method") == "initialize":
            result = {"protocolVersion": "2025-06-18", "capabilities": {}}
            return httpx.Response(
                200,
                json={"jsonrpc": "2.0", "id": msg["id"], "result": result},
                headers={"mcp-session-id": "S1", "set-cookie": "a=b"},
            )
        if msg.get("method") == "tools/list":
            body = (
                'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\n'
                f'data: {{"jsonrpc":"2.0","id":{msg["id"]},"result":{{"tools":[]}}}}\n\n'
            )
            return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})
        return httpx.Response(202)

    stream, got, seen = make(handler)
    stream.write_nowait(b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}')
    await settle(got, 1)
    stream.write_nowait(b'{"jsonrpc":"2.0","id":2,"method":"tools/list"}')
    await settle(got, 3)
    assert got[0] == {
        "jsonrpc": "2.0",
        "id": 1,
        "result": {"protocolVersion": "2025-06-18", "capabilities": {}},
    }
    assert got[1] == {"jsonrpc": "2.0", "method": "notifications/progress"}
    assert got[2] == {"jsonrpc": "2.0", "id": 2, "result": {"tools": []}}
    later = seen[-1]
    assert later.headers["mcp-session-id"] == "S1"
    assert later.headers["mcp-protocol-version"] == "2025-06-18"
    stream._end(EndReason.STOPPED)


async def test_errors_name_the_server_and_keep_the_servers_own_rpc_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        msg = json.loads(request.content)
        if msg["id"] == 1:
            error = {"code": -32602, "message": "bad params"}
            return httpx.Response(400, json={"jsonrpc": "2.0", "id": 1, "error": error})
        if msg["id"] == 2:
            return httpx.Response(502, text="<html>bad gateway</html>")
        return httpx.Response(403, text="nope", headers={"www-authenticate": "Bearer"})

    stream, got, _ = make(handler)
    for i in (1, 2, 3):
        stream.write_nowait(json.dumps({"jsonrpc": "2.0", "id": i, "method": "x"}).encode())
    await settle(got, 3)
    by_id = {m["id"]: m["error"] for m in got if m}
    assert by_id[1] == {"code": -32602, "message": "bad params"}
    assert "'up'" in by_id[2]["message"] and "502" in by_id[2]["message"]
    assert "html" not in json.dumps(by_id)
    assert "'up'" in by_id[3]["message"] and "403" in by_id[3]["message"]
    stream._end(EndReason.STOPPED)


async def test_without_a_token_a_401_ends_the_stream_as_needing_sign_in() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401, headers={"www-authenticate": 'Bearer resource_metadata="https://up.example/m"'}
        )

    stream, got, _ = make(handler)
    stream.write_nowait(b'{"jsonrpc":"2.0","id":7,"method":"tools/list"}')
    await settle(got, 2)
    assert got[0] is not None and "needs sign-in" in got[0]["error"]["message"]
    assert got[1] is None and stream.end_reason is EndReason.SIGN_IN
