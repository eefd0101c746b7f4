"""The activity recorder on its own: a real SQLite file in tmp_path, records as the mux
builds them, bounds from the settings, redaction, restart, figures."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from switchboard.activity import ActivityQuery, ActivityRecorder
from switchboard.core.activity import CANCELLED, ERROR, OK, TIMEOUT, ActivityRecord
from switchboard.core.spec import Settings


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def call(
    ts: float,
    *,
    server: str = "echo",
    client: str | None = "c1",
    tool: str = "echo",
    outcome: str = OK,
    code: int | None = None,
    arguments: dict[str, Any] | None = None,
    result: dict[str, Any] | None = None,
    duration: float = 0.002,
) -> ActivityRecord:
    request = orjson.dumps(
        {
            "jsonrpc": "2.0",
            "id": 7,
            "method": "tools/call",
            "params": {"name": tool, "arguments": arguments or {"text": "hi"}},
        }
    )
    response = orjson.dumps({"jsonrpc": "2.0", "id": 7, "result": result or {"content": []}})
    return (
        ts,
        duration,
        server,
        None,
        client,
        "person" if client else None,
        "session-1",
        "tools/call",
        tool,
        outcome,
        code,
        len(request),
        len(response),
        request,
        response,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(
    path: Path,
    clock: Clock,
    settings: Settings | None = None,
    opted_in: tuple[str, ...] = (),
    secrets: dict[str, list[str]] | None = None,
    names: Callable[[str], str | None] = lambda cid: f"name-of-{cid}",
) -> ActivityRecorder:
    current = settings or Settings()

    async def secret_values(server: str) -> list[str]:
        return (secrets or {}).get(server, [])

    return ActivityRecorder(
        path,
        settings=lambda: current,
        record_arguments=lambda server: server in opted_in,
        secrets_for=secret_values,
        client_name=names,
        clock=clock,
        flush_every=0.01,
    )


@pytest.fixture
async def recorder(tmp_path: Path, clock: Clock) -> AsyncIterator[ActivityRecorder]:
    rec = make(tmp_path / "activity.sqlite3", clock)
    await rec.start()
    yield rec
    await rec.aclose()


def read(rec: ActivityRecorder, q: ActivityQuery | None = None, limit: int = 10_000) -> list[Any]:
    db = rec.open_reader()
    try:
        return db.query(q or ActivityQuery(), limit=limit)
    finally:
        db.close()


async def test_records_are_written_with_the_client_name_and_no_arguments(
    recorder: ActivityRecorder, clock: Clock
) -> None:
    recorder.record(call(clock.now, arguments={"text": "personal"}))
    recorder.record(call(clock.now + 1, client=None, tool="other", outcome=ERROR, code=-32601))
    await recorder.flush()
    newest, oldest = read(recorder)
    assert (oldest.client_id, oldest.client_name, oldest.subject) == ("c1", "name-of-c1", "person")
    assert (oldest.target, oldest.outcome, oldest.code) == ("echo", OK, None)
    assert oldest.duration_ms == pytest.approx(2.0)
    assert oldest.request_size > 0 and oldest.response_size > 0
    # Not opted in: neither arguments nor results are kept.
    assert oldest.arguments is None and oldest.result is None
    assert (newest.client, newest.target, newest.outcome, newest.code) == (
        "-",
        "other",
        ERROR,
        -32601,
    )
    assert newest.id > oldest.id


async def test_filters(recorder: ActivityRecorder, clock: Clock) -> None:
    recorder.record(call(clock.now, client="a", tool="search"))
    recorder.record(call(clock.now + 1, client="b", tool="fetch", outcome=TIMEOUT, code=-32001))
    recorder.record(call(clock.now + 2, server="other", client="a", tool="search_all"))
    recorder.record(call(clock.now + 3, client="a", outcome=CANCELLED))
    await recorder.flush()
    assert len(read(recorder, ActivityQuery(client="a"))) == 3
    assert len(read(recorder, ActivityQuery(client="name-of-b"))) == 1
    assert len(read(recorder, ActivityQuery(server="other"))) == 1
    assert [e.target for e in read(recorder, ActivityQuery(target="search"))] == [
        "search_all",
        "search",
    ]
    assert [e.outcome for e in read(recorder, ActivityQuery(outcome=TIMEOUT))] == [TIMEOUT]
    assert len(read(recorder, ActivityQuery(since=clock.now + 2))) == 2
    db = recorder.open_reader()
    try:
        assert db.count(ActivityQuery(client="a", server="echo")) == 2
        first = db.query(ActivityQuery(), limit=1)[0]
        assert db.query(ActivityQuery(after_id=first.id - 2), limit=5)[0].id == first.id - 1
    finally:
        db.close()


async def test_rows_bound(tmp_path: Path, clock: Clock) -> None:
    rec = make(tmp_path / "a.sqlite3", clock, Settings(activity_max_rows=100))
    await rec.start()
    try:
        for i in range(250):
            rec.record(call(clock.now + i, tool=f"t{i}"))
        await rec.flush()
        await rec.prune()
        entries = read(rec)
        assert len(entries) == 100
        assert entries[0].target == "t249" and entries[-1].target == "t150"
    finally:
        await rec.aclose()


async def test_age_bound_and_restart(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "a.sqlite3"
    rec = make(path, clock, Settings(activity_max_days=2))
    await rec.start()
    rec.record(call(clock.now - 3 * 86400, tool="old"))
    rec.record(call(clock.now - 86400, tool="yesterday"))
    rec.record(call(clock.now - 60, tool="now"))
    await rec.flush()
    assert len(read(rec)) == 3
    await rec.aclose()
    # A restart keeps them, applies the age bound, and primes the figures of the last hour.
    again = make(path, clock, Settings(activity_max_days=2))
    await again.start()
    try:
        assert [e.target for e in read(again)] == ["now", "yesterday"]
        figures = again.server_figures()["echo"]
        assert figures.calls == 1
        again.record(call(clock.now, tool="after"))
        await again.flush()
        assert read(again)[0].target == "after"
    finally:
        await again.aclose()


async def test_opted_in_arguments_are_kept_redacted(tmp_path: Path, clock: Clock) -> None:
    secret = "s3cr3t-value-of-the-server"
    rec = make(tmp_path / "a.sqlite3", clock, opted_in=("echo",), secrets={"echo": [secret, "ab"]})
    await rec.start()
    try:
        jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJwZXJzb24ifQ.c2lnbmF0dXJl"
        rec.record(
            call(
                clock.now,
                arguments={
                    "text": f"use {secret} please",
                    "header": "Authorization: Bearer abc.DEF-123_xyz",
                    "nested": [{"password": "hunter22", "note": jwt}],
                    "ab": "abc",
                    "github_token": "plain-looking",
                    "X-Api-Key": "k",
                    "max_tokens": 100,
                    "author": "Ada",
                },
                result={"content": [{"type": "text", "text": f"echo {secret}"}]},
            )
        )
        rec.record(call(clock.now, server="other", arguments={"text": "personal"}))
        await rec.flush()
        other, echo = read(rec)
        assert other.arguments is None and other.result is None
        assert echo.arguments is not None and echo.result is not None
        for stored in (echo.arguments, echo.result):
            assert secret not in stored
        args = json.loads(echo.arguments)
        assert args["text"] == "use [redacted] please"
        assert args["header"] == "Authorization: Bearer [redacted]"
        assert args["nested"] == [{"password": "[redacted]", "note": "[redacted]"}]
        assert args["ab"] == "abc"  # too short to be searched for: ordinary text stays
        assert args["github_token"] == args["X-Api-Key"] == "[redacted]"
        assert (args["max_tokens"], args["author"]) == (100, "Ada")  # not credentials
        assert json.loads(echo.result)["content"][0]["text"] == "echo [redacted]"
    finally:
        await rec.aclose()


async def test_unreadable_secrets_keep_nothing(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(server: str) -> list[str]:
        raise RuntimeError("keyring locked")

    rec = ActivityRecorder(
        tmp_path / "a.sqlite3",
        settings=Settings,
        record_arguments=lambda server: True,
        secrets_for=broken,
        clock=clock,
        flush_every=0.01,
    )
    await rec.start()
    try:
        with caplog.at_level(logging.WARNING, "switchboard.activity"):
            rec.record(call(clock.now, arguments={"text": "maybe a secret"}))
            await rec.flush()
        (entry,) = read(rec)
        assert entry.arguments is not None and "maybe a secret" not in entry.arguments
        assert "not kept" in entry.arguments
        assert "secrets could not be read" in caplog.text
    finally:
        await rec.aclose()


async def test_figures(recorder: ActivityRecorder, clock: Clock) -> None:
    for i in range(9):
        recorder.record(call(clock.now - 30, duration=0.010 if i < 5 else 0.100))
    recorder.record(call(clock.now - 90, outcome=ERROR, code=-32603, duration=0.5))
    recorder.record(call(clock.now - 4000))  # over an hour ago: not counted
    await recorder.flush()
    f = recorder.server_figures()["echo"]
    assert f.calls == 10 and f.errors == 1
    assert f.error_rate == pytest.approx(0.1)
    assert f.p50_ms is not None and 9 <= f.p50_ms <= 11.5
    assert len(f.per_minute) == 60 and sum(f.per_minute) == 10
    assert sum(f.per_minute[-3:]) == 10  # the last three minutes


async def test_listeners_hear_the_newest_id(recorder: ActivityRecorder, clock: Clock) -> None:
    heard: list[int] = []
    unsubscribe = recorder.subscribe(heard.append)
    recorder.record(call(clock.now))
    await recorder.flush()
    for _ in range(100):
        if heard:
            break
        await __import__("asyncio").sleep(0.01)
    assert heard and heard[-1] == read(recorder)[0].id
    unsubscribe()


async def test_an_unusable_database_is_logged_and_records_are_dropped(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    rec = make(blocker / "activity.sqlite3", clock)
    with caplog.at_level(logging.ERROR, "switchboard.activity"):
        await rec.start()
    assert "activity is not recorded" in caplog.text
    rec.record(call(clock.now))  # never raises, keeps nothing
    await rec.flush()
    await rec.aclose()


async def test_big_batches_are_written_whole_with_names_and_milliseconds(
    recorder: ActivityRecorder, clock: Clock
) -> None:
    n = 1234  # one transaction
    for i in range(n):
        recorder.record(call(clock.now + i, tool=f"t{i}", client=f"c{i % 3}", duration=0.004))
    await recorder.flush()
    entries = read(recorder)
    assert [e.target for e in entries] == [f"t{i}" for i in reversed(range(n))]
    assert all(e.client_name == f"name-of-{e.client_id}" for e in entries)
    assert all(e.duration_ms == pytest.approx(4.0) for e in entries)
    assert all(e.arguments is None and e.result is None for e in entries)
