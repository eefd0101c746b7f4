"""The control API's group routes (issue 14): status codes and bodies for good and bad
requests, over the engine's private socket with the admin token."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from switchboard.control import channel
from switchboard.core.group import GroupSpec
from switchboard.core.spec import ServerSpec
from switchboard.engine import Engine
from tests.conftest import fixture_cmd


async def call(engine: Engine, method: str, path: str, body: Any = None) -> httpx.Response:
    endpoint = channel.locate(engine.paths)

    def run() -> httpx.Response:
        with httpx.Client(
            base_url=f"{endpoint.url}/api/v1",
            transport=channel.transport(endpoint),
            headers={"Authorization": f"Bearer {engine.admin_token}"},
            trust_env=False,
        ) as client:
            if isinstance(body, bytes):
                return client.request(method, path, content=body)
            return client.request(method, path, json=body)

    return await asyncio.to_thread(run)


async def test_group_routes(engine: Engine) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    await engine.add_server(ServerSpec("a", cmd, args))

    made = await call(engine, "POST", "/groups", {"name": "dev", "servers": ["a", "ghost"]})
    assert made.status_code == 201
    view = made.json()
    assert view["url"] == f"{engine.base_url}/groups/dev/mcp"
    assert view["sse_url"] == f"{engine.base_url}/groups/dev/sse"
    assert view["members"] == [
        {"server": "a", "state": "stopped", "missing": False},
        {"server": "ghost", "state": "missing", "missing": True},
    ]
    assert (await call(engine, "POST", "/groups", {"name": "dev"})).status_code == 409
    put = await call(engine, "PUT", "/groups/dev", {"servers": ["a"], "lean": True})
    assert put.status_code == 200 and put.json()["spec"]["lean"] is True
    moved = await call(engine, "POST", "/groups/dev/rename", {"name": "work"})
    assert moved.status_code == 200 and moved.json()["url"].endswith("/groups/work/mcp")
    listed = (await call(engine, "GET", "/groups")).json()["groups"]
    assert [g["spec"]["name"] for g in listed] == ["work"]

    started = await call(engine, "POST", "/groups/work/start")
    assert [s["state"] for s in started.json()["servers"]] == ["running"]
    assert started.json()["missing"] == []
    stopped = await call(engine, "POST", "/groups/work/stop")
    assert [s["state"] for s in stopped.json()["servers"]] == ["stopped"]

    listing = await call(engine, "GET", "/groups/work/listing")
    assert listing.status_code == 200
    (member,) = listing.json()["members"]
    assert (listing.json()["group"], member["server"], member["state"]) == ("work", "a", "stopped")

    gone = await call(engine, "DELETE", "/servers/a")
    assert gone.status_code == 200 and gone.json() == {"groups": ["work"]}
    assert (await call(engine, "DELETE", "/groups/work")).status_code == 204
    assert engine.groups() == []


async def test_bad_group_requests_get_clear_errors(engine: Engine) -> None:
    await engine.add_server(ServerSpec("a", "cat"))
    cases: list[tuple[str, str, Any, int, str]] = [
        ("GET", "/groups/nope", None, 404, "No group named 'nope'."),
        ("GET", "/groups/nope/listing", None, 404, "No group named 'nope'."),
        ("POST", "/groups/nope/start", None, 404, "No group named 'nope'."),
        ("DELETE", "/groups/nope", None, 404, "No group named 'nope'."),
        ("POST", "/groups", b"{not json", 422, "The request body is not valid JSON."),
        ("POST", "/groups", [1, 2], 422, "The request body must be a JSON object."),
        ("POST", "/groups", {"name": "Bad Name"}, 422, "Invalid group name 'Bad Name'."),
        ("POST", "/groups", {"name": "g", "naming": "x"}, 422, "unknown naming 'x'"),
        ("POST", "/groups", {"name": "g", "auth": "external"}, 422, "external issuer"),
        ("POST", "/groups", {"name": "g", "servers": ["a", "a"]}, 422, "lists a server twice"),
    ]
    await engine.add_group(GroupSpec("dev"))
    cases += [
        ("PUT", "/groups/dev", {"name": "other"}, 422, "differs from the one in the URL"),
        ("POST", "/groups/dev/rename", {}, 422, "Give the new name."),
        ("POST", "/groups/dev/rename", {"name": "Bad"}, 422, "Invalid group name 'Bad'."),
    ]
    for method, path, body, status, message in cases:
        answer = await call(engine, method, path, body)
        assert answer.status_code == status, (method, path, answer.text)
        assert message in answer.json()["message"], answer.json()
        assert answer.json()["hint"]


async def test_a_stale_read_change_write_is_refused_not_lost(engine: Engine) -> None:
    await engine.add_group(GroupSpec("dev", servers=("a",)))
    seen = engine.group("dev").tag()
    await engine.update_group(GroupSpec("dev", servers=("a", "b")))  # the app, meanwhile

    stale = await call(engine, "PUT", "/groups/dev?expect=" + seen, {"lean": True})

    assert stale.status_code == 409
    assert "was changed meanwhile" in stale.json()["message"]
    assert engine.group("dev") == GroupSpec("dev", servers=("a", "b"))  # nothing lost
    fresh = engine.group("dev").tag()
    body = {"servers": ["a", "b"], "lean": True}
    ok = await call(engine, "PUT", "/groups/dev?expect=" + fresh, body)
    assert ok.status_code == 200
    assert engine.group("dev").lean and engine.group("dev").servers == ("a", "b")
