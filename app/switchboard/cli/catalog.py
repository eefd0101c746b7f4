"""``switchboard catalog search | show | install | update | sync``: find MCP servers in the
bundled catalog and the official MCP registry (its ``/v0.1/servers`` API, see
:mod:`switchboard.catalog.registry`) and add them, showing the exact command first."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import shlex
import sys
import textwrap
from typing import TYPE_CHECKING

from switchboard.audit import offline_config_store
from switchboard.catalog.catalog import Catalog
from switchboard.catalog.model import CatalogEntry
from switchboard.catalog.plan import InstallPlan, plan_install
from switchboard.catalog.registry import DEFAULT_REGISTRY, RegistryClient
from switchboard.catalog.updates import find_updates, update_for, updated_spec
from switchboard.cli.common import SubParsers, control_client
from switchboard.cli.secrets import missing_secrets
from switchboard.core.errors import (
    EngineNotRunning,
    ServerNotFound,
    SwitchboardError,
    ValidationError,
)
from switchboard.core.paths import AppPaths
from switchboard.core.spec import ServerSpec
from switchboard.secrets.store import SecretStore
from switchboard.store.config import ConfigStore

if TYPE_CHECKING:
    from switchboard.control.client import ControlClient

REGISTRY_ENV = "SWITCHBOARD_REGISTRY"


def add_parsers(sub: SubParsers) -> None:
    """``catalog search | show | install | update | sync``."""
    c = sub.add_parser(
        "catalog",
        help="find and install MCP servers from the catalog",
        description="Browse the bundled catalog and the official MCP registry, and install "
        "servers from them. Installing shows the exact command first.",
    )
    c.add_argument(
        "--registry",
        metavar="URL",
        help=f"registry base URL (default: ${REGISTRY_ENV} or {DEFAULT_REGISTRY})",
    )
    verbs = c.add_subparsers(dest="catalog_verb", metavar="VERB", required=True)
    s = verbs.add_parser("search", help="search the catalog (offline; --online asks the registry)")
    s.add_argument("query", nargs="*", help="words to look for (nothing lists everything)")
    s.add_argument("--online", action="store_true", help="search the live registry")
    sh = verbs.add_parser("show", help="show one entry and the command it would run")
    sh.add_argument("entry", help="catalog name, short name or package")
    i = verbs.add_parser(
        "install",
        help="add a server from the catalog",
        description="Add a server from the catalog. Prints the exact command and asks before "
        "adding it (unless --yes). Secrets are stored in the keyring, never in files.",
    )
    i.add_argument("entry", help="catalog name, short name or package")
    i.add_argument("--name", help="server name (default: from the entry)")
    i.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    i.add_argument(
        "--arg", action="append", default=[], metavar="NAME=VALUE", help="package argument"
    )
    i.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="ENV[=SECRET]",
        help="take ENV from keyring secret SECRET (default name: SERVER.ENV)",
    )
    i.add_argument("--package", choices=["npm", "pypi", "oci"], help="which package to run")
    i.add_argument("--latest", action="store_true", help="run the newest version, not the pinned")
    i.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    i.add_argument("--start", action="store_true", help="start it right away")
    u = verbs.add_parser(
        "update",
        help="show servers whose package has a newer version, or update one",
        description="Without NAME: list the configured servers whose npm/PyPI package has a "
        "newer version in the catalog (run 'catalog sync' first for the registry's newest). "
        "With NAME: change that server's command to the newer version (it installs beside "
        "the old one at the next start; a running server restarts).",
    )
    u.add_argument("name", nargs="?", help="the server to update")
    u.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    sy = verbs.add_parser("sync", help="fetch the registry into the local cache")
    sy.add_argument("--full", action="store_true", help="fetch everything, not just changes")
    c.set_defaults(handler=_catalog)


def _registry(args: argparse.Namespace, paths: AppPaths) -> RegistryClient:
    base = args.registry or os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY
    return RegistryClient(paths.cache_dir, base_url=base)


def _row(entry: CatalogEntry) -> str:
    kinds = ",".join(sorted({p.registry_type for p in entry.packages})) or "remote"
    text = entry.description.replace("\n", " ")
    if len(text) > 70:
        text = text[:69] + "…"
    return f"{entry.handle:24} {kinds:9} {text}"


def _pairs(items: list[str], what: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValidationError(f"Invalid --{what} {item!r}.", hint=f"Use --{what} NAME=VALUE.")
        out.setdefault(key, []).append(value)
    return out


def _plan(args: argparse.Namespace, entry: CatalogEntry) -> InstallPlan:
    name = args.name or entry.handle
    secrets = {}
    for item in args.secret:
        env, _, ref = item.partition("=")
        secrets[env] = ref or f"{name}.{env}"
    return plan_install(
        entry,
        name=name,
        env={k: v[-1] for k, v in _pairs(args.env, "env").items()},
        args=_pairs(args.arg, "arg"),
        secrets=secrets,
        registry_type=args.package,
        latest=args.latest,
    )


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        raise ValidationError(
            "Confirmation is needed, but there is no terminal to ask on.",
            hint="Re-run with --yes after checking the command above.",
        )
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def _add_spec(paths: AppPaths, spec: ServerSpec, start: bool) -> None:
    try:
        client = control_client(paths)
    except EngineNotRunning:
        offline_config_store(paths).update(lambda c: c.with_server(spec))
        print(f"Added {spec.name}. (Switchboard is not running; it applies when it starts.)")
        return
    try:
        view = client.request("POST", "/servers", spec.to_dict())
        print(f"Added {spec.name}: {view['url']}")
        if start:
            status = client.request("POST", f"/servers/{spec.name}/start")["status"]
            print(f"{spec.name}: {status['state']}")
    finally:
        client.close()


def _configured(paths: AppPaths) -> tuple[list[ServerSpec], ControlClient | None]:
    """The configured servers (from the engine when it runs, else the config file)."""
    try:
        client = control_client(paths)
    except EngineNotRunning:
        return list(ConfigStore(paths.config_file).load().servers), None
    views = client.request("GET", "/servers")["servers"]
    return [ServerSpec.from_dict(v["spec"]) for v in views], client


def _update(args: argparse.Namespace, paths: AppPaths, catalog: Catalog) -> int:
    specs, client = _configured(paths)
    try:
        entries = catalog.entries()
        if not args.name:
            found = find_updates(specs, entries)
            for item in found:
                print(f"{item.describe()}  (switchboard catalog update {item.server})")
            if not found:
                print(
                    "Every server runs the newest version the catalog knows. "
                    "('switchboard catalog sync' fetches the registry's newest.)"
                )
            return 0
        spec = next((s for s in specs if s.name == args.name), None)
        if spec is None:
            raise ServerNotFound(args.name)
        update = update_for(spec, entries)
        if update is None:
            print(
                f"{spec.name} runs the newest version the catalog knows "
                "(or no catalog package). 'switchboard catalog sync' fetches the registry."
            )
            return 0
        new = updated_spec(spec, update)
        print(update.describe())
        print(f"  now: {shlex.join([spec.command, *spec.args])}")
        print(f"  new: {shlex.join([new.command, *new.args])}")
        if not args.yes and not _confirm("Update this server?"):
            print("Nothing was changed.")
            return 1
        if client is None:
            offline_config_store(paths).update(lambda c: c.with_server(new, replace=True))
            print(f"Updated {spec.name}. (Switchboard is not running; it applies when it starts.)")
        else:
            client.request("PUT", f"/servers/{spec.name}", new.to_dict())
            print(f"Updated {spec.name}; {update.newest} installs at its next start.")
        return 0
    finally:
        if client is not None:
            client.close()


def _catalog(args: argparse.Namespace, paths: AppPaths) -> int:
    registry = _registry(args, paths)
    catalog = Catalog(registry)
    verb = args.catalog_verb
    if verb == "sync":
        result = asyncio.run(registry.sync(full=args.full))
        kind = "changes since the last sync" if result.incremental else "full listing"
        print(f"Fetched {result.fetched} entries ({kind}); {result.total} in the cache.")
        return 0
    if verb == "update":
        return _update(args, paths, catalog)
    if verb == "search":
        query = " ".join(args.query)
        found = asyncio.run(registry.search(query)) if args.online else catalog.search(query)
        if not found:
            print("Nothing found." + ("" if args.online else " Try --online for the registry."))
        for entry in found:
            print(_row(entry))
        return 0
    entry = catalog.get(args.entry)
    if verb == "show":
        print(f"{entry.display}  ({entry.name}, version {entry.version or '?'})")
        for line in textwrap.wrap(entry.description, 78):
            print(f"  {line}")
        if entry.repository:
            print(f"  source: {entry.repository}")
        for package in entry.packages:
            print(f"package {package.registry_type} {package.identifier} {package.version}")
            for var in package.environment_variables:
                flags = [
                    f for f, on in (("required", var.is_required), ("secret", var.is_secret)) if on
                ]
                extra = f" [{', '.join(flags)}]" if flags else ""
                default = f" (default {var.default})" if var.default else ""
                print(f"  env {var.name}{extra}{default}: {var.description}")
            for arg in package.package_arguments:
                label = arg.name or f"<{arg.key}>"
                print(f"  arg {label}{' [required]' if arg.is_required else ''}: {arg.description}")
            inputs = [
                v
                for a in (*package.runtime_arguments, *package.package_arguments)
                for v in a.variables.values()
            ] + [v for e in package.environment_variables for v in e.variables.values()]
            for var in inputs:
                # {name} placeholders in fixed values, given with --arg NAME=VALUE.
                kind = "secret" if var.is_secret else "--arg " + var.name + "=..."
                default = f" (default {var.default})" if var.default else ""
                print(f"  input {var.name} [{kind}]{default}: {var.description}".rstrip(": "))
        try:
            plan = plan_install(entry)
            print(f"would run: {plan.command_line}")
        except SwitchboardError as exc:
            print(f"to install: {exc}")
        return 0
    # install
    plan = _plan(args, entry)
    print(plan.describe())
    if not args.yes and not _confirm("Add this server?"):
        print("Nothing was added.")
        return 1
    _add_spec(paths, plan.spec, args.start and not plan.secrets)
    missing = missing_secrets(paths, [n.secret for n in plan.secrets])
    for need in plan.secrets:
        if need.secret not in missing:
            continue
        if not args.yes and sys.stdin.isatty():
            value = getpass.getpass(f"Value for {need.env} (secret {need.secret!r}, hidden): ")
            if value:
                SecretStore.for_paths(paths).set(need.secret, value)
                print(f"Stored secret {need.secret!r} in the keyring.")
                continue
        print(f"Set its secret before starting: switchboard secret set {need.secret}")
    if args.start and plan.secrets:
        print(f"Start it with: switchboard start {plan.spec.name}")
    return 0
