"""``switchboard export [FILE] [NAME...]`` and ``switchboard import FILE``: servers and
groups to and from a portable file (secrets only as references; the format and the merge rules
are in :mod:`switchboard.store.import_export`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from switchboard.cli.common import SubParsers, control_client
from switchboard.cli.secrets import missing_secrets
from switchboard.core.errors import EngineNotRunning, ServerNotFound, StoreError, ValidationError
from switchboard.core.group import GroupSpec
from switchboard.core.paths import AppPaths
from switchboard.core.spec import ServerSpec
from switchboard.store.config import Config, ConfigStore
from switchboard.store.import_export import (
    apply_import,
    export_servers,
    parse_export_file,
    plan_import,
)


def add_parsers(sub: SubParsers) -> None:
    """``export`` and ``import``."""
    e = sub.add_parser(
        "export", help="write the servers and groups to a file (secrets only as references)"
    )
    e.add_argument("file", nargs="?", default="-", help="file to write (default: stdout)")
    e.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="only these servers or groups (a group brings its configured members)",
    )
    e.set_defaults(handler=_export)
    im = sub.add_parser(
        "import",
        help="add servers and groups from an export file (never overwrites)",
        description="Add the servers and groups of an export file. Invalid files import "
        "nothing; a server or group whose name exists with a different definition is "
        "reported, not overwritten. A group's members that are not configured are kept "
        "(shown as missing).",
    )
    im.add_argument("file")
    im.add_argument("--dry-run", action="store_true", help="only show what would happen")
    im.set_defaults(handler=_import)


def _export(args: argparse.Namespace, paths: AppPaths) -> int:
    config = ConfigStore(paths.config_file).load()
    servers, groups = _selected(config, args.names)
    text = export_servers(servers, groups)
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
    print(f"Exported {len(servers)} server(s) and {len(groups)} group(s) to {target}.")
    return 0


def _selected(config: Config, names: list[str]) -> tuple[list[ServerSpec], list[GroupSpec]]:
    """Everything, or the named servers and groups (plus the configured members of the
    named groups), in config order."""
    if not names:
        return list(config.servers), list(config.groups)
    for name in names:
        if not config.has(name) and not config.has_group(name):
            if config.groups:
                raise ValidationError(
                    f"No server or group named {name!r}.",
                    hint="'switchboard list' and 'switchboard group list' show them.",
                )
            raise ServerNotFound(name)
    groups = [g for g in config.groups if g.name in names]
    wanted = set(names) | {m for g in groups for m in g.servers}
    return [s for s in config.servers if s.name in wanted], groups


def _import(args: argparse.Namespace, paths: AppPaths) -> int:
    source = Path(args.file)
    try:
        text = source.read_text("utf-8")
    except OSError as exc:
        raise ValidationError(
            f"Cannot read {source}: {exc.strerror}.", hint="Check the path."
        ) from exc
    exported = parse_export_file(text, str(source))
    specs, groups = exported.servers, exported.groups
    store = ConfigStore(paths.config_file)
    report = plan_import(store.load(), specs, groups)
    for line in report.lines():
        print(line)
    if args.dry_run:
        print("(dry run: nothing was changed)")
        return 0
    if report.added or report.added_groups:
        try:
            client = control_client(paths)
        except EngineNotRunning:
            store.update(lambda c: apply_import(c, plan_import(c, specs, groups)))
        else:
            try:
                for spec in report.added:
                    client.request("POST", "/servers", spec.to_dict())
                for group in report.added_groups:
                    client.request("POST", "/groups", group.to_dict())
            finally:
                client.close()
    print(
        f"Imported {len(report.added)} server(s) and {len(report.added_groups)} group(s); "
        f"{len(report.unchanged) + len(report.unchanged_groups)} unchanged, "
        f"{len(report.conflicts)} conflict(s)."
    )
    missing = missing_secrets(paths, list(report.secrets)) if report.secrets else []
    for name in missing:
        print(f"Secret {name!r} is not set yet: switchboard secret set {name}")
    return 1 if report.conflicts else 0
