"""Verbs of the embedded authorization server: ``switchboard consent list | approve |
deny`` (the person's decision on a pending authorization request: the consent step of
the OAuth 2.1 authorization code flow; a request without an RFC 8707 ``resource`` is
approved for the servers picked with ``--server``) and ``switchboard grants list |
revoke | forget`` (what clients were allowed; revoking a grant stops its tokens)."""

from __future__ import annotations

import argparse
import datetime
import json
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from switchboard.auth.consent import redirect_short, redirect_target
from switchboard.auth.targetkeys import GROUPS, key_of, label, labels
from switchboard.cli.common import Command, SubParsers, control_client
from switchboard.core.paths import AppPaths


def add_parsers(sub: SubParsers) -> None:
    """``consent`` and ``grants``."""
    c = sub.add_parser(
        "consent",
        help="list, approve or deny pending authorization requests",
        description="An MCP client that wants a token waits until you approve it here "
        "(or in the app).",
    )
    csub = c.add_subparsers(dest="consent_cmd", metavar="ACTION", required=True)
    csub.add_parser("list", help="list pending requests")
    ap = csub.add_parser("approve", help="approve a pending request")
    ap.add_argument("id")
    ap.add_argument(
        "--remember",
        action="store_true",
        help="keep this client connected for longer (its refresh token lasts 90 days "
        "after each use); a new authorization still asks you",
    )
    ap.add_argument(
        "--server",
        action="append",
        default=[],
        metavar="NAME",
        help="for a request that did not say which server it wants ('choose servers' in "
        "'consent list'): a server the client may use; repeat for more",
    )
    ap.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="NAME",
        help="like --server, for a group the client may use (its endpoint only, not its "
        "servers' own); repeat for more",
    )
    dn = csub.add_parser("deny", help="deny a pending request")
    dn.add_argument("id")
    c.set_defaults(handler=_on_engine(_consent_with))

    g = sub.add_parser("grants", help="list or revoke what clients were allowed")
    gsub = g.add_subparsers(dest="grants_cmd", metavar="ACTION", required=True)
    gl = gsub.add_parser("list", help="list active grants and remembered consents")
    gl.add_argument("--json", action="store_true", help="print JSON (every field)")
    rv = gsub.add_parser("revoke", help="revoke a grant (its tokens stop working)")
    rv.add_argument("id", help="grant id from 'switchboard grants list'")
    fg = gsub.add_parser("forget", help="forget a remembered consent")
    fg.add_argument("client_id")
    fg.add_argument("server")
    g.set_defaults(handler=_on_engine(_grants_with))


def _on_engine(run: Callable[[Any, argparse.Namespace], int]) -> Command:
    """A handler that runs ``run`` with a control-API client, closed afterwards."""

    def handler(args: argparse.Namespace, paths: AppPaths) -> int:
        client = control_client(paths)
        try:
            return run(client, args)
        finally:
            client.close()

    return handler


def _when(ts: float | None) -> str:
    if not ts:
        return "never"
    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Columns padded to their widest cell, two spaces apart; no trailing blanks."""
    widths = [max(len(str(r[i])) for r in (headers, *rows)) for i in range(len(headers))]
    return [
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (headers, *rows)
    ]


def _consent_with(client: Any, args: argparse.Namespace) -> int:
    if args.consent_cmd == "list":
        pending = client.request("GET", "/consent")["pending"]
        if not pending:
            print("No pending authorization requests.")
        for req in pending:
            target = redirect_target(req["redirect_uri"])
            again = "  (approved before)" if req.get("previously_approved") else ""
            groups = req.get("groups") or {}
            server = label(req["server"], groups) if req["server"] else "(choose servers)"
            print(
                f"{req['id']}  {req['client_name']} -> {server}  "
                f"scopes: {' '.join(req['scopes'])}{again}\n"
                f"    returns to {req['redirect_uri']} ({target.where})"
            )
            if not req["server"] and req.get("choices"):
                print(
                    "    it did not say which server it wants; approve with --server NAME "
                    "or --group NAME (repeat for more) from: "
                    f"{labels(req['choices'], groups)}"
                )
            if target.warning:
                print(f"    warning: {target.warning}")
        return 0
    verb = "approve" if args.consent_cmd == "approve" else "deny"
    body: dict[str, Any] = {"remember": bool(getattr(args, "remember", False))}
    servers = list(getattr(args, "server", None) or [])
    servers += [key_of(GROUPS, g) for g in getattr(args, "group", None) or []]
    if servers:
        body["servers"] = servers
    client.request("POST", f"/consent/{args.id}/{verb}", body)
    picked = f" for {labels(servers)}" if servers and verb == "approve" else ""
    print(f"{'Approved' if verb == 'approve' else 'Denied'} {args.id}{picked}.")
    return 0


GRANT_HEADERS = (
    "GRANT",
    "CLIENT",
    "CLIENT ID",
    "REDIRECT",
    "SERVER",
    "RESOURCE",
    "GRANTED",
    "LAST USED",
    "REMEMBERED",
)


def grant_rows(grants: Sequence[dict[str, Any]]) -> list[list[str]]:
    """One row per grant, in :data:`GRANT_HEADERS` order."""
    return [
        [
            str(g["id"]),
            str(g.get("client_name") or g["client_id"]),
            str(g["client_id"]),
            redirect_short(str(g.get("redirect_uri") or "")),
            labels(str(g["server"]).split()),
            ", ".join(urlsplit(r).path for r in str(g.get("resource") or "").split()) or "?",
            _when(g.get("created_at")),
            _when(g.get("last_used_at")),
            "yes" if g.get("remembered") else "no",
        ]
        for g in grants
    ]


def _grants_with(client: Any, args: argparse.Namespace) -> int:
    if args.grants_cmd == "list":
        data = client.request("GET", "/grants")
        if getattr(args, "json", False):
            print(json.dumps(data, indent=2, sort_keys=True))
            return 0
        if not data["grants"] and not data["consents"]:
            print("No grants.")
        if data["grants"]:
            for line in table(GRANT_HEADERS, grant_rows(data["grants"])):
                print(line)
        if data["consents"]:
            print("\nRemembered consents (a new authorization still asks you):")
            rows = [
                [str(c["client_name"]), str(c["client_id"]), str(c["server"]), str(c["scope"])]
                for c in data["consents"]
            ]
            for line in table(("CLIENT", "CLIENT ID", "SERVER", "SCOPE"), rows):
                print(f"  {line}")
        return 0
    if args.grants_cmd == "revoke":
        client.request("DELETE", f"/grants/{args.id}")
        print(f"Revoked grant {args.id}.")
        return 0
    client.request("DELETE", f"/consents/{args.client_id}/{args.server}")
    print(f"Forgot the remembered consent of {args.client_id} for {args.server}.")
    return 0
