"""``switchboard secret set | list | rm``: secrets in the OS keyring.

``set`` never takes the value on the command line (it would land in shell history
and ``ps``): it reads it from a hidden prompt, or from stdin when stdin is not a
terminal (``pass show x | switchboard secret set github.token``).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from switchboard.cli.common import SubParsers
from switchboard.core.errors import ConfigError, SecretError, ValidationError
from switchboard.core.paths import AppPaths
from switchboard.secrets.store import SecretStore, validate_secret_name
from switchboard.store.config import ConfigStore


def add_parsers(sub: SubParsers) -> None:
    """``secret set | list | rm``."""
    s = sub.add_parser(
        "secret",
        help="store, list or remove secrets in the OS keyring",
        description="Secrets live in the OS keyring; server specs refer to them by name "
        "(switchboard add NAME --secret ENV=SECRET_NAME -- CMD ...).",
    )
    verbs = s.add_subparsers(dest="secret_verb", metavar="VERB", required=True)
    st = verbs.add_parser(
        "set",
        help="store a secret (value from a hidden prompt, or stdin when piped)",
        description="Store a secret. The value is read from a hidden prompt, or from "
        "standard input when it is not a terminal; never from the command line.",
    )
    st.add_argument("name", help="secret name, e.g. github.token")
    verbs.add_parser("list", help="list secret names (never values)")
    rm = verbs.add_parser("rm", help="remove a secret from the keyring")
    rm.add_argument("name")
    s.set_defaults(handler=_secret)


def _references(paths: AppPaths) -> dict[str, list[str]]:
    """secret name -> ["server (ENV)", ...] from the config file."""
    try:
        config = ConfigStore(paths.config_file).load()
    except ConfigError:
        return {}
    refs: dict[str, list[str]] = {}
    for spec in config.servers:
        for env, secret in spec.secrets.items():
            refs.setdefault(secret, []).append(f"{spec.name} ({env})")
    return refs


def read_secret_value(name: str, stdin: Any = None) -> str:
    """The value for ``secret set``: hidden prompt on a terminal, else all of stdin."""
    stream = stdin if stdin is not None else sys.stdin
    if stream.isatty():
        value = getpass.getpass(f"Value for secret {name!r} (input hidden): ")
    else:
        value = stream.read()
        # One trailing newline comes from echo/pipes; anything else is part of the value.
        if value.endswith("\r\n"):
            value = value[:-2]
        elif value.endswith("\n"):
            value = value[:-1]
    if not value:
        raise ValidationError(
            f"No value was given for secret {name!r}.",
            hint="Type it at the prompt, or pipe it in: printf %s VALUE | switchboard secret set "
            f"{name}",
        )
    return value


def _secret(args: argparse.Namespace, paths: AppPaths) -> int:
    store = SecretStore.for_paths(paths)
    verb = args.secret_verb
    if verb == "set":
        validate_secret_name(args.name)
        store.check()
        value = read_secret_value(args.name)
        store.set(args.name, value)
        _audit(paths, "secret_set", args.name)
        print(f"Stored secret {args.name!r} in the keyring.")
        return 0
    refs = _references(paths)
    if verb == "list":
        names = sorted(set(store.names()) | set(refs))
        if not names:
            print("No secrets. Store one with 'switchboard secret set NAME'.")
            return 0
        problem = ""
        for name in names:
            try:
                state = "set" if not problem and store.has(name) else "NOT SET"
            except SecretError as exc:
                problem = str(exc)
            if problem:
                state = "?"
            used = ", ".join(refs.get(name, [])) or "-"
            print(f"{name:32} {state:8} used by: {used}")
        if problem:
            print(f"warning: could not check the values: {problem}", file=sys.stderr)
        return 0
    # rm
    removed = store.delete(args.name)
    if removed:
        _audit(paths, "secret_removed", args.name)
        print(f"Removed secret {args.name!r}.")
    else:
        print(f"No secret named {args.name!r} was in the keyring.")
    if args.name in refs:
        print(
            f"warning: still referenced by {', '.join(refs[args.name])}; "
            "those servers will not start until it is set again.",
            file=sys.stderr,
        )
    return 0 if removed else 1


def _audit(paths: AppPaths, event: str, name: str) -> None:
    """The audit log gets the secret's name, never its value (``docs/audit-log.md``)."""
    from switchboard.audit import AuditLog
    from switchboard.core.audit import CLI, SUCCESS

    AuditLog.for_paths(paths, sync=True).emit(event, actor=CLI, target=name, outcome=SUCCESS)


def missing_secrets(paths: AppPaths, names: list[str]) -> list[str]:
    """Those of ``names`` not in the keyring (all of them, with a warning, when the
    keyring cannot be read)."""
    store = SecretStore.for_paths(paths)
    try:
        return [n for n in names if not store.has(n)]
    except SecretError as exc:
        print(f"warning: {exc}", file=sys.stderr)
        return names
