"""Member listings (gateway/groups/listings.py) and the group runtime's refusals
(runtime.py) with fake member sessions: pagination, missing capabilities, a down
member's names kept for errors, list_changed invalidation."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from switchboard.core.group import GroupSpec
from switchboard.gateway import jsonrpc
from switchboard.gateway.channels import PostChannel, Session, Unavailable
from switchboard.gateway.groups.listings import Listings, OnMessage
from switchboard.gateway.groups.runtime import GroupMux
from switchboard.gateway.internal import RpcError


class FakeClient:
    """A member session answering list requests in pages of one item."""

    def __init__(self, tools: list[str], on_message: OnMessage, caps: dict[str, Any]) -> None:
        self.tools = tools
        self.on_message = on_message
        self.initialize_result = {"capabilities": caps}
        self.closed = False
        self.session = Session("fake")
        self.requests: list[tuple[str, dict[str, Any] | None]] = []

    async def request(
        self, method: str, params: dict[str, Any] | None = None, *, on_message: Any = None
    ) -> dict[str, Any]:
        self.requests.append((method, params))
        if method == "prompts/list":
            raise RpcError(jsonrpc.METHOD_NOT_FOUND, "no prompts")
        if method != "tools/list":
            return {}
        offset = int((params or {}).get("cursor") or 0)
        page: dict[str, Any] = {"tools": [{"name": self.tools[offset], "inputSchema": {}}]}
        if offset + 1 < len(self.tools):
            page["nextCursor"] = str(offset + 1)
        return page

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        pass

    def reply(self, request_id: Any, *, result: Any = None, error: Any = None) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class World:
    def __init__(self) -> None:
        self.states = {"a": "running", "b": "running"}
        self.clients: dict[str, FakeClient] = {}
        self.opened: list[str] = []

    def state_of(self, server: str) -> str | None:
        return self.states.get(server)

    async def open(self, server: str, *, on_message: OnMessage, **kw: Any) -> FakeClient:
        self.opened.append(server)
        if self.states.get(server) != "running":
            raise Unavailable(f"Server {server!r} is stopped.", "stopped")
        caps: dict[str, Any] = {"tools": {}, "prompts": {}} if server == "a" else {"tools": {}}
        client = FakeClient([f"{server}1", f"{server}2", f"{server}3"], on_message, caps)
        self.clients[server] = client
        return client


async def test_lists_are_paged_through_cached_and_invalidated() -> None:
    world = World()
    listings = Listings(world.open, world.state_of)
    heard: list[str] = []
    listings.listeners.append(heard.append)
    a, again = await asyncio.gather(listings.get("a"), listings.get("a"))
    assert a is again and world.opened == ["a"]  # one fetch for concurrent readers
    assert [t["name"] for t in a.tools] == ["a1", "a2", "a3"]
    assert a.prompts == ()  # prompts/list: method not found -> none
    methods = [m for m, _ in world.clients["a"].requests]
    assert methods == ["tools/list"] * 3 + ["prompts/list"]  # no resources capability
    assert await listings.get("a") is a  # cached
    world.clients["a"].on_message({"method": "notifications/tools/list_changed"})
    assert heard == ["a"]
    assert await listings.get("a") is not a


async def test_a_down_member_keeps_its_names_and_says_why() -> None:
    world = World()
    listings = Listings(world.open, world.state_of)
    await listings.get("b")
    world.states["b"] = "failed"
    listings.invalidate("b")
    down = await listings.get("b")
    assert down.error == "Server 'b' is failed." and down.state == "failed"
    assert [t["name"] for t in down.tools] == ["b1", "b2", "b3"]
    assert world.clients["b"].closed
    world.states["b"] = "sleeping"  # on demand: listed as last seen, a call wakes it
    asleep = await listings.get("b")
    assert asleep.up and asleep.state == "sleeping"
    assert [t["name"] for t in asleep.tools] == ["b1", "b2", "b3"]
    missing = await listings.get("zz")
    assert missing.state == "missing" and missing.error is not None


async def test_a_call_to_a_down_member_is_refused_at_once_naming_it() -> None:
    world = World()
    listings = Listings(world.open, world.state_of)
    spec = GroupSpec("g", servers=("a", "b"))
    group = GroupMux(
        "g",
        spec_of=lambda: spec,
        listings=listings,
        open_client=world.open,
        state_of=world.state_of,
    )
    session = Session("groups/g")
    await group.initialize(session, {"capabilities": {}})
    world.states["b"] = "stopped"
    listings.invalidate("b")
    channel = PostChannel(sse_ok=False)
    msg = {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "b__b1"}}
    group.submit(session, msg, channel)
    await _answered(channel)
    reply = jsonrpc.loads(channel.messages[0])
    assert reply["error"]["code"] == jsonrpc.SERVER_UNAVAILABLE
    assert reply["error"]["data"] == {"server": "b", "state": "stopped"}
    assert "'b'" in reply["error"]["message"] and "stopped" in reply["error"]["message"]
    assert world.opened.count("b") == 1  # the list fetch; the call never tried it


async def _answered(channel: PostChannel) -> None:
    for _ in range(100):
        if channel.done:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no answer")


@pytest.mark.parametrize("cursor", ["bogus", 7])
async def test_a_bad_cursor_is_invalid_params(cursor: object) -> None:
    world = World()
    listings = Listings(world.open, world.state_of)
    group = GroupMux(
        "g",
        spec_of=lambda: GroupSpec("g", servers=("a",)),
        listings=listings,
        open_client=world.open,
        state_of=world.state_of,
    )
    session = Session("groups/g")
    await group.initialize(session, {})
    channel = PostChannel(sse_ok=False)
    msg = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"cursor": cursor}}
    group.submit(session, msg, channel)
    await _answered(channel)
    assert jsonrpc.loads(channel.messages[0])["error"]["code"] == jsonrpc.INVALID_PARAMS


async def test_list_changed_is_announced_once_and_only_for_lists_that_changed() -> None:
    world = World()
    listings = Listings(world.open, world.state_of)
    specs = [GroupSpec("g", servers=("a", "b"))]
    group = GroupMux(
        "g",
        spec_of=lambda: specs[-1],
        listings=listings,
        open_client=world.open,
        state_of=world.state_of,
    )
    listings.listeners.append(lambda _server: group.changed())
    session = Session("groups/g")
    await group.initialize(session, {})
    # A restart's states in one go, the lists the same before and after: nothing.
    for _ in range(3):
        listings.invalidate("a")
    await asyncio.sleep(0.05)
    assert list(session.backlog) == []
    # A member stops: its tools go (prompts and resources did not change).
    world.states["b"] = "stopped"
    listings.invalidate("b")
    listings.invalidate("b")
    await asyncio.sleep(0.05)
    sent = [jsonrpc.loads(m)["method"] for m in session.backlog]
    assert sent == ["notifications/tools/list_changed"]
    # Lean mode switched on: the same tools, but tools/list now shows the meta-tools.
    session.backlog.clear()
    specs.append(dataclasses.replace(specs[-1], lean=True))
    group.changed()
    await asyncio.sleep(0.05)
    assert [jsonrpc.loads(m)["method"] for m in session.backlog] == [
        "notifications/tools/list_changed"
    ]
