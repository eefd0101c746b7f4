"""The activity recorder: the gateway's :class:`~switchboard.core.activity.ActivitySink`.

``record`` runs on the event loop for every finished request and only appends the
record to a queue. One writer thread takes what accumulated every
:data:`FLUSH_EVERY` seconds and writes it in one transaction (SQLite WAL, see
``store.py``): the client's registered name is looked up once per client (cached) into
a small table the readers join (never stored per row),
arguments and results are kept only for servers that opted in, with their secrets
redacted (``redact.py``); the per-server figures (``figures.py``) are updated; and the
bounds from the settings are applied every :data:`PRUNE_EVERY` seconds. Listeners
(the Activity page, ``switchboard activity -f``) hear the newest id after each write,
on the event loop.

Recording never fails a request: a database error is logged and the batch is dropped.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import operator
import threading
import time
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path
from typing import Any

from switchboard.activity.figures import FigureBook, Figures
from switchboard.activity.redact import Redactor, arguments_of, result_of
from switchboard.activity.store import ActivityDB
from switchboard.core.activity import ActivityRecord, RecordView
from switchboard.core.errors import SwitchboardError
from switchboard.core.spec import Settings

log = logging.getLogger("switchboard.activity")

_SERVER = operator.itemgetter(2)
_CLIENT = operator.itemgetter(4)

FLUSH_EVERY = 0.25
"""Seconds between writes (records wait at most this long in memory)."""
PRUNE_EVERY = 30.0
MAX_QUEUE = 200_000
"""Records waiting for the writer; past this (a stuck disk) new ones are dropped."""
CACHE_FOR = 60.0
"""Seconds a client name or a server's secret values are cached."""
NOT_KEPT = '"[not kept: the server\'s secrets could not be read to redact them]"'

Listener = Callable[[int], None]


class ActivityRecorder:
    """Records finished gateway requests in ``path`` (see the module docstring).

    - ``settings``: the current settings (bounds: ``activity_max_rows``/``_days``);
    - ``record_arguments(server)``: whether the server opted in to keeping arguments;
    - ``secrets_for(server)``: its secret values (awaited on the event loop);
    - ``client_name(client_id)``: the registered name of an OAuth client, or None.
    The three callables are called from the writer thread (the first two must only
    read immutable values).
    """

    def __init__(
        self,
        path: Path,
        *,
        settings: Callable[[], Settings],
        record_arguments: Callable[[str], bool] = lambda server: False,
        secrets_for: Callable[[str], Awaitable[Collection[str]]] | None = None,
        client_name: Callable[[str], str | None] = lambda client_id: None,
        clock: Callable[[], float] = time.time,
        flush_every: float = FLUSH_EVERY,
    ) -> None:
        self.path = path
        self._settings = settings
        self._record_arguments = record_arguments
        self._secrets_for = secrets_for
        self._client_name = client_name
        self._clock = clock
        self._flush_every = flush_every
        self._queue: collections.deque[ActivityRecord] = collections.deque()
        self.submitted = 0
        self.written = 0
        self.dropped = 0
        self.figures = FigureBook(clock)
        self._db: ActivityDB | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listeners: list[Listener] = []
        self._names: dict[str, tuple[float, str | None]] = {}
        self._redactors: dict[str, tuple[float, Redactor | None]] = {}
        self._last_prune = 0.0
        self.last_id = 0

    # -- the sink (event loop) ---------------------------------------------------------
    def record(self, record: ActivityRecord) -> None:
        if len(self._queue) < MAX_QUEUE:
            self._queue.append(record)
            self.submitted += 1
        else:
            self.dropped += 1

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Open the database (creating it), prime the figures, start the writer."""
        self._loop = asyncio.get_running_loop()
        try:
            self._db = await asyncio.to_thread(self._open)
        except SwitchboardError as exc:
            # The gateway works without it; say so once, keep nothing in memory.
            log.error("activity is not recorded: %s %s", exc.message, exc.hint or "")
            self._queue = collections.deque(maxlen=0)
            return
        self._thread = threading.Thread(target=self._run, name="activity-writer", daemon=True)
        self._thread.start()

    def _open(self) -> ActivityDB:
        db = ActivityDB(self.path)
        for ts, duration_ms, server, outcome in db.recent(self._clock() - 3600):
            self.figures.add(ts, duration_ms, server, outcome)
        self.last_id = db.last_id()
        self._prune(db)
        return db

    async def aclose(self) -> None:
        """Write what is queued, stop the writer, close the database."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        await asyncio.to_thread(thread.join, 30)
        self._thread = None
        if self._db is not None:
            self._db.close()
            self._db = None

    async def flush(self, timeout: float = 10.0) -> None:
        """Until everything recorded so far is written (tests, the CLI's one-shot)."""
        target = self.submitted
        deadline = time.monotonic() + timeout
        while self.written < target and self._thread is not None:
            if time.monotonic() > deadline:
                raise TimeoutError("activity records were not written in time")
            await asyncio.sleep(self._flush_every / 4)

    async def prune(self) -> None:
        """Apply the bounds now (the writer does it every :data:`PRUNE_EVERY` s)."""
        if self._db is not None:
            await asyncio.to_thread(self._prune, self._db)

    # -- readers ---------------------------------------------------------------------------
    def open_reader(self) -> ActivityDB:
        """A read-only connection of the caller's own (use it off the event loop)."""
        return ActivityDB(self.path, readonly=True)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """``listener(last_id)`` on the event loop after each write; returns unsubscribe."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def server_figures(self) -> dict[str, Figures]:
        return self.figures.snapshot()

    # -- the writer thread -----------------------------------------------------------------
    def _run(self) -> None:
        db = self._db
        assert db is not None
        while True:
            stopping = self._stop.wait(self._flush_every)
            try:
                self._write(db)
                if self._clock() - self._last_prune >= PRUNE_EVERY:
                    self._prune(db)
            except Exception:  # recording never stops: log, go on
                log.exception("activity: could not write records")
            if stopping and not self._queue:
                return

    def _write(self, db: ActivityDB) -> None:
        queue = self._queue
        batch = []
        while queue:
            batch.append(queue.popleft())
        if not batch:
            return
        # Per batch, not per record: who opted in, the clients' names (looked up again
        # after CACHE_FOR). The usual batch (nobody opted in) has no Python work per
        # record: the records go to SQLite as they are (store.INSERT_CHUNK).
        opted = {s: self._record_arguments(s) for s in set(map(_SERVER, batch))}
        client_ids = set(map(_CLIENT, batch))
        try:
            stale = [c for c in client_ids if c is not None and self._stale_name(c)]
            if stale:
                db.set_client_names([(c, self._name(c)) for c in stale])
            if any(opted.values()):
                names = {c: self._name(c) for c in client_ids}
                db.insert([self._row(r, opted[r[2]], names[r[4]]) for r in batch])
            else:
                db.insert_records(batch)
        except SwitchboardError as exc:
            log.error("activity: %d record(s) lost: %s", len(batch), exc.message)
            self.written += len(batch)
            return
        self.figures.add_many(batch)
        self.last_id = db.last_id()
        self.written += len(batch)
        if self._listeners and self._loop is not None:
            # A closed loop (RuntimeError): nobody listens any more.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._notify, self.last_id)

    def _notify(self, last_id: int) -> None:
        for listener in list(self._listeners):
            try:
                listener(last_id)
            except Exception:
                log.exception("activity listener failed")

    def _row(self, record: ActivityRecord, opted: bool, name: str | None) -> tuple[Any, ...]:
        r = RecordView._make(record)
        arguments = result = None
        if opted and r.request is not None:
            redactor = self._redactor(r.server)
            if redactor is None:
                arguments = result = NOT_KEPT
            else:
                arguments = redactor.document(arguments_of(r.request))
                if r.response is not None:
                    result = redactor.document(result_of(r.response))
        return (
            r.ts,
            max(r.duration, 0.0) * 1000,
            r.server,
            r.via,
            r.client_id,
            name,
            r.subject,
            r.session,
            r.method,
            r.target,
            r.outcome,
            r.code,
            r.request_size,
            r.response_size,
            arguments,
            result,
        )

    def _stale_name(self, client_id: str) -> bool:
        cached = self._names.get(client_id)
        return cached is None or time.monotonic() - cached[0] >= CACHE_FOR

    def _name(self, client_id: str | None) -> str | None:
        if client_id is None:
            return None
        now = time.monotonic()
        cached = self._names.get(client_id)
        if cached is not None and now - cached[0] < CACHE_FOR:
            return cached[1]
        try:
            name = self._client_name(client_id)
        except Exception:
            log.debug("activity: no name for client %s", client_id, exc_info=True)
            name = None
        self._names[client_id] = (now, name)
        return name

    def _redactor(self, server: str) -> Redactor | None:
        """The server's redactor, or None when its secrets cannot be read (then nothing
        of its arguments is kept: better lost than leaked)."""
        now = time.monotonic()
        cached = self._redactors.get(server)
        if cached is not None and now - cached[0] < CACHE_FOR:
            return cached[1]
        redactor: Redactor | None
        try:
            values: Collection[str] = ()
            if self._secrets_for is not None and self._loop is not None:
                fut = asyncio.run_coroutine_threadsafe(
                    _awaited(self._secrets_for(server)), self._loop
                )
                values = fut.result(timeout=10)
            redactor = Redactor(values)
        except (Exception, concurrent.futures.TimeoutError) as exc:
            log.warning(
                "activity: arguments of %s not kept: its secrets could not be read (%s)",
                server,
                type(exc).__name__,
            )
            redactor = None
        self._redactors[server] = (now, redactor)
        return redactor

    def _prune(self, db: ActivityDB) -> None:
        settings = self._settings()
        self._last_prune = now = self._clock()
        gone = db.prune(settings.activity_max_rows, now - settings.activity_max_days * 86400)
        if gone:
            log.debug("activity: pruned %d old record(s)", gone)


async def _awaited(value: Awaitable[Collection[str]]) -> Collection[str]:
    return await value


__all__ = ["ActivityRecorder"]
