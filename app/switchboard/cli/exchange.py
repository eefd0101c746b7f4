"""``switchboard export [FILE] [NAME...]`` and ``switchboard import FILE``: servers to
and from a portable file (secrets only as references; the format and the merge rules
are in :mod:`switchboard.store.import_export`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from switchboard.cli.common import SubParsers, control_client
from switchboard.cli.secrets import missing_secrets
from switchboard.core.errors import EngineNotRunning, StoreError, ValidationError
from switchboard.core.paths import AppPaths
from switchboard.store.config import ConfigStore
from switchboard.store.import_export import apply_import, export_servers, parse_export, plan_import


def add_parsers(sub: SubParsers) -> None:
    """``export`` and ``import``."""
    e = sub.add_parser("export", help="write the servers to a file (secrets only as references)")
    e.add_argument("file", nargs="?", default="-", help="file to write (default: stdout)")
    e.add_argument("names", nargs="*", metavar="NAME", help="only these servers")
    e.set_defaults(handler=_export)
    im = sub.add_parser(
        "import",
        help="add servers from an export file (never overwrites)",
        description="Add the servers of an export file. Invalid files import nothing; a "
        "server whose name exists with a different definition is reported, not overwritten.",
    )
    im.add_argument("file")
    im.add_argument("--dry-run", action="store_true", help="only show what would happen")
    im.set_defaults(handler=_import)


def _export(args: argparse.Namespace, paths: AppPaths) -> int:
    config = ConfigStore(paths.config_file).load()
    servers = [config.server(n) for n in args.names] if args.names else list(config.servers)
    text = export_servers(servers)
    if args.file == "-":
        sys.stdout.write(text)
        return 0
    target = Path(args.file)
    try:
        target.write_text(text, "utf-8")
    except OSError as exc:
        raise StoreError(
            f"Could not write {target}: {exc.strerror}.", hint="Pick another path."
        ) from exc
    print(f"Exported {len(servers)} server(s) to {target}.")
    return 0


def _import(args: argparse.Namespace, paths: AppPaths) -> int:
    source = Path(args.file)
    try:
        text = source.read_text("utf-8")
    except OSError as exc:
        raise ValidationError(
            f"Cannot read {source}: {exc.strerror}.", hint="Check the path."
        ) from exc
    specs = parse_export(text, str(source))
    store = ConfigStore(paths.config_file)
    report = plan_import(store.load(), specs)
    for line in report.lines():
        print(line)
    if args.dry_run:
        print("(dry run: nothing was changed)")
        return 0
    if report.added:
        try:
            client = control_client(paths)
        except EngineNotRunning:
            store.update(lambda c: apply_import(c, plan_import(c, specs)))
        else:
            try:
                for spec in report.added:
                    client.request("POST", "/servers", spec.to_dict())
            finally:
                client.close()
    print(
        f"Imported {len(report.added)} server(s); {len(report.unchanged)} unchanged, "
        f"{len(report.conflicts)} conflict(s)."
    )
    missing = missing_secrets(paths, list(report.secrets)) if report.secrets else []
    for name in missing:
        print(f"Secret {name!r} is not set yet: switchboard secret set {name}")
    return 1 if report.conflicts else 0
