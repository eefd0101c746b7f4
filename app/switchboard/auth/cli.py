"""CLI verbs of the auth area: ``switchboard consent ...`` and ``switchboard grants ...``."""

from __future__ import annotations

import argparse
import datetime
from typing import Any

from switchboard.cli import _EXTRA_PARSERS, command
from switchboard.core.paths import AppPaths


def _add_parsers(sub: Any) -> None:
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
        "--remember", action="store_true", help="do not ask again for this client and server"
    )
    dn = csub.add_parser("deny", help="deny a pending request")
    dn.add_argument("id")

    g = sub.add_parser("grants", help="list or revoke what clients were allowed")
    gsub = g.add_subparsers(dest="grants_cmd", metavar="ACTION", required=True)
    gsub.add_parser("list", help="list active grants and remembered consents")
    rv = gsub.add_parser("revoke", help="revoke a grant (its tokens stop working)")
    rv.add_argument("id", help="grant id from 'switchboard grants list'")
    fg = gsub.add_parser("forget", help="forget a remembered consent")
    fg.add_argument("client_id")
    fg.add_argument("server")


_EXTRA_PARSERS.append(_add_parsers)


def _client(paths: AppPaths) -> Any:
    from switchboard.control.client import ControlClient

    return ControlClient.connect(paths)


def _when(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


@command("consent")
def _consent(args: argparse.Namespace, paths: AppPaths) -> int:
    client = _client(paths)
    try:
        return _consent_with(client, args)
    finally:
        client.close()


def _consent_with(client: Any, args: argparse.Namespace) -> int:
    if args.consent_cmd == "list":
        pending = client.request("GET", "/consent")["pending"]
        if not pending:
            print("No pending authorization requests.")
        for req in pending:
            print(
                f"{req['id']}  {req['client_name']} ({req['redirect_host']}) -> "
                f"{req['server']}  scopes: {' '.join(req['scopes'])}"
            )
        return 0
    verb = "approve" if args.consent_cmd == "approve" else "deny"
    body = {"remember": bool(getattr(args, "remember", False))}
    client.request("POST", f"/consent/{args.id}/{verb}", body)
    print(f"{'Approved' if verb == 'approve' else 'Denied'} {args.id}.")
    return 0


@command("grants")
def _grants(args: argparse.Namespace, paths: AppPaths) -> int:
    client = _client(paths)
    try:
        return _grants_with(client, args)
    finally:
        client.close()


def _grants_with(client: Any, args: argparse.Namespace) -> int:
    if args.grants_cmd == "list":
        data = client.request("GET", "/grants")
        if not data["grants"] and not data["consents"]:
            print("No grants.")
        for g in data["grants"]:
            print(
                f"{g['id']}  {g['client_name']} -> {g['server']}  scope: {g['scope']}  "
                f"since {_when(g['created_at'])}"
            )
        if data["consents"]:
            print("Remembered consents:")
            for c in data["consents"]:
                print(f"  {c['client_id']}  {c['client_name']} -> {c['server']}  ({c['scope']})")
        return 0
    if args.grants_cmd == "revoke":
        client.request("DELETE", f"/grants/{args.id}")
        print(f"Revoked grant {args.id}.")
        return 0
    client.request("DELETE", f"/consents/{args.client_id}/{args.server}")
    print(f"Forgot the remembered consent of {args.client_id} for {args.server}.")
    return 0
