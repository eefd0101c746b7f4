"""``switchboard signin NAME`` / ``signout NAME``: a remote server's upstream sign-in.

The engine runs the sign-in: it opens the person's browser at the provider and waits
for the redirect back on a loopback port; this command waits until it is done.
"""

from __future__ import annotations

import argparse
import datetime

from switchboard.cli.common import SubParsers, control_client
from switchboard.core.paths import AppPaths


def add_parsers(sub: SubParsers) -> None:
    """``signin``, ``signout``."""
    s = sub.add_parser(
        "signin",
        help="sign in to a remote server (opens your browser); --status shows the sign-in",
    )
    s.add_argument("name")
    s.add_argument("--status", action="store_true", help="only show the sign-in state")
    s.set_defaults(handler=_sign_in)
    o = sub.add_parser("signout", help="sign out of a remote server (forgets its tokens)")
    o.add_argument("name")
    o.set_defaults(handler=_sign_out)


def describe(status: dict[str, object]) -> str:
    """One line: signed in as / expires, needs sign-in, or API key headers."""
    name = status.get("server")
    if status.get("signed_in"):
        text = f"{name}: signed in"
        if status.get("account"):
            text += f" as {status['account']}"
        expires = status.get("expires_at")
        if isinstance(expires, int | float):
            when = datetime.datetime.fromtimestamp(expires).strftime("%Y-%m-%d %H:%M")
            renew = " (renewed automatically)" if status.get("refreshable") else ""
            text += f", token expires {when}{renew}"
    elif isinstance(headers := status.get("headers"), list) and headers:
        text = f"{name}: uses header(s) {', '.join(map(str, headers))} from the keyring"
    else:
        text = f"{name}: not signed in"
    if status.get("needs_sign_in"):
        text += f" - needs sign-in: 'switchboard signin {name}'"
    return text


def _sign_in(args: argparse.Namespace, paths: AppPaths) -> int:
    with control_client(paths) as client:
        if args.status:
            print(describe(client.request("GET", f"/servers/{args.name}/signin")))
            return 0
        print("Opening your browser to sign in; finish there.", flush=True)
        print(describe(client.request("POST", f"/servers/{args.name}/signin")))
    return 0


def _sign_out(args: argparse.Namespace, paths: AppPaths) -> int:
    with control_client(paths) as client:
        print(describe(client.request("POST", f"/servers/{args.name}/signout")))
    return 0
