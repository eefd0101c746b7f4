"""Any JSON value in any field: the mux never raises (defence behind the HTTP layer's
check), and :func:`jsonrpc.check_client_message` names what is wrong."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from switchboard.gateway import jsonrpc
from tests.unit.gateway.test_mux import World, call, final, sampling

ODD: list[Any] = [None, True, 1.5, "", [], [1], {}, {"a": {}}]


@pytest.mark.parametrize("value", ODD)
async def test_the_mux_survives_odd_values_from_both_sides(
    value: Any, caplog: pytest.LogCaptureFixture
) -> None:
    w = World()
    a = await w.session({"sampling": {}})
    # Client side, straight to the mux (the gateway refuses these before they get here).
    w.mux.notify(a, {"jsonrpc": "2.0", "id": value, "result": {}})
    w.mux.notify(a, {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": value})
    w.mux.notify(
        a, {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": value}}
    )
    ch = call(w.mux, a, 1, name="t", _meta={"progressToken": value})
    # Server side.
    for msg in (
        {"jsonrpc": "2.0", "id": value, "result": {}},
        {"jsonrpc": "2.0", "id": value, "method": "sampling/createMessage"},
        {"jsonrpc": "2.0", "id": 5, "method": value},
        {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": value}},
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": value}},
        {"jsonrpc": "2.0", "method": "notifications/resources/updated", "params": {"uri": value}},
        {"jsonrpc": "2.0", "method": "notifications/message", "params": value},
        sampling(6, progressToken=value),
    ):
        w.send(msg)
    w.reply(w.written("tools/call")[0]["id"], {"content": []})
    assert final(ch)["result"] == {"content": []}
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("msg", "problem"),
    [
        ({"jsonrpc": "2.0", "id": {}, "method": "x"}, "id must be"),
        ({"jsonrpc": "2.0", "id": True, "method": "x"}, "id must be"),
        ({"jsonrpc": "2.0", "id": None, "method": "x"}, "id must be"),
        ({"jsonrpc": "2.0", "id": 1, "method": 2}, "method must be"),
        ({"jsonrpc": "2.0", "id": 1, "method": "x", "params": []}, "params must be"),
        ({"jsonrpc": "2.0", "id": 1, "method": "x", "params": {"_meta": 1}}, "_meta must be"),
        (
            {"jsonrpc": "2.0", "id": 1, "method": "x", "params": {"_meta": {"progressToken": []}}},
            "progressToken must be",
        ),
        ({"jsonrpc": "2.0", "id": [1], "result": {}}, "string or number id"),
        ({"jsonrpc": "2.0", "result": {}}, "string or number id"),
        ({"jsonrpc": "2.0", "id": 1, "result": {}, "error": {}}, "exactly one"),
    ],
)
def test_check_client_message_names_the_problem(msg: dict[str, Any], problem: str) -> None:
    found = jsonrpc.check_client_message(msg)
    assert found is not None and problem in found


@pytest.mark.parametrize(
    "msg",
    [
        {"jsonrpc": "2.0", "id": "a", "method": "tools/call", "params": {"name": "t"}},
        {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": None},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 3, "error": {"code": 1, "message": "m"}},
        {"jsonrpc": "2.0", "id": 1, "method": "x", "params": {"_meta": {"progressToken": "p"}}},
        {"jsonrpc": "2.0", "id": 2.5, "method": "x", "params": {"_meta": {"progressToken": 1e3}}},
    ],
)
def test_check_client_message_accepts_well_formed_messages(msg: dict[str, Any]) -> None:
    assert jsonrpc.check_client_message(msg) is None
