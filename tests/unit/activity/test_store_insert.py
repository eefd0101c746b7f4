"""``ActivityDB.insert_records``: full chunks of records go in as one multi-row statement
each (few GIL hand-overs, see ``store.INSERT_CHUNK``), the rest one row each; every field
lands as the single-row statement stores it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from switchboard.activity.store import CHUNK, ActivityDB, ActivityQuery
from switchboard.core.activity import ERROR, OK, TIMEOUT, ActivityRecord
from switchboard.core.errors import StoreError


def record(i: int) -> ActivityRecord:
    outcome, code = [(OK, None), (ERROR, -32602), (TIMEOUT, -32001)][i % 3]
    return (
        1_800_000_000.0 + i / 7,
        -0.5 if i % 5 == 0 else i / 1000,  # a clock step back: 0 ms, never negative
        f"server-{i % 4}",
        "group" if i % 2 else None,
        f"client-{i % 3}" if i % 4 else None,
        "person" if i % 6 else None,
        f"session-{i}",
        "tools/call" if i % 7 else "resources/read",
        f"tool-{i}" if i % 9 else None,
        outcome,
        code,
        100 + i,
        200 + i,
        b"{}",
        b"{}",
    )


def expected(i: int) -> tuple[object, ...]:
    r = record(i)
    client = r[4]
    name = {"client-0": "Zero", "client-1": None, "client-2": "Two"}.get(client or "")
    return (r[0], max(r[1], 0.0) * 1000, r[2], r[3], client, name, *r[5:13], None, None)


@pytest.mark.parametrize("n", [1, CHUNK - 1, CHUNK, 2 * CHUNK + 3])
def test_every_field_is_stored_in_order(tmp_path: Path, n: int) -> None:
    db = ActivityDB(tmp_path / "activity.sqlite3")
    db.set_client_names([("client-0", "Zero"), ("client-1", None), ("client-2", "Two")])
    db.insert_records([record(i) for i in range(n)])
    rows = db.rows(ActivityQuery(), limit=10 * n)
    assert [row[1:] for row in reversed(rows)] == [expected(i) for i in range(n)]
    db.close()


def test_full_chunks_take_one_statement_each(tmp_path: Path) -> None:
    db = ActivityDB(tmp_path / "activity.sqlite3")
    statements: list[str] = []
    db._db.set_trace_callback(statements.append)
    db.insert_records([record(i) for i in range(2 * CHUNK + 3)])
    inserts = [s for s in statements if s.lstrip().startswith("INSERT INTO activity")]
    assert len(inserts) == 2 + 3
    db.close()


def test_a_failed_batch_is_rolled_back_whole(tmp_path: Path) -> None:
    db = ActivityDB(tmp_path / "activity.sqlite3")
    bad = list(record(CHUNK + 1))
    bad[6] = None  # session is NOT NULL: the last, single-row part fails

    with pytest.raises(StoreError, match="Could not write activity records"):
        db.insert_records([record(i) for i in range(CHUNK)] + [tuple(bad)])
    assert db.count(ActivityQuery()) == 0
    db.close()


def test_names_are_looked_up_when_read_and_follow_a_rename(tmp_path: Path) -> None:
    db = ActivityDB(tmp_path / "activity.sqlite3")
    db.set_client_names([("client-1", "Old name")])
    db.insert_records([record(1)])
    assert db.rows(ActivityQuery(client="Old name"))[0][6] == "Old name"
    db.set_client_names([("client-1", "New name")])
    (row,) = db.rows(ActivityQuery(client="New name"))
    assert row[6] == "New name"
    assert db.count(ActivityQuery(client="Old name")) == 0
    assert db.count(ActivityQuery(client="client-1")) == 1
    db.close()


def test_a_file_from_before_keeps_its_stored_names(tmp_path: Path) -> None:
    """An activity file written when each row stored its client's name (every row, no
    ``client_names`` entry needed) opens as it is: names shown, filters match, new rows
    go in beside the old ones."""
    path = tmp_path / "activity.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(OLD_SCHEMA)
    old.execute(
        "INSERT INTO activity (ts, duration_ms, server, client_id, client_name, session,"
        " method, target, outcome, request_size, response_size)"
        " VALUES (1.0, 2.0, 'echo', 'gone', 'Gone client', 's', 'tools/call', 'echo', 'ok',"
        " 1, 2)"
    )
    old.commit()
    old.close()
    db = ActivityDB(path)
    db.set_client_names([("client-1", "One")])
    db.insert_records([record(1)])
    entries = db.query(ActivityQuery())
    assert [(e.client_id, e.client_name) for e in entries] == [
        ("client-1", "One"),
        ("gone", "Gone client"),
    ]
    assert [e.client_id for e in db.query(ActivityQuery(client="Gone client"))] == ["gone"]
    db.close()


OLD_SCHEMA = """
CREATE TABLE activity (
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, duration_ms REAL NOT NULL,
    server TEXT NOT NULL, via TEXT, client_id TEXT, client_name TEXT, subject TEXT,
    session TEXT NOT NULL, method TEXT NOT NULL, target TEXT, outcome TEXT NOT NULL,
    code INTEGER, request_size INTEGER NOT NULL, response_size INTEGER NOT NULL,
    arguments TEXT, result TEXT
);
CREATE TABLE client_names (client_id TEXT PRIMARY KEY, name TEXT);
"""
