"""The Engine: runs the lifecycle of the store, supervisor, gateway, auth and listener.

The services are built in ``composition.py`` (:func:`~switchboard.composition.build_engine`).

Front ends (Qt window, tray, CLI through the control API, headless ``serve``) call its
async methods and subscribe to its plain-Python events. Nothing here imports Qt.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from switchboard import __version__
from switchboard.core.errors import (
    ConfigError,
    GroupChanged,
    ServerNotFound,
    StoreError,
    SwitchboardError,
)
from switchboard.core.events import ConfigChanged, Event, EventBus, GroupsChanged, LogLine, Notice
from switchboard.core.group import GroupSpec
from switchboard.core.paths import AppPaths
from switchboard.core.spec import ServerSpec, Settings, StartMode
from switchboard.core.state import EngineState, ServerState
from switchboard.gateway.guard import OriginHostGuard
from switchboard.gateway.idle import IdleSleeper, SleeperTask
from switchboard.homelock import HomeLock
from switchboard.listener import Listener
from switchboard.store.atomic import atomic_write
from switchboard.store.config import Config, ConfigStore
from switchboard.supervisor.clock import Clock, MonotonicClock
from switchboard.supervisor.process import ServerStatus
from switchboard.supervisor.supervisor import Supervisor

if TYPE_CHECKING:
    from switchboard.activity import ActivityRecorder
    from switchboard.auth.consent import ConsentBroker
    from switchboard.auth.service import AuthService
    from switchboard.clients.sync import ClientSync
    from switchboard.core.auth import Authenticator
    from switchboard.gateway import Gateway
    from switchboard.inspector.service import Inspector
    from switchboard.remote.service import RemoteService
    from switchboard.telemetry import Telemetry

log = logging.getLogger("switchboard.engine")


class Engine:
    """Runs the services' lifecycle; the single object front ends talk to.

    Built by :func:`switchboard.composition.build_engine` (the composition root), which
    constructs every service and hands them over with :meth:`install`.
    """

    gateway: Gateway
    auth: AuthService
    consent: ConsentBroker
    client_sync: ClientSync
    authenticator: Authenticator
    """The gateway's auth slot: per server, our tokens / an external issuer / off."""
    telemetry: Telemetry | None = None
    """OpenTelemetry export of gateway requests (``settings.otlp_endpoint``)."""
    activity: ActivityRecorder | None = None
    """The activity log (issue 15.2), set by the composition root; started and closed here."""
    inspector: Inspector
    """Lists and calls servers' tools, prompts and resources through the gateway."""
    remote: RemoteService | None = None
    """Remote servers' upstream side (sign-in, tokens); set by the composition root."""

    def __init__(
        self,
        paths: AppPaths,
        *,
        events: EventBus,
        store: ConfigStore,
        supervisor: Supervisor,
        home_lock: HomeLock,
        port: int | None = None,
        restore_servers: bool = True,
        clock: Clock | None = None,
    ) -> None:
        self.paths = paths
        self.events = events
        self.store = store
        self._port_override = port
        self._restore = restore_servers
        self.supervisor = supervisor
        self.config = Config()
        self.listener: Listener | None = None
        self._home_lock = home_lock
        self.admin_token = ""
        self.config_warning: str | None = None
        """Set when a change could not be saved (it is in memory only); cleared by a save."""
        self.state = EngineState.NEW
        self.started_at = 0.0
        self._extra_routes: list[BaseRoute] = []
        self._prefix_apps: list[tuple[str, ASGIApp]] = []
        self._control_routes: list[Route] = []
        self._lock = asyncio.Lock()
        self._clock: Clock = clock or MonotonicClock()

    def install(self, *, gateway: Gateway, auth: AuthService, client_sync: ClientSync) -> None:
        """Take the services that need the engine themselves (the composition root
        builds them with it); mounts the gateway and the auth routes. Once, before start()."""
        if self.state is not EngineState.NEW or hasattr(self, "gateway"):
            raise SwitchboardError("The engine's services are installed once, before start().")
        self.gateway = gateway
        # The MCP hot path skips Starlette's router (measured: ~56 µs a call).
        self.add_prefix_app("/servers/", gateway)
        self.add_prefix_app("/groups/", gateway)
        self.auth = auth
        self.consent = auth.broker
        self.authenticator = auth
        self.add_routes(auth.routes())
        self.add_control_routes(auth.control_routes())
        # Connected clients follow server changes.
        self.client_sync = client_sync
        self._sleeper = SleeperTask(
            IdleSleeper(self.supervisor.servers, gateway.mux_of, self.sleep_server, self._clock)
        )

    # -- lifecycle --------------------------------------------------------------------
    def _become(self, new: EngineState) -> None:
        self.state = self.state.check(new)

    @property
    def base_url(self) -> str:
        if self.listener is None:
            raise SwitchboardError("The engine is not running.", hint="Start it first.")
        return self.listener.base_url

    def server_url(self, name: str) -> str:
        """The gateway MCP URL clients use for server ``name``."""
        return f"{self.base_url}/servers/{name}/mcp"

    def add_routes(self, routes: list[BaseRoute]) -> None:
        """Let a component (gateway, auth) serve on the listener. Call before start()."""
        self._extra_routes.extend(routes)

    def add_prefix_app(self, prefix: str, app: ASGIApp) -> None:
        """Send every HTTP request whose path starts with ``prefix`` straight to ``app``
        (after the Origin/Host guard, before routing). Call before start()."""
        self._prefix_apps.append((prefix, app))

    def add_control_routes(self, routes: list[Route]) -> None:
        """Extra ``/api/v1`` routes (admin token required). Call before start()."""
        self._control_routes.extend(routes)

    async def start(self) -> None:
        if self.state != EngineState.NEW:
            raise SwitchboardError(f"The engine cannot start from state {self.state.value}.")
        self._become(EngineState.STARTING)
        t0 = time.perf_counter()
        await asyncio.to_thread(self.paths.ensure)
        # One engine per home, before anything else (servers, engine.json, the socket).
        try:
            await asyncio.to_thread(self._home_lock.acquire)
        except BaseException:
            self._become(EngineState.CLOSED)
            raise
        try:
            await self._start_locked(t0)
        except BaseException:
            self._home_lock.release()
            raise

    async def _start_locked(self, t0: float) -> None:
        self.config = await asyncio.to_thread(self.store.load)
        self.admin_token = await asyncio.to_thread(self._ensure_admin_token)
        # Independent: keys/SQLite (auth) and PATH + watchdog (supervisor) overlap.
        results = await asyncio.gather(
            self.auth.start(),
            self.supervisor.start(),
            *([self.activity.start()] if self.activity is not None else []),
            return_exceptions=True,
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            await self.supervisor.aclose()
            await self.auth.aclose()
            if self.activity is not None:
                await self.activity.aclose()
            self._become(EngineState.CLOSED)
            raise failures[0]
        for spec in self.config.servers:
            self.supervisor.add(spec)
        settings = self.config.settings
        port = settings.port if self._port_override is None else self._port_override
        from switchboard.control import channel

        self.listener = Listener(
            self._build_app(),
            settings.host,
            port,
            private_socket=self.paths.control_socket if channel.AVAILABLE else None,
        )
        try:
            await self.listener.start()
        except BaseException:
            await self.supervisor.aclose()
            await self.auth.aclose()
            if self.activity is not None:
                await self.activity.aclose()
            self._become(EngineState.CLOSED)
            raise
        await asyncio.to_thread(self._write_endpoint)
        self._become(EngineState.RUNNING)
        self.started_at = time.time()
        log.info("engine ready at %s in %.0f ms", self.base_url, (time.perf_counter() - t0) * 1e3)
        self.client_sync.start()
        if self._restore:
            for spec in self.config.servers:
                if spec.start is StartMode.ON_DEMAND:  # no process until a client calls
                    await self.supervisor.get(spec.name).sleep()
            wanted = [s.name for s in self.config.servers if s.start is StartMode.ALWAYS]
            await asyncio.gather(*(self._start_quietly(n) for n in wanted), return_exceptions=True)
        self._sleeper.start()

    async def aclose(self) -> None:
        if self.state in (EngineState.CLOSING, EngineState.CLOSED, EngineState.NEW):
            self._become(EngineState.CLOSED)
            return
        self._become(EngineState.CLOSING)
        await self._sleeper.aclose()
        await self.client_sync.aclose()
        if self.listener is not None:
            await self.listener.aclose()
        await self.supervisor.aclose()
        await self.gateway.aclose()
        if self.activity is not None:
            await self.activity.aclose()
        if self.remote is not None:
            await self.remote.aclose()
        await self.auth.aclose()
        if self.telemetry is not None:  # export what is pending, stop the SDK's threads
            await asyncio.to_thread(self.telemetry.close)
        await asyncio.to_thread(self._remove_endpoint)
        self._home_lock.release()
        self._become(EngineState.CLOSED)

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def subscribe(self, observer: Callable[[Event], None]) -> Callable[[], None]:
        return self.events.subscribe(observer)

    # -- servers ----------------------------------------------------------------------
    # Every change is saved first and applied to memory (config, supervisor) only once the
    # file has it: a failed save (full disk, permissions) changes nothing, and says so.
    async def _commit(self, change: Callable[[Config], Config]) -> Config:
        """Apply ``change`` to the config, write it, and only then make it current."""
        new = change(self.config)
        try:
            await asyncio.to_thread(self.store.save, new)
        except StoreError as exc:
            raise StoreError(
                f"{exc.message} Nothing was changed.", hint=exc.hint or "Free some disk space."
            ) from exc
        self.config = new
        self.config_warning = None
        return new

    async def add_server(self, spec: ServerSpec) -> None:
        async with self._lock:
            await self._commit(lambda c: c.with_server(spec))
            server = self.supervisor.add(spec)
        self.events.publish(ConfigChanged((spec.name,)))
        if spec.start is StartMode.ON_DEMAND and self.state is EngineState.RUNNING:
            await server.sleep()
            self._sleeper.sleeper.poke()

    async def update_server(self, spec: ServerSpec) -> None:
        """Replace a server's spec; a running server is restarted to apply it."""
        async with self._lock:
            server = self.supervisor.get(spec.name)
            await self._commit(lambda c: c.with_server(spec, replace=True))
            if server.spec.remote != spec.remote:  # another kind of server object
                active = server.state.is_active
                await self.supervisor.remove(spec.name)
                server = self.supervisor.add(spec)
                if active:
                    await server.start()
            server.update_spec(spec)
        self.events.publish(ConfigChanged((spec.name,)))
        self._sleeper.sleeper.poke()
        if server.state.is_active:
            await server.restart()
        elif spec.start is StartMode.ON_DEMAND and server.state is ServerState.STOPPED:
            await server.sleep()  # now on demand: a call starts it
        elif spec.start is not StartMode.ON_DEMAND and server.state is ServerState.SLEEPING:
            await server.stop()  # no longer on demand: nothing wakes it

    async def remove_server(self, name: str) -> None:
        """Remove ``name``; it leaves every group in the same save (a
        :class:`GroupsChanged` and a notice name those groups)."""
        async with self._lock:
            remote = self.supervisor.get(name).spec.remote
            edited = self.config.groups_naming(name)
            await self._commit(lambda c: c.without_server(name))
            await self.supervisor.remove(name)
        self.events.publish(ConfigChanged((name,)))
        if edited:
            self.events.publish(GroupsChanged(edited))
            text = f"'{name}' was also removed from group(s): {', '.join(edited)}."
            self.events.publish(
                Notice("server-left-groups", "Removed from groups", text, {"groups": list(edited)})
            )
        if remote and self.remote is not None:
            await self.remote.forget(name)  # its tokens leave the keyring with it

    # -- remote servers (remote/) ------------------------------------------------------
    def _remote_service(self) -> RemoteService:
        if self.remote is None:
            raise SwitchboardError("Remote servers are not available in this engine.")
        return self.remote

    async def sign_in(self, name: str) -> dict[str, Any]:
        """Sign in to remote server ``name`` in the browser; then it runs."""
        server = self.supervisor.get(name)
        result = await self._remote_service().sign_in(server)
        await self._set_autostart(name, True)
        return result

    async def sign_out(self, name: str) -> dict[str, Any]:
        return await self._remote_service().sign_out(self.supervisor.get(name))

    def sign_in_status(self, name: str) -> dict[str, Any]:
        return self._remote_service().status(self.supervisor.get(name))

    async def start_server(self, name: str) -> ServerStatus:
        server = self.supervisor.get(name)
        await self._set_autostart(name, True)
        await server.start()
        return server.status()

    async def stop_server(self, name: str) -> ServerStatus:
        """Stop ``name``. Always stops, even when the config cannot be saved (full disk):
        the "was running" flag is then kept in memory and :attr:`config_warning` says so."""
        server = self.supervisor.get(name)
        await server.stop()
        await self._set_autostart(name, False)
        return server.status()

    async def restart_server(self, name: str) -> ServerStatus:
        server = self.supervisor.get(name)
        await self._set_autostart(name, True)
        await server.restart()
        return server.status()

    async def wake(self, name: str) -> None:
        """Start the sleeping on-demand server ``name`` for a client's call (the gateway
        calls it; see ``GatewayHost.wake``). A server not asleep is left alone."""
        server = self.supervisor.get(name)
        if server.wakeable:
            log.info("server %s: waking for a call", name)
            await server.wake()

    async def sleep_server(self, name: str) -> ServerStatus:
        """Put the on-demand server ``name`` to sleep (the idle timer calls it)."""
        server = self.supervisor.get(name)
        await server.sleep()
        return server.status()

    async def start_all(self) -> None:
        await asyncio.gather(*(self.start_server(s.name) for s in self.config.servers))

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop_server(s.name) for s in self.config.servers))

    def status(self, name: str) -> ServerStatus:
        return self.supervisor.get(name).status()

    def statuses(self) -> list[ServerStatus]:
        return self.supervisor.statuses()

    def logs(self, name: str, n: int = 200) -> list[LogLine]:
        return self.supervisor.get(name).log.tail(n)

    async def update_settings(self, settings: Settings) -> None:
        async with self._lock:
            await self._commit(lambda c: dataclasses.replace(c, settings=settings))
        self.events.publish(ConfigChanged(()))

    async def _set_autostart(self, name: str, value: bool) -> None:
        """Remember whether ``name`` runs (start = always | manual; an on-demand server
        keeps its mode), best effort: starting and stopping never fail because the file
        cannot be written; the person is told instead."""
        spec = self.config.server(name)
        if spec.start is StartMode.ON_DEMAND or spec.autostart == value:
            return
        new = dataclasses.replace(spec, start=StartMode.ALWAYS if value else StartMode.MANUAL)
        async with self._lock:
            self.supervisor.get(name).update_spec(new)
            try:
                await self._commit(lambda c: c.with_server(new, replace=True))
            except StoreError as exc:
                self.config = self.config.with_server(new, replace=True)
                self.config_warning = (
                    f"Could not save the config file ({exc.hint or exc.message}). "
                    f"'{name}' was {'started' if value else 'stopped'}, but after a restart "
                    "Switchboard may not remember it."
                )
                log.warning("%s", self.config_warning)
                self.events.publish(
                    Notice("config-unsaved", "Settings not saved", self.config_warning)
                )

    # -- groups (issue 14) -----------------------------------------------------------
    # Saved first like servers; GroupsChanged after every committed change.
    def groups(self) -> list[GroupSpec]:
        return list(self.config.groups)

    def group(self, name: str) -> GroupSpec:
        """The group ``name`` (GroupNotFound); the gateway reads groups through this."""
        return self.config.group(name)

    def group_url(self, name: str) -> str:
        """The gateway MCP URL clients use for group ``name`` (``/sse`` for legacy SSE)."""
        self.config.group(name)
        return f"{self.base_url}/{GroupSpec.kind}/{name}/mcp"

    async def add_group(self, spec: GroupSpec) -> None:
        async with self._lock:
            await self._commit(lambda c: c.with_group(spec))
        self.events.publish(GroupsChanged((spec.name,)))

    async def update_group(self, spec: GroupSpec, *, expected_tag: str | None = None) -> None:
        """Replace a group's definition. ``expected_tag``: the :meth:`GroupSpec.tag` the
        caller's change was based on; GroupChanged (nothing saved) if it is not current."""
        async with self._lock:
            if expected_tag is not None and self.config.group(spec.name).tag() != expected_tag:
                raise GroupChanged(spec.name)
            await self._commit(lambda c: c.with_group(spec, replace=True))
        self.events.publish(GroupsChanged((spec.name,)))

    async def rename_group(self, old: str, new: str) -> None:
        """Rename a group; its members and choices stay (its URL changes)."""
        async with self._lock:
            await self._commit(lambda c: c.rename_group(old, new))
        self.events.publish(GroupsChanged((old, new)))

    async def remove_group(self, name: str) -> None:
        async with self._lock:
            await self._commit(lambda c: c.without_group(name))
        self.events.publish(GroupsChanged((name,)))

    async def start_group(self, name: str) -> list[ServerStatus]:
        """Start every configured member (missing ones are skipped), like
        :meth:`start_server` each; the members' statuses, in member order."""
        members = self._present_members(name)
        await asyncio.gather(*(self._start_member(m) for m in members))
        return [self.status(m) for m in members]

    async def stop_group(self, name: str) -> list[ServerStatus]:
        """Stop every configured member, like :meth:`stop_server` each (also when
        another group or a client uses it directly)."""
        members = self._present_members(name)
        return list(await asyncio.gather(*(self.stop_server(m) for m in members)))

    def _present_members(self, name: str) -> list[str]:
        return [m for m in self.config.group(name).servers if self.config.has(m)]

    async def _start_member(self, name: str) -> None:
        # A member that cannot start is reported by its status ("failed"), like
        # 'switchboard start'; the others start anyway.
        try:
            await self.start_server(name)
        except SwitchboardError as exc:
            log.warning("group member %s did not start: %s", name, exc)

    async def _start_quietly(self, name: str) -> None:
        try:
            await self.supervisor.get(name).start()
        except Exception:
            log.exception("could not restore server %s", name)

    # -- files ------------------------------------------------------------------------
    def _ensure_admin_token(self) -> str:
        path = self.paths.admin_token_file
        try:
            token = path.read_text("utf-8").strip()
            if len(token) >= 32:
                if path.stat().st_mode & 0o077:
                    os.chmod(path, 0o600)
                return token
        except FileNotFoundError:
            pass
        token = secrets.token_urlsafe(32)
        atomic_write(path, token.encode(), mode=0o600)
        return token

    def _write_endpoint(self) -> None:
        # ``url`` names the engine for clients; the CLI's bytes go through ``socket``.
        sock = self.listener.private_socket if self.listener is not None else None
        data = {
            "url": self.base_url,
            "socket": str(sock) if sock is not None else None,
            "pid": os.getpid(),
            "version": __version__,
        }
        atomic_write(self.paths.endpoint_file, json.dumps(data).encode(), mode=0o600)

    def _remove_endpoint(self) -> None:
        try:
            data = json.loads(self.paths.endpoint_file.read_text("utf-8"))
            if data.get("pid") == os.getpid():
                self.paths.endpoint_file.unlink()
        except (OSError, ValueError):
            pass

    # -- HTTP -------------------------------------------------------------------------
    def _build_app(self) -> OriginHostGuard:
        from switchboard.auth.connect_client import CLIENT_ID
        from switchboard.control import channel, proof
        from switchboard.control.api import admin_guard, control_routes
        from switchboard.control.tcpguard import TCPGuard

        guard = admin_guard(self)
        extra_control: list[BaseRoute] = [
            Route(r.path, guard(r.endpoint), methods=list(r.methods or ()))
            for r in self._control_routes
        ]
        routes: list[BaseRoute] = [
            Route("/healthz", self._healthz, methods=["GET"]),
            # Without a Unix socket (Windows) clients check this before they send secrets.
            Route(
                proof.PATH,
                proof.endpoint(lambda: self.admin_token, lambda: self.base_url),
                methods=["GET"],
            ),
            Mount("/api/v1", routes=[*control_routes(self), *extra_control]),
            *self._extra_routes,
        ]
        app: ASGIApp = Starlette(routes=routes)
        if self._prefix_apps:
            app = _PrefixDispatch(tuple(self._prefix_apps), app)
        # The owner's paths (control API, first-party client) only on the private socket.
        app = TCPGuard(app, CLIENT_ID, enabled=channel.AVAILABLE)
        return OriginHostGuard(app)

    async def _healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    def info(self) -> dict[str, Any]:
        return {
            "version": __version__,
            "pid": os.getpid(),
            "url": self.base_url,
            "started_at": self.started_at,
            "servers": len(self.config.servers),
            "running": len([s for s in self.statuses() if s.state is ServerState.RUNNING]),
            "sleeping": len([s for s in self.statuses() if s.state is ServerState.SLEEPING]),
            "rss_bytes": self.supervisor.total_rss(),
            "config_file": str(self.paths.config_file),
            "config_warning": self.config_warning,
        }


class _PrefixDispatch:
    """ASGI: paths under a registered prefix go to their app, the rest to ``default``."""

    def __init__(self, prefixes: tuple[tuple[str, ASGIApp], ...], default: ASGIApp) -> None:
        self.prefixes = prefixes
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            for prefix, app in self.prefixes:
                if path.startswith(prefix):
                    await app(scope, receive, send)
                    return
        await self.default(scope, receive, send)


__all__ = ["ConfigError", "Engine", "ServerNotFound"]
