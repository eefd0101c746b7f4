"""Server->client requests over one shared stdio process reach exactly the client that
caused them (issue 11.9), and cancelled requests get no response (11.10): real ``mcp``
SDK clients through the real gateway against an SDK server that samples, elicits and
lists roots without naming the tool call (tests/fixtures/gw_sampling_server.py)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from pydantic import FileUrl

from switchboard.core.spec import Isolation
from switchboard.engine import Engine
from tests.conftest import fixture_cmd
from tests.fixtures.gw_helpers import RawClient, add_started, rpc

pytestmark = pytest.mark.timeout(120)

CLIENTS = 4


def text_of(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def sampling_server(engine: Engine, isolation: Isolation = Isolation.AUTO) -> str:
    cmd, args = fixture_cmd("gw_sampling_server.py")
    return await add_started(engine, "asker", cmd, args, isolation=isolation)


class Person:
    """One client and everything its callbacks were shown."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.prompts: list[str] = []
        self.questions: list[str] = []

    async def sample(
        self, context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        content = params.messages[0].content
        assert isinstance(content, types.TextContent)
        self.prompts.append(content.text)
        await asyncio.sleep(0.05)  # a person takes a moment: the calls overlap
        return types.CreateMessageResult(
            role="assistant",
            model="m",
            content=types.TextContent(type="text", text=f"{self.name} answers {content.text}"),
        )

    async def elicit(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        assert isinstance(params, types.ElicitRequestFormParams)
        self.questions.append(params.message)
        await asyncio.sleep(0.05)
        return types.ElicitResult(action="accept", content={"answer": f"{self.name} says yes"})

    def client(self, url: str) -> Client:
        return Client(url, sampling_callback=self.sample, elicitation_callback=self.elicit)


async def all_at_once(
    url: str, people: list[Person], work: Callable[[Person, Client], Awaitable[None]]
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(p.client(url)) for p in people]
        await asyncio.gather(*(work(p, c) for p, c in zip(people, clients, strict=True)))


async def ask_both(person: Person, client: Client) -> None:
    prompt, question = f"prompt of {person.name}", f"question of {person.name}"
    sampled, elicited = await asyncio.gather(
        client.call_tool("ask_llm", {"prompt": prompt}),
        client.call_tool("ask_user", {"question": question}),
    )
    assert text_of(sampled) == f"sampled: {person.name} answers {prompt}"
    assert text_of(elicited) == f'elicited: accept {{"answer": "{person.name} says yes"}}'


def assert_no_leaks(people: list[Person]) -> None:
    for p in people:
        assert all(p.name in t for t in p.prompts + p.questions), (p.name, p.prompts, p.questions)


async def test_concurrent_callers_each_get_exactly_their_own_requests(engine: Engine) -> None:
    url = await sampling_server(engine)
    people = [Person(f"client{i}") for i in range(CLIENTS)]
    # The first request that names no caller turns on one-at-a-time (isolation auto).
    async with people[0].client(url) as first:
        assert text_of(await first.call_tool("ask_llm", {"prompt": "warm client0"})).startswith(
            "sampled: client0 answers"
        )
    for p in people:
        p.prompts.clear()
    await all_at_once(url, people, ask_both)
    for p in people:
        assert p.prompts == [f"prompt of {p.name}"]
        assert p.questions == [f"question of {p.name}"]
    assert engine.status("asker").restarts == 0


async def test_serial_isolation_is_exact_from_the_first_request(engine: Engine) -> None:
    url = await sampling_server(engine, Isolation.SERIAL)
    people = [Person(f"client{i}") for i in range(CLIENTS)]
    await all_at_once(url, people, ask_both)
    for p in people:
        assert p.prompts == [f"prompt of {p.name}"] and p.questions == [f"question of {p.name}"]


async def test_an_ambiguous_first_burst_is_refused_never_guessed(engine: Engine) -> None:
    url = await sampling_server(engine)  # auto, no warm-up: the first request is ambiguous
    people = [Person(f"client{i}") for i in range(CLIENTS)]
    results: dict[str, str] = {}

    async def sample_once(person: Person, client: Client) -> None:
        res = await client.call_tool("ask_llm", {"prompt": f"prompt of {person.name}"})
        results[person.name] = text_of(res)

    await all_at_once(url, people, sample_once)
    assert_no_leaks(people)
    for p in people:
        got = results[p.name]
        assert got == f"sampled: {p.name} answers prompt of {p.name}" or got.startswith(
            "refused:"
        ), got
    # Once refused, the server's requests run one at a time: the next burst is exact.
    await all_at_once(url, people, ask_both)
    assert_no_leaks(people)


async def test_a_caller_without_sampling_gets_an_error_and_the_bystander_sees_nothing(
    engine: Engine,
) -> None:
    url = await sampling_server(engine)
    bystander = Person("bystander")
    async with bystander.client(url) as idle, Client(url) as plain:
        await idle.list_tools()
        result = await plain.call_tool("ask_llm", {"prompt": "secret of the plain client"})
        assert text_of(result).startswith("refused:")
        assert "sampling" in text_of(result)
        result = await plain.call_tool("my_roots", {})
        assert text_of(result).startswith("refused:")
    assert bystander.prompts == [] and bystander.questions == []


async def test_roots_are_never_shared_between_clients(engine: Engine) -> None:
    """Servers keep the roots they were told for the whole connection, and all clients
    share the connection: no client's roots reach a shared process, so none is shown
    another's workspace (the server is refused and falls back to its own config)."""
    url = await sampling_server(engine)

    def roots_of(name: str) -> Any:
        async def roots(context: ClientRequestContext) -> types.ListRootsResult:
            return types.ListRootsResult(roots=[types.Root(uri=FileUrl(f"file:///home/{name}"))])

        return roots

    async with (
        Client(url, list_roots_callback=roots_of("alice")) as alice,
        Client(url, list_roots_callback=roots_of("bob")) as bob,
    ):
        got = await asyncio.gather(*(c.call_tool("my_roots", {}) for c in (alice, bob, alice)))
    texts = [text_of(r) for r in got]
    for text in texts:
        assert text.startswith("refused:"), text
        assert "alice" not in text and "bob" not in text


# -- cancellation (11.10) -------------------------------------------------------------


async def test_sdk_cancelled_call_gets_no_response_and_the_session_goes_on(
    engine: Engine,
) -> None:
    url = await sampling_server(engine)
    async with Client(url) as client:
        call = asyncio.ensure_future(client.call_tool("wait", {"seconds": 60}))
        await asyncio.sleep(0.5)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        for _ in range(100):  # the mux forgot the request (cancelled upstream)
            if not engine.gateway._muxes["asker"].pending:
                break
            await asyncio.sleep(0.02)
        assert not engine.gateway._muxes["asker"].pending
        assert text_of(await client.call_tool("echo", {"text": "still here"})) == "still here"


async def _stats(client: RawClient) -> dict[str, Any]:
    res = await client.call("tools/call", {"name": "stats"}, msg_id="stats")
    return json.loads(res["result"]["content"][0]["text"])  # type: ignore[no-any-return]


async def test_raw_cancelled_request_ends_its_post_without_a_response(
    http: httpx.AsyncClient, mux_url: str
) -> None:
    client = RawClient(http, mux_url)
    await client.initialize()
    post = asyncio.ensure_future(
        client.post(rpc("tools/call", {"name": "sleep", "arguments": {"seconds": 30}}, "long"))
    )
    await asyncio.sleep(0.3)
    r = await client.post(
        rpc("notifications/cancelled", {"requestId": "long", "reason": "user"}, msg_id=None)
    )
    assert r.status_code == 202
    answer = await asyncio.wait_for(post, 10)  # ends at once, not after 30 s
    assert answer.status_code == 202 and answer.content == b""
    assert len((await _stats(client))["cancelled"]) == 1  # forwarded upstream


async def test_raw_cancelled_stream_ends_without_a_response_and_is_not_resumed(
    http: httpx.AsyncClient, mux_url: str
) -> None:
    client = RawClient(http, mux_url)
    await client.initialize()
    frames: list[str] = []
    started = asyncio.Event()

    async def read_stream() -> None:
        msg = rpc(
            "tools/call",
            {
                "name": "ticks",
                "arguments": {"count": 400, "interval": 0.05},
                "_meta": {"progressToken": "p"},
            },
            "ticking",
        )
        async with http.stream("POST", mux_url, json=msg, headers=client.headers()) as r:
            assert r.headers["content-type"] == "text/event-stream"
            async for line in r.aiter_lines():
                frames.append(line)
                if line.startswith("data: {"):
                    started.set()

    reader = asyncio.ensure_future(read_stream())
    await asyncio.wait_for(started.wait(), 10)
    await client.post(rpc("notifications/cancelled", {"requestId": "ticking"}, msg_id=None))
    await asyncio.wait_for(reader, 10)  # the stream ends
    data = [json.loads(f[6:]) for f in frames if f.startswith("data: {")]
    assert data and all(d.get("method") == "notifications/progress" for d in data)
    assert not [d for d in data if d.get("id") == "ticking"]
    last_id = [f[4:] for f in frames if f.startswith("id: ")][-1]
    r = await http.get(mux_url, headers={**client.headers(), "last-event-id": last_id.strip()})
    assert r.status_code == 204
    assert (await client.call("tools/call", {"name": "echo", "arguments": {"text": "on"}}))[
        "result"
    ]["content"][0]["text"] == "on"


async def test_changing_the_setting_reaches_the_running_gateway(engine: Engine) -> None:
    url = await sampling_server(engine)
    async with Client(url) as client:
        await client.list_tools()
        mux = engine.gateway._muxes["asker"]
        assert mux.isolation is Isolation.AUTO and not mux.serial
        spec = engine.config.server("asker")
        await engine.update_server(dataclasses.replace(spec, isolation=Isolation.SERIAL))
        isolation: Isolation = mux.isolation  # re-read: update_server changed it
        assert isolation is Isolation.SERIAL and mux.serial
        assert text_of(await client.call_tool("echo", {"text": "still"})) == "still"
