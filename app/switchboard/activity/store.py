"""The activity database: one SQLite table, written by the recorder's thread only.

WAL mode, so readers (the Activity page, ``switchboard activity``, the control API)
read while the writer writes. Bounded by rows and by age (``Settings.activity_max_rows``,
``activity_max_days``): :meth:`ActivityDB.prune` deletes the oldest rows past either
bound. Reads go through :class:`ActivityQuery` (filters) and return
:class:`ActivityEntry` values, newest first.
"""

from __future__ import annotations

import dataclasses
import operator
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

from switchboard.core.errors import StoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS activity (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    duration_ms REAL NOT NULL,
    server TEXT NOT NULL,
    via TEXT,
    client_id TEXT,
    client_name TEXT,
    subject TEXT,
    session TEXT NOT NULL,
    method TEXT NOT NULL,
    target TEXT,
    outcome TEXT NOT NULL,
    code INTEGER,
    request_size INTEGER NOT NULL,
    response_size INTEGER NOT NULL,
    arguments TEXT,
    result TEXT
);
CREATE TABLE IF NOT EXISTS client_names (client_id TEXT PRIMARY KEY, name TEXT);
"""
# No index but the rowid (newest first, keyset paging): every index costs each insert,
# on the write path of every request. Filters, the age bound (every 30 s) and the
# figures' start-up read scan: 100,000 rows take tens of ms, off the event loop and the
# GUI thread.

COLUMNS = (
    "ts",
    "duration_ms",
    "server",
    "via",
    "client_id",
    "client_name",
    "subject",
    "session",
    "method",
    "target",
    "outcome",
    "code",
    "request_size",
    "response_size",
    "arguments",
    "result",
)
# Built from the fixed column names above; values always go in as ``?`` parameters.
_NAMES = ", ".join(COLUMNS)
_MARKS = ", ".join("?" * len(COLUMNS))
INSERT = f"INSERT INTO activity ({_NAMES}) VALUES ({_MARKS})"  # noqa: S608
_NAME_NOW = (
    "coalesce((SELECT name FROM client_names WHERE client_names.client_id = activity.client_id),"
    " client_name)"
)
"""The client's name, looked up when read: rows written since the name moved out of the
insert have ``client_name`` NULL; rows from older files keep the name they were written
with, shown when ``client_names`` has none. Looking it up per insert cost ~1 us of the
writer's ~3.4 us per row (measured), read-time lookups only touch the rows shown."""
_SELECT = "SELECT id, " + _NAMES.replace("client_name", _NAME_NOW, 1) + " FROM activity"  # noqa: S608
_SUMMARY = _SELECT.replace("arguments, result", "NULL, NULL")
INSERT_RECORDS = f"""INSERT INTO activity ({_NAMES}) VALUES (
    ?1, max(?2, 0) * 1000, ?3, ?4, ?5, NULL, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, NULL, NULL
)"""  # noqa: S608
"""The first 13 fields of ``core.activity.ActivityRecord`` (:data:`RECORD_FIELDS`), with
no work per record in Python: the duration in ms is computed by SQLite, the client's
name is looked up when read (:data:`_NAME_NOW`); the raw request and response are not
bound."""
RECORD_FIELDS = operator.itemgetter(*range(13))

CHUNK = 64
"""Records per statement of :data:`INSERT_CHUNK` (64 x 13 = 832 parameters)."""


def _chunk_insert(rows: int) -> str:
    """:data:`INSERT_RECORDS` for ``rows`` records in one multi-row statement, their 13
    fields bound in order."""
    values = ",\n".join(
        f"(?{b + 1}, max(?{b + 2}, 0) * 1000, ?{b + 3}, ?{b + 4}, ?{b + 5}, NULL, "
        f"?{b + 6}, ?{b + 7}, ?{b + 8}, ?{b + 9}, ?{b + 10}, ?{b + 11}, ?{b + 12}, "
        f"?{b + 13}, NULL, NULL)"
        for b in range(0, 13 * rows, 13)
    )
    return f"INSERT INTO activity ({_NAMES}) VALUES {values}"  # noqa: S608 - only ?N


INSERT_CHUNK = _chunk_insert(CHUNK)
"""Why multi-row (measured, bench/README.md "Activity"): ``executemany`` steps SQLite once
per row, and ``sqlite3`` releases the GIL around every step, so the writer thread took
the GIL back from the busy event loop thousands of times a second (two thread switches
each; that, not the insert's own 4 us, was most of recording's cost). One statement per
:data:`CHUNK` records hands it over 64 times less often. The statement text is fixed,
so ``sqlite3``'s statement cache compiles it once per connection (a batch-sized
statement, compiled per batch, cost 1.8x the CPU per row)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ActivityEntry:
    """One stored request (newest first in every listing)."""

    id: int
    ts: float
    duration_ms: float
    server: str
    via: str | None
    client_id: str | None
    client_name: str | None
    subject: str | None
    session: str
    method: str
    target: str | None
    outcome: str
    code: int | None
    request_size: int
    response_size: int
    arguments: str | None
    result: str | None

    @property
    def client(self) -> str:
        """How a person knows the caller: its registered name, else its id, else '-'."""
        return self.client_name or self.client_id or "-"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, slots=True)
class ActivityQuery:
    """Filters; every one given must match. ``client`` matches the id or the name;
    ``target`` is a substring of the tool/prompt/resource name."""

    server: str | None = None
    client: str | None = None
    target: str | None = None
    outcome: str | None = None
    since: float | None = None
    until: float | None = None
    after_id: int | None = None
    before_id: int | None = None
    """Keyset paging: only entries older than this id (the next page of a listing)."""

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if self.server:
            clauses.append("(server = ? OR via = ?)")
            args += [self.server, self.server]
        if self.client:
            clauses.append(
                "(client_id = ? OR client_name = ?"
                " OR client_id IN (SELECT client_id FROM client_names WHERE name = ?))"
            )
            args += [self.client, self.client, self.client]
        if self.target:
            clauses.append("instr(target, ?) > 0")
            args.append(self.target)
        if self.outcome:
            clauses.append("outcome = ?")
            args.append(self.outcome)
        if self.since is not None:
            clauses.append("ts >= ?")
            args.append(self.since)
        if self.until is not None:
            clauses.append("ts < ?")
            args.append(self.until)
        if self.after_id is not None:
            clauses.append("id > ?")
            args.append(self.after_id)
        if self.before_id is not None:
            clauses.append("id < ?")
            args.append(self.before_id)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


class ActivityDB:
    """One connection to the activity database (thread-safe: one lock)."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            if readonly:
                db = sqlite3.connect(
                    f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
                )
            else:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
                path.chmod(0o600)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                # The writer's page cache holds both ends of the table (new rows at one,
                # pruned ones at the other): measured ~20% less CPU per row than 2 MB.
                db.execute("PRAGMA cache_size=-16000")
                db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(
                f"Cannot open the activity database {path}: {exc}.",
                hint="Check that the data directory is writable; delete the file to start over.",
            ) from exc
        self._db = db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _run(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(
                    f"The activity database failed: {exc}.", hint="See the log."
                ) from exc

    # -- writing (the recorder's thread) ------------------------------------------------
    def insert(self, rows: Iterable[Sequence[Any]], sql: str = INSERT) -> None:
        """Rows in :data:`COLUMNS` order, in one transaction."""
        with self._lock:
            try:
                self._db.execute("BEGIN")
                self._db.executemany(sql, rows)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StoreError(
                    f"Could not write activity records: {exc}.", hint="See the log."
                ) from exc

    def insert_records(self, records: Sequence[Sequence[Any]]) -> None:
        """A batch with no arguments or results kept: :data:`INSERT_CHUNK` for each full
        :data:`CHUNK` of records, :data:`INSERT_RECORDS` for the rest, one transaction."""
        full = len(records) - len(records) % CHUNK
        chunks = (
            list(chain.from_iterable(map(RECORD_FIELDS, records[i : i + CHUNK])))
            for i in range(0, full, CHUNK)
        )
        rest = map(RECORD_FIELDS, records[full:])
        with self._lock:
            try:
                self._db.execute("BEGIN")
                self._db.executemany(INSERT_CHUNK, chunks)
                self._db.executemany(INSERT_RECORDS, rest)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StoreError(
                    f"Could not write activity records: {exc}.", hint="See the log."
                ) from exc

    def set_client_names(self, names: Iterable[tuple[str, str | None]]) -> None:
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO client_names VALUES (?, ?)", names)

    def prune(self, max_rows: int, oldest: float) -> int:
        """Delete rows older than ``oldest`` and all but the newest ``max_rows``."""
        with self._lock:
            before = self._db.total_changes
            self._db.execute("DELETE FROM activity WHERE ts < ?", (oldest,))
            top = self._db.execute("SELECT max(id) FROM activity").fetchone()[0]
            if top is not None:
                self._db.execute("DELETE FROM activity WHERE id <= ?", (top - max_rows,))
            return self._db.total_changes - before

    # -- reading --------------------------------------------------------------------------
    def query(
        self, q: ActivityQuery, limit: int = 200, offset: int = 0, *, details: bool = True
    ) -> list[ActivityEntry]:
        """Matching entries, newest first (or oldest first after ``q.after_id``:
        a follower reads what came since, in order). ``details=False`` leaves out
        arguments and results (listings; :meth:`get` has them)."""
        rows = self.rows(q, limit, offset, details=details)
        return [ActivityEntry(*row) for row in rows]

    def rows(
        self, q: ActivityQuery, limit: int = 200, offset: int = 0, *, details: bool = True
    ) -> list[tuple[Any, ...]]:
        """:meth:`query` as plain tuples (``ActivityEntry`` field order): a long listing
        kept as tuples of atoms costs the cyclic GC nothing (CPython untracks them)."""
        where, args = q.where()
        order = "ASC" if q.after_id is not None else "DESC"
        select = _SELECT if details else _SUMMARY
        return self._run(
            f"{select}{where} ORDER BY id {order} LIMIT ? OFFSET ?", [*args, limit, offset]
        )

    def count(self, q: ActivityQuery) -> int:
        where, args = q.where()
        sql = f"SELECT count(*) FROM activity{where}"  # noqa: S608 - fixed clauses, ? values
        return int(self._run(sql, args)[0][0])

    def get(self, entry_id: int) -> ActivityEntry | None:
        rows = self._run(f"{_SELECT} WHERE id = ?", (entry_id,))
        return ActivityEntry(*rows[0]) if rows else None

    def last_id(self) -> int:
        return int(self._run("SELECT coalesce(max(id), 0) FROM activity")[0][0])

    def recent(self, since: float) -> list[tuple[float, float, str, str]]:
        """(ts, duration_ms, server, outcome) since ``since`` (to prime the figures)."""
        return [
            (float(r[0]), float(r[1]), str(r[2]), str(r[3]))
            for r in self._run(
                "SELECT ts, duration_ms, server, outcome FROM activity WHERE ts >= ?", (since,)
            )
        ]
