"""``switchboard activity``: the requests that went through the gateway (issue 15.2).

Lists the newest requests (``-n``), filtered by server or group, client (id or name),
tool/prompt/resource name (substring), outcome and age; ``-f`` keeps printing new ones
as they happen (over the control socket); ``--show ID`` prints one request with its
arguments and result (kept only for servers with ``record_arguments``). With no engine
running, the list is read from the activity database itself.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import time
from typing import Any

from switchboard.cli.common import SubParsers, control_client
from switchboard.core.activity import OUTCOMES
from switchboard.core.errors import EngineNotRunning, ValidationError
from switchboard.core.paths import AppPaths

_AGE = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def add_parsers(sub: SubParsers) -> None:
    a = sub.add_parser("activity", help="show the requests that went through the gateway")
    a.add_argument("-f", "--follow", action="store_true", help="keep printing new requests")
    a.add_argument("-n", type=int, default=50, help="how many of the newest (default 50)")
    a.add_argument("--server", metavar="S", help="only this server (or group)")
    a.add_argument("--client", metavar="C", help="only this client (its id or name)")
    a.add_argument("--tool", metavar="T", help="tool, prompt or resource name containing T")
    a.add_argument("--outcome", choices=OUTCOMES, help="only this outcome")
    a.add_argument("--since", metavar="AGE", help="only the last AGE (e.g. 90s, 15m, 2h, 1d)")
    a.add_argument("--json", action="store_true", help="one JSON object per line")
    a.add_argument("--show", type=int, metavar="ID", help="one request, with its details")
    a.set_defaults(handler=run)


def _since(value: str | None) -> float | None:
    if not value:
        return None
    m = _AGE.match(value.strip())
    if not m:
        raise ValidationError(
            f"Cannot read the age {value!r}.", hint="Use a number with s, m, h or d: 15m, 2h."
        )
    return time.time() - float(m.group(1)) * _UNIT[m.group(2)]


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    params: dict[str, Any] = {
        "n": args.n,
        "server": args.server,
        "client": args.client,
        "tool": args.tool,
        "outcome": args.outcome,
        "since": _since(args.since),
    }
    params = {k: v for k, v in params.items() if v is not None}
    try:
        client = control_client(paths)
    except EngineNotRunning:
        if args.follow:
            raise
        return _offline(args, paths, params)
    try:
        if args.show is not None:
            _print_details(client.request("GET", f"/activity/{args.show}"))
        elif args.follow:
            for entry in client.stream_lines("/activity", follow="1", **params):
                _print(entry, args.json)
        else:
            for entry in client.request("GET", "/activity", **params)["entries"]:
                _print(entry, args.json)
    finally:
        client.close()
    return 0


def _offline(args: argparse.Namespace, paths: AppPaths, params: dict[str, Any]) -> int:
    """No engine: read the database file (read-only)."""
    from switchboard.activity import ActivityDB, ActivityQuery

    if not paths.activity_db.exists():
        print("No activity recorded yet.")
        return 0
    db = ActivityDB(paths.activity_db, readonly=True)
    try:
        if args.show is not None:
            found = db.get(args.show)
            if found is None:
                raise ValidationError(f"No activity record {args.show}.", hint="It may be pruned.")
            _print_details(found.to_dict())
            return 0
        q = ActivityQuery(
            server=params.get("server"),
            client=params.get("client"),
            target=params.get("tool"),
            outcome=params.get("outcome"),
            since=params.get("since"),
        )
        for entry in reversed(db.query(q, limit=args.n)):
            _print(entry.to_dict(), args.json)
    finally:
        db.close()
    return 0


def _outcome(entry: dict[str, Any]) -> str:
    code = entry.get("code")
    return f"{entry['outcome']} {code}" if code is not None else str(entry["outcome"])


def _print(entry: dict[str, Any], as_json: bool) -> None:
    if as_json:
        entry = {k: v for k, v in entry.items() if k not in ("arguments", "result")}
        print(json.dumps(entry), flush=True)
        return
    stamp = datetime.datetime.fromtimestamp(entry["ts"]).strftime("%H:%M:%S")
    where = entry["server"] + (f" via {entry['via']}" if entry.get("via") else "")
    client = entry.get("client_name") or entry.get("client_id") or "-"
    what = entry["method"] + (f" {entry['target']}" if entry.get("target") else "")
    print(
        f"{entry['id']:>7} {stamp}  {where}  {client}  {what}  {_outcome(entry)}  "
        f"{entry['duration_ms']:.1f} ms  {entry['request_size']}/{entry['response_size']} B",
        flush=True,
    )


def _print_details(entry: dict[str, Any]) -> None:
    stamp = datetime.datetime.fromtimestamp(entry["ts"]).isoformat(timespec="milliseconds")
    rows = [
        ("id", entry["id"]),
        ("time", stamp),
        ("server", entry["server"]),
        ("via group", entry.get("via") or "-"),
        ("client", entry.get("client_name") or "-"),
        ("client id", entry.get("client_id") or "-"),
        ("subject", entry.get("subject") or "-"),
        ("session", entry["session"]),
        ("method", entry["method"]),
        ("target", entry.get("target") or "-"),
        ("outcome", _outcome(entry)),
        ("duration", f"{entry['duration_ms']:.2f} ms"),
        ("sizes", f"{entry['request_size']} B in, {entry['response_size']} B out"),
    ]
    for key, value in rows:
        print(f"{key:>10}: {value}")
    for key in ("arguments", "result"):
        value = entry.get(key)
        if value is None:
            print(f"{key:>10}: (not recorded; see the server's record_arguments setting)")
        else:
            print(f"{key:>10}: {value}")
