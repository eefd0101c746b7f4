"""The composition root: :func:`build_engine` builds every service from its seams.

ARCHITECTURE.md "Engine": the engine owns the store, the supervisor, the gateway, the
auth service and client sync, and runs their lifecycle. This module is the one place
that *constructs* them and decides what each one gets (an event bus, a clock, a
keyring, a spawner, ...). Production code calls ``build_engine(paths)``; tests and
tools pass their fakes here, never by patching attributes after construction.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from switchboard.activity import ActivityRecorder
from switchboard.audit import AuditedConfigStore, AuditLog, audit_states
from switchboard.auth.cimd import Resolver, system_resolver
from switchboard.auth.consent import ConsentBroker
from switchboard.auth.keys import KeyStorage
from switchboard.auth.service import AuthService
from switchboard.clients.manager import ClientManager
from switchboard.clients.sync import ClientSync
from switchboard.core.activity import ActivitySink
from switchboard.core.audit import AuditSink
from switchboard.core.events import EventBus
from switchboard.core.paths import AppPaths
from switchboard.core.spec import ServerSpec
from switchboard.core.telemetry import FanOut
from switchboard.engine import Engine
from switchboard.gateway import Gateway
from switchboard.homelock import HomeLock
from switchboard.inspector.service import Inspector
from switchboard.packages import PackageResolver
from switchboard.remote.oauth import Browser, system_browser
from switchboard.remote.service import RemoteService
from switchboard.secrets import SecretStore, keyring_resolver
from switchboard.store.config import ConfigStore
from switchboard.supervisor.environment import login_shell_path
from switchboard.supervisor.spawning import CommandResolver, SecretResolver, Spawner, spawn_process
from switchboard.supervisor.supervisor import Supervisor
from switchboard.telemetry import Telemetry


def build_engine(
    paths: AppPaths,
    *,
    port: int | None = None,
    restore_servers: bool = True,
    config_store: ConfigStore | None = None,
    spawner: Spawner = spawn_process,
    secrets_resolver: SecretResolver | None = None,
    path_resolver: Callable[[], str] = login_shell_path,
    stop_grace: float = 5.0,
    keyring: Any = None,
    secret_store: Any = None,
    key_storage: KeyStorage | None = None,
    consent: ConsentBroker | None = None,
    client_manager: ClientManager | None = None,
    clock: Callable[[], float] = time.time,
    http_transport: httpx.AsyncBaseTransport | None = None,
    cimd_resolver: Resolver = system_resolver,
    audit: AuditSink | None = None,
    browser: Browser = system_browser,
    remote_transport: httpx.AsyncBaseTransport | None = None,
    resolve_packages: bool = True,
    command_resolver: CommandResolver | None = None,
    record_activity: bool = True,
) -> Engine:
    """An :class:`Engine` for the home ``paths``, not started yet.

    - ``port``: overrides ``settings.port`` (0: any free port); ``restore_servers``:
      start the servers that ran last time.
    - ``config_store``: where the config lives (default ``paths.config_file``).
    - ``spawner``, ``path_resolver``, ``stop_grace``: how the supervisor starts and stops
      server processes.
    - ``keyring``: the keyring backend every default :class:`SecretStore` uses (default:
      the OS keyring, looked up on first use). ``secret_store``: the store for the token
      signing keys and the first-party client's secret (default
      ``SecretStore(backend=keyring)``). ``secrets_resolver``: resolves the secrets a
      server's environment names (default: the OS keyring, or ``keyring`` when given).
    - ``key_storage``: where the signing keys live, bypassing the keyring (tests).
    - ``consent``: the consent broker the front ends answer; ``client_manager``: the MCP
      client configs client sync keeps up to date (default: the real user's).
    - ``clock``: wall-clock seconds for the auth service (tokens, keys, grants).
    - ``http_transport``: the HTTP transport for outgoing requests (external issuers'
      JWKS, client metadata documents, pass-through servers); ``cimd_resolver``: resolves
      a client metadata document's host before it is fetched (RFC 9700 §4.8 SSRF check).
    - ``audit``: where security-relevant events go (default: the audit log in
      ``paths.log_dir``, ``switchboard/audit``).
    - ``browser``: opens a remote server's sign-in page (tests: a scripted browser);
      ``remote_transport``: the HTTP transport to remote servers and their providers
      (default ``http_transport``). Their tokens live in ``keyring`` only.
    - ``resolve_packages``: run npx/uvx/pipx-run servers as their package's own program,
      installed once per version under ``paths.cache_dir/packages`` (issue 16.1);
      ``command_resolver`` replaces that resolver (tests).
    - ``record_activity``: record every gateway request in ``paths.activity_db``.
    """
    events = EventBus()
    audit = audit if audit is not None else AuditLog.for_paths(paths)
    audit_states(audit, events)
    if secrets_resolver is None:
        secrets_resolver = (
            keyring_resolver if keyring is None else SecretStore(backend=keyring).resolve
        )
    remote = RemoteService(
        SecretStore(backend=keyring),
        secrets_resolver,
        browser=browser,
        http_transport=remote_transport or http_transport,
        clock=clock,
    )
    supervisor = Supervisor(
        events,
        paths,
        remote_factory=remote.factory,
        spawner=spawner,
        secrets=secrets_resolver,
        path_resolver=path_resolver,
        stop_grace=stop_grace,
        resolver=command_resolver
        or (PackageResolver(paths.cache_dir / "packages") if resolve_packages else None),
    )
    engine = Engine(
        paths,
        events=events,
        store=AuditedConfigStore(config_store or ConfigStore(paths.config_file), audit),
        supervisor=supervisor,
        home_lock=HomeLock(paths.lock_file),
        port=port,
        restore_servers=restore_servers,
    )
    auth = AuthService(
        paths,
        issuer=lambda: engine.base_url,
        servers=lambda: engine.config.servers,
        groups=lambda: engine.config.groups,
        settings=lambda: engine.config.settings,
        events=events,
        secret_store=secret_store if secret_store is not None else SecretStore(backend=keyring),
        key_storage=key_storage,
        broker=consent,
        http_transport=http_transport,
        cimd_resolver=cimd_resolver,
        clock=clock,
        audit=audit,
    )
    activity = _activity(paths, engine, auth, secrets_resolver) if record_activity else None
    # One per-request hook (core/activity.py) for the activity log and OpenTelemetry
    # (settings.otlp_endpoint; off: nothing imported, ~0.1 us per request).
    telemetry = Telemetry(lambda: engine.config.settings.otlp_endpoint)
    sink: ActivitySink = telemetry if activity is None else FanOut(activity, telemetry)
    gateway = Gateway(engine, http_transport=http_transport, activity=sink)
    client_sync = ClientSync(
        engine,
        client_manager,
        groups=lambda: {g.name: engine.group_url(g.name) for g in engine.groups()},
    )
    engine.install(gateway=gateway, auth=auth, client_sync=client_sync)
    engine.telemetry = telemetry
    engine.inspector = Inspector(gateway)
    engine.remote = remote
    if activity is not None:
        from switchboard.control.activity_routes import activity_routes

        engine.activity = activity
        engine.add_control_routes(activity_routes(activity))
    return engine


def _activity(
    paths: AppPaths, engine: Engine, auth: AuthService, secrets: SecretResolver
) -> ActivityRecorder:
    """The activity log: its bounds from the settings, each server's opt-in and secrets."""

    def spec(name: str) -> ServerSpec | None:
        return next((s for s in engine.config.servers if s.name == name), None)

    def record_arguments(name: str) -> bool:
        found = spec(name)
        return found is not None and found.record_arguments

    async def secret_values(name: str) -> list[str]:
        found = spec(name)
        if found is None or not found.secrets:
            return []
        return list((await secrets(found.secrets)).values())

    return ActivityRecorder(
        paths.activity_db,
        settings=lambda: engine.config.settings,
        record_arguments=record_arguments,
        secrets_for=secret_values,
        client_name=lambda cid: (auth.store.get_client(cid) or {}).get("client_name"),
    )


__all__ = ["build_engine"]
