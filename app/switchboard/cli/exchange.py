"""``switchboard export [FILE] [NAME...]`` and ``switchboard import FILE``: servers and
groups to and from a portable file (secrets only as references; the format and the merge rules
are in :mod:`switchboard.store.import_export`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from switchboard.audit import offline_config_store
from switchboard.cli.common import SubParsers, control_client
from switchboard.cli.secrets import missing_secrets
from switchboard.cluster.files import servers_from_yaml, write
from switchboard.cluster.toolhive import (
    CRD_CHART_VERSION,
    PLACEHOLDER_CLIENT_ID,
    PLACEHOLDER_ISSUER,
    TeamAuth,
    build,
    needs_tool_lists,
    tool_names_from_listing,
)
from switchboard.core.errors import (
    EngineNotRunning,
    ServerNotFound,
    StoreError,
    SwitchboardError,
    ValidationError,
)
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
    e.add_argument(
        "--kubernetes",
        metavar="DIR",
        help="write ToolHive operator manifests for a team cluster into DIR instead "
        "(MCPServer, MCPGroup, VirtualMCPServer, MCPToolConfig, kustomization.yaml; "
        "secrets as references only)",
    )
    e.add_argument("--group", metavar="G", help="with --kubernetes: this group and its servers")
    e.add_argument("--namespace", default="default", help="with --kubernetes (default: default)")
    e.add_argument("--issuer", help="with --kubernetes: your identity provider's issuer URL")
    e.add_argument("--client-id", help="with --kubernetes: its client id for the cluster")
    e.add_argument("--audience", help="with --kubernetes: the audience tokens carry")
    e.set_defaults(handler=_export)
    im = sub.add_parser(
        "import",
        help="add servers and groups from an export file or ToolHive MCPServer YAML "
        "(never overwrites)",
        description="Add the servers and groups of an export file, or the servers of "
        "ToolHive MCPServer manifests (YAML). Invalid files import "
        "nothing; a server or group whose name exists with a different definition is "
        "reported, not overwritten. A group's members that are not configured are kept "
        "(shown as missing).",
    )
    im.add_argument("file")
    im.add_argument("--dry-run", action="store_true", help="only show what would happen")
    im.set_defaults(handler=_import)


def _export(args: argparse.Namespace, paths: AppPaths) -> int:
    config = ConfigStore(paths.config_file).load()
    if args.kubernetes:
        return _export_kubernetes(args, paths, config)
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


def _export_kubernetes(args: argparse.Namespace, paths: AppPaths, config: Config) -> int:
    names = list(args.names)
    if args.file != "-":
        names.insert(0, args.file)  # no FILE with --kubernetes: the first word is a name
    if args.group:
        if not config.has_group(args.group):
            raise ValidationError(
                f"No group named {args.group!r}.", hint="'switchboard group list' shows them."
            )
        names.append(args.group)
    servers, groups = _selected(config, names)
    auth = TeamAuth(
        issuer=args.issuer or PLACEHOLDER_ISSUER,
        client_id=args.client_id or PLACEHOLDER_CLIENT_ID,
        audience=args.audience or "",
    )
    manifests = build(
        servers,
        groups,
        namespace=args.namespace,
        auth=auth,
        tool_names=_live_tool_names(paths, groups),
    )
    target = Path(args.kubernetes)
    write(manifests, target)
    print(
        f"Wrote {len(manifests.documents())} object(s) for {len(servers) - len(manifests.skipped)} "
        f"server(s) and {len(groups)} group(s) to {target} (ToolHive operator "
        f"{CRD_CHART_VERSION}, namespace {args.namespace})."
    )
    for name, why in manifests.skipped:
        print(f"Not exported: {name}: {why}.")
    for note in manifests.notes:
        print(f"Note: {note}")
    if manifests.secrets:
        print(
            f"{len(manifests.secrets)} secret(s) to create in the cluster: see "
            f"{target / 'README.md'} (values are not in the files)."
        )
    if auth.is_placeholder and "oidc.yaml" in manifests.files:
        print(
            f"Fill in your identity provider in {target / 'oidc.yaml'} "
            "(or use --issuer/--client-id)."
        )
    print(f"Apply with: kubectl apply -k {target}")
    return 0


def _live_tool_names(paths: AppPaths, groups: list[GroupSpec]) -> dict[str, list[str]]:
    """Each member's tool names from the running servers (for tool filters), if the
    engine runs; members it cannot list are left out (build() then says what to do)."""
    wanted = needs_tool_lists(groups)
    if not wanted:
        return {}
    try:
        client = control_client(paths)
    except EngineNotRunning:
        return {}
    names: dict[str, list[str]] = {}
    try:
        for group in wanted:
            try:
                listing = client.request("GET", f"/groups/{group.name}/listing")
            except SwitchboardError:
                continue
            if isinstance(listing, dict):
                names.update(tool_names_from_listing(listing))
    finally:
        client.close()
    return names


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
    if source.suffix in (".yaml", ".yml") or "kind: MCPServer" in text:
        specs: Sequence[ServerSpec] = servers_from_yaml(text, str(source))
        groups: Sequence[GroupSpec] = ()
    else:
        exported = parse_export_file(text, str(source))
        specs, groups = exported.servers, exported.groups
    store = offline_config_store(paths)
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
