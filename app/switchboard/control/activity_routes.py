"""Control API routes of the activity log (issue 15.2), for ``switchboard activity``.

``GET /api/v1/activity`` lists recorded requests, newest last, filtered by ``server``
(or group), ``client`` (id or name), ``tool`` (a substring of the tool, prompt or
resource name), ``outcome`` and ``since`` (epoch seconds); ``n`` caps the count. With
``follow=1`` the answer is NDJSON that goes on with every new matching request as it is
written. ``GET /api/v1/activity/{id}`` is one record with its arguments and result
(when the server opted in). ``GET /api/v1/activity-figures`` is the servers table's
last-hour figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from switchboard.activity import ActivityEntry, ActivityQuery, ActivityRecorder
from switchboard.core.activity import OUTCOMES
from switchboard.core.errors import SwitchboardError, ValidationError

MAX_N = 10_000


def _query(request: Request) -> tuple[ActivityQuery, int]:
    params = request.query_params
    outcome = params.get("outcome") or None
    if outcome is not None and outcome not in OUTCOMES:
        raise ValidationError(
            f"Unknown outcome {outcome!r}.", hint=f"Use one of {', '.join(OUTCOMES)}."
        )
    try:
        n = max(0, min(int(params.get("n", "50")), MAX_N))
        since = float(params["since"]) if params.get("since") else None
    except ValueError:
        raise ValidationError("n and since must be numbers.", hint="Use ?n=100.") from None
    return (
        ActivityQuery(
            server=params.get("server") or None,
            client=params.get("client") or None,
            target=params.get("tool") or None,
            outcome=outcome,
            since=since,
        ),
        n,
    )


def _line(entry: ActivityEntry) -> bytes:
    data = entry.to_dict()
    del data["arguments"], data["result"]  # one line per call; details by id
    return (json.dumps(data) + "\n").encode()


def activity_routes(recorder: ActivityRecorder) -> list[Route]:
    """The routes (the engine adds its admin guard to each)."""

    def read(q: ActivityQuery, n: int) -> list[ActivityEntry]:
        """Oldest first: the newest ``n``, or the first ``n`` after ``q.after_id``."""
        db = recorder.open_reader()
        try:
            entries = db.query(q, limit=n, details=False)
        finally:
            db.close()
        return entries if q.after_id is not None else entries[::-1]

    def get(entry_id: int) -> ActivityEntry | None:
        """One record with its details (opened, read and closed off the event loop)."""
        db = recorder.open_reader()
        try:
            return db.get(entry_id)
        finally:
            db.close()

    async def listing(request: Request) -> Response:
        q, n = _query(request)
        # What was just done shows up (the writer waits at most FLUSH_EVERY); a stuck
        # writer does not hold the listing up.
        with contextlib.suppress(TimeoutError):
            await recorder.flush(timeout=1.0)
        entries = await asyncio.to_thread(read, q, n)
        if request.query_params.get("follow") != "1":
            return JSONResponse({"entries": [_trim(e) for e in entries]})
        return StreamingResponse(_follow(recorder, q, entries), media_type="application/x-ndjson")

    async def one(request: Request) -> Response:
        try:
            entry_id = int(request.path_params["id"])
        except ValueError:
            raise ValidationError(
                "The id must be a number.", hint="See 'switchboard activity'."
            ) from None
        entry = await asyncio.to_thread(get, entry_id)
        if entry is None:
            raise SwitchboardError(f"No activity record {entry_id}.", hint="It may be pruned.")
        return JSONResponse(entry.to_dict())

    async def figures(request: Request) -> Response:
        return JSONResponse(
            {
                name: {
                    "calls": f.calls,
                    "errors": f.errors,
                    "error_rate": f.error_rate,
                    "p50_ms": f.p50_ms,
                    "per_minute": list(f.per_minute),
                }
                for name, f in recorder.server_figures().items()
            }
        )

    async def _follow(
        recorder: ActivityRecorder, q: ActivityQuery, backlog: list[ActivityEntry]
    ) -> AsyncIterator[bytes]:
        wake = asyncio.Event()
        unsubscribe = recorder.subscribe(lambda last_id: wake.set())
        last = backlog[-1].id if backlog else recorder.last_id
        try:
            for entry in backlog:
                yield _line(entry)
            while True:
                try:
                    await asyncio.wait_for(wake.wait(), 15)
                except TimeoutError:
                    yield b"\n"  # keep-alive; also notices a client that went away
                    continue
                wake.clear()
                while True:
                    since_last = dataclasses.replace(q, after_id=last)
                    more = await asyncio.to_thread(read, since_last, 1000)
                    for entry in more:
                        yield _line(entry)
                    if more:
                        last = more[-1].id
                    if len(more) < 1000:
                        break
        finally:
            unsubscribe()

    return [
        Route("/activity", listing, methods=["GET"]),
        Route("/activity/{id}", one, methods=["GET"]),
        Route("/activity-figures", figures, methods=["GET"]),
    ]


def _trim(entry: ActivityEntry) -> dict[str, Any]:
    data = entry.to_dict()
    del data["arguments"], data["result"]
    return data
