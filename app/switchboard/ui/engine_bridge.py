"""The one seam between the engine (plain Python, asyncio) and the widgets (Qt).

Engine events become Qt signals; widget actions become engine coroutines scheduled on
the shared qasync loop. Widgets hold a bridge, never the engine: they read snapshots
(statuses, config, logs) that are in memory, and every slow call (config writes,
keyring, SQLite) happens inside the engine's coroutines, off the UI path.

Log lines are coalesced and delivered in batches (every ``log_flush_ms``) so fifty
chatty servers cost a few signal emissions per second, not thousands.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal

from switchboard.cluster.files import write as write_manifests
from switchboard.cluster.toolhive import (
    Manifests,
    build,
    needs_tool_lists,
    tool_names_from_listing,
)
from switchboard.core.errors import ServerNotFound, SwitchboardError
from switchboard.core.events import (
    ConfigChanged,
    Event,
    GroupsChanged,
    LogLine,
    Notice,
    StateChanged,
)
from switchboard.core.group import GroupSpec
from switchboard.core.spec import ServerSpec, Settings
from switchboard.supervisor.process import ServerStatus

if TYPE_CHECKING:
    from switchboard.auth.consent import ConsentBroker, ConsentRequest
    from switchboard.auth.service import AuthService
    from switchboard.clients.sync import ClientSync
    from switchboard.engine import Engine
    from switchboard.inspector.service import Inspector
    from switchboard.secrets.store import SecretStore

log = logging.getLogger("switchboard.ui")

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class GrantView:
    """One client's standing access, as the clients view shows it."""

    id: str
    client_name: str
    client_id: str
    server: str
    scopes: tuple[str, ...]
    created_at: float | None = None
    last_used: float | None = None
    redirect_uri: str = ""
    """The redirect URI of the approval (tells two grants of one app apart)."""
    resource: str = ""
    remembered: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class ClientView:
    """One MCP client application (Cursor, VS Code, ...) and whether it points at us."""

    id: str
    title: str
    installed: bool
    connected: bool
    config_path: str
    servers: int
    """How many Switchboard entries its config holds."""
    error: str = ""


class EngineBridge(QObject):
    """Engine events as Qt signals, UI actions as engine coroutines."""

    stateChanged = Signal(object)
    """:class:`StateChanged`"""
    logLines = Signal(object)
    """``list[LogLine]``, in order, batched."""
    configChanged = Signal(object)
    """:class:`ConfigChanged`"""
    groupsChanged = Signal(object)
    """:class:`GroupsChanged`"""
    notice = Signal(object)
    """:class:`Notice`"""
    consentRequested = Signal(object)
    """:class:`ConsentRequest`"""
    consentDecided = Signal(str)
    """id of a request that left the pending list (decided anywhere, expired, replaced)"""
    actionFailed = Signal(str, str)
    """(what was attempted, the error's sentence with its hint)"""
    actionDone = Signal(str)
    """what was done (for the status bar)"""

    def __init__(
        self,
        engine: Engine,
        *,
        log_flush_ms: int = 50,
        secret_store: SecretStore | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.engine = engine
        self._secret_store = secret_store
        self._log_buffer: list[LogLine] = []
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(log_flush_ms)
        self._flush.timeout.connect(self._flush_logs)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unsubscribe: list[Callable[[], None]] = [
            engine.subscribe(self._on_event),
            self.consent.on_request(self._on_consent),
            self.consent.on_decided(self._on_consent_decided),
        ]

    # -- engine -> Qt ------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if isinstance(event, LogLine):
            self._log_buffer.append(event)
            if not self._flush.isActive():
                self._flush.start()
        elif isinstance(event, StateChanged):
            self.stateChanged.emit(event)
        elif isinstance(event, ConfigChanged):
            self.configChanged.emit(event)
        elif isinstance(event, GroupsChanged):
            self.groupsChanged.emit(event)
        elif isinstance(event, Notice):
            self.notice.emit(event)

    def _on_consent(self, request: ConsentRequest) -> None:
        self.consentRequested.emit(request)

    def _on_consent_decided(self, request_id: str, _decision: object) -> None:
        if shiboken6.isValid(self):
            self.consentDecided.emit(request_id)

    def _flush_logs(self) -> None:
        batch, self._log_buffer = self._log_buffer, []
        if batch:
            self.logLines.emit(batch)

    def flush(self) -> None:
        """Deliver buffered log lines now (tests, and before showing a log)."""
        self._flush.stop()
        self._flush_logs()

    def close(self) -> None:
        """Stop listening to the engine and delete the Qt object (and the models parented
        to it) now, in the GUI thread: left to Python's GC, it could be collected in a
        worker thread, where Qt cannot stop its timers."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        if shiboken6.isValid(self):
            self._flush.stop()
            shiboken6.delete(self)

    # -- snapshots (in memory, cheap) --------------------------------------------------
    @property
    def consent(self) -> ConsentBroker:
        """The auth service's consent broker (pending requests, decisions)."""
        return self.engine.consent

    @property
    def settings(self) -> Settings:
        return self.engine.config.settings

    def specs(self) -> tuple[ServerSpec, ...]:
        return self.engine.config.servers

    def spec(self, name: str) -> ServerSpec:
        return self.engine.config.server(name)

    def statuses(self) -> list[ServerStatus]:
        return self.engine.statuses()

    def status(self, name: str) -> ServerStatus | None:
        try:
            return self.engine.status(name)
        except ServerNotFound:
            return None

    def memory(self) -> dict[str, int | None]:
        """Each server's last sampled tree RSS (no /proc read here: a dict lookup)."""
        return {s.name: s.rss_bytes for s in self.engine.supervisor.servers()}

    def logs(self, name: str, n: int = 2000) -> list[LogLine]:
        try:
            return self.engine.logs(name, n)
        except ServerNotFound:
            return []

    def server_url(self, name: str) -> str:
        try:
            return self.engine.server_url(name)
        except SwitchboardError:
            return ""

    def base_url(self) -> str:
        try:
            return self.engine.base_url
        except SwitchboardError:
            return ""

    # -- Qt -> engine ------------------------------------------------------------------
    def submit(self, what: str, work: Awaitable[T], *, quiet: bool = False) -> asyncio.Task[T]:
        """Run ``work`` on the loop; failures become :attr:`actionFailed`, never raise.
        ``quiet``: a background load, so success is not announced (:attr:`actionDone`)."""

        async def run() -> T:
            return await work

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._done(what, t, quiet))
        return task

    def _done(self, what: str, task: asyncio.Task[Any], quiet: bool = False) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            if not quiet:
                self.actionDone.emit(what)
        elif isinstance(exc, SwitchboardError):
            log.info("%s failed: %s", what, exc)
            self.actionFailed.emit(what, str(exc))
        else:
            log.error("%s failed", what, exc_info=exc)
            self.actionFailed.emit(what, f"Unexpected error: {exc!r}. See the log for details.")

    async def drain(self) -> None:
        """Wait for every submitted action (quit, tests)."""
        while self._tasks:
            await asyncio.gather(*tuple(self._tasks), return_exceptions=True)

    def start_server(self, name: str) -> asyncio.Task[ServerStatus]:
        return self.submit(f"Start {name}", self.engine.start_server(name))

    def stop_server(self, name: str) -> asyncio.Task[ServerStatus]:
        return self.submit(f"Stop {name}", self.engine.stop_server(name))

    def restart_server(self, name: str) -> asyncio.Task[ServerStatus]:
        return self.submit(f"Restart {name}", self.engine.restart_server(name))

    def set_running(self, name: str, on: bool) -> asyncio.Task[ServerStatus]:
        return self.start_server(name) if on else self.stop_server(name)

    def start_all(self) -> asyncio.Task[None]:
        return self.submit("Start all servers", self.engine.start_all())

    def stop_all(self) -> asyncio.Task[None]:
        return self.submit("Stop all servers", self.engine.stop_all())

    def add_server(self, spec: ServerSpec, *, start: bool = False) -> asyncio.Task[None]:
        async def add() -> None:
            await self.engine.add_server(spec)
            if start:
                await self.engine.start_server(spec.name)

        return self.submit(f"Add {spec.name}", add())

    def update_server(self, spec: ServerSpec) -> asyncio.Task[None]:
        return self.submit(f"Save {spec.name}", self.engine.update_server(spec))

    # -- remote servers (remote/) ---------------------------------------------------------
    def sign_in_status(self, name: str) -> dict[str, Any] | None:
        """A remote server's sign-in state; None for a local server."""
        try:
            if not self.engine.config.server(name).remote or self.engine.remote is None:
                return None
            return self.engine.sign_in_status(name)
        except SwitchboardError:
            return None

    def sign_in(self, name: str) -> asyncio.Task[dict[str, Any]]:
        return self.submit(f"Sign in to {name}", self.engine.sign_in(name))

    def sign_out(self, name: str) -> asyncio.Task[dict[str, Any]]:
        return self.submit(f"Sign out of {name}", self.engine.sign_out(name))

    def remove_server(self, name: str) -> asyncio.Task[None]:
        return self.submit(f"Remove {name}", self.engine.remove_server(name))

    def update_settings(self, settings: Settings) -> asyncio.Task[None]:
        return self.submit("Save settings", self.engine.update_settings(settings))

    async def write_settings(self, settings: Settings) -> None:
        """Persist settings (for widgets composing a larger action themselves)."""
        await self.engine.update_settings(settings)

    def decide_consent(
        self, request_id: str, approve: bool, remember: bool, servers: tuple[str, ...] = ()
    ) -> bool:
        """``servers``: the picked servers of a "choose servers" request."""
        return self.consent.decide(request_id, approve, remember, servers)

    def pending_consents(self) -> list[ConsentRequest]:
        return self.consent.pending()

    @property
    def inspector(self) -> Inspector:
        """Lists and calls a running server's tools, prompts and resources (the Tools
        tab; coroutines for :meth:`submit`, cancel the task to cancel the request)."""
        return self.engine.inspector

    # -- grants (from the auth service) -----------------------------------------------
    @property
    def auth(self) -> AuthService:
        """The engine's authorization server (grants, tokens)."""
        return self.engine.auth

    @property
    def grants_available(self) -> bool:
        """Whether the clients page can list grants: the engine always wires its auth
        service (engine.py), so yes."""
        return True

    async def list_grants(self) -> list[GrantView]:
        """Active grants (newest first). SQLite is read by the auth service in a worker
        thread."""
        result = await self.auth.list_grants()
        views = [_grant_view(g) for g in result["grants"] if not g.get("revoked_at")]
        return sorted(views, key=lambda g: g.created_at or 0, reverse=True)

    def revoke_grant(self, grant_id: str, label: str) -> asyncio.Task[None]:
        return self.submit(f"Revoke access of {label}", self.auth.revoke_grant(grant_id))

    # -- secrets (the OS keyring, always from a worker thread) --------------------------
    @property
    def secret_store(self) -> SecretStore:
        if self._secret_store is None:
            from switchboard.secrets.store import SecretStore

            self._secret_store = SecretStore.for_paths(self.engine.paths)
        return self._secret_store

    def set_secret(self, name: str, value: str) -> asyncio.Task[None]:
        """Store a secret's value in the keyring (never in the config)."""
        from switchboard.secrets.store import validate_secret_name

        async def run() -> None:
            validate_secret_name(name)
            await self.secret_store.aset(name, value)
            self.engine.auth.audit.emit(
                "secret_set", actor="person", target=name, outcome="success"
            )

        return self.submit(f"Store secret {name}", run())

    async def missing_secrets(self, names: list[str]) -> list[str]:
        """Which of ``names`` have no value in the keyring ([] if it cannot be asked)."""

        def work() -> list[str]:
            return [n for n in names if not self.secret_store.has(n)]

        try:
            return await asyncio.to_thread(work)
        except SwitchboardError:
            return []

    # -- MCP client configs (from the clients service) ---------------------------------
    @property
    def client_sync(self) -> ClientSync:
        """The engine's client-config service (connected clients follow server changes)."""
        return self.engine.client_sync

    @property
    def clients_available(self) -> bool:
        """Whether the clients page can list MCP clients: the engine always wires its
        client-config service (engine.py), so yes."""
        return True

    async def list_clients(self) -> list[ClientView]:
        """Known MCP clients; their config files are read in a worker thread."""
        sync = self.client_sync
        infos = await asyncio.to_thread(sync.manager.clients)
        views = [
            ClientView(
                id=i.kind.id,
                title=i.kind.title,
                installed=i.installed,
                connected=i.connected,
                config_path=str(i.config_path),
                servers=len(i.ours),
                error=i.error,
            )
            for i in infos
        ]
        return sorted(views, key=lambda c: (not c.connected, not c.installed, c.title.lower()))

    def set_client_connected(self, client_id: str, title: str, on: bool) -> asyncio.Task[None]:
        """Write (or remove) Switchboard's servers in that client's config file."""
        sync = self.client_sync

        async def run() -> None:
            if on:
                await asyncio.to_thread(sync.manager.connect, client_id, sync.servers())
            else:
                await asyncio.to_thread(sync.manager.disconnect, client_id)

        return self.submit(f"{'Connect' if on else 'Disconnect'} {title}", run())

    # -- groups ------------------------------------------------------------------------
    def groups(self) -> list[GroupSpec]:
        return self.engine.groups()

    def group_url(self, name: str) -> str:
        try:
            return self.engine.group_url(name)
        except SwitchboardError:
            return ""

    async def group_listing(self, name: str) -> dict[str, Any]:
        """The group's members and their tools from the live servers (gateway)."""
        return await self.engine.gateway.group_listing(name)

    def add_group(self, spec: GroupSpec) -> asyncio.Task[None]:
        return self.submit(f"Create group {spec.name}", self.engine.add_group(spec))

    def save_group(self, spec: GroupSpec) -> asyncio.Task[None]:
        return self.submit(f"Change group {spec.name}", self.engine.update_group(spec), quiet=True)

    def rename_group(self, old: str, new: str) -> asyncio.Task[None]:
        return self.submit(f"Rename group {old}", self.engine.rename_group(old, new))

    def remove_group(self, name: str) -> asyncio.Task[None]:
        return self.submit(f"Delete group {name}", self.engine.remove_group(name))

    def connect_group(self, client_id: str, title: str, group: str) -> asyncio.Task[None]:
        """Write one entry for ``group`` into that client's config (instead of one per
        server); the client-config service keeps it in step afterwards."""
        sync = self.client_sync

        async def run() -> None:
            await asyncio.to_thread(
                sync.manager.connect, client_id, sync.servers(), group=group, groups=sync.groups()
            )

        return self.submit(f"Connect {title} to the group {group}", run())

    async def export_cluster(
        self, target: Path, group: str | None, namespace: str = "default"
    ) -> Manifests:
        """ToolHive manifests for ``group`` (or everything) into ``target``, with the
        tool lists of running members for tool filters (docs/team-cluster.md)."""
        config = self.engine.config
        names = [group] if group else []
        groups = [g for g in config.groups if not names or g.name in names]
        wanted = {m for g in groups for m in g.servers}
        servers = [s for s in config.servers if not names or s.name in wanted]
        tools: dict[str, list[str]] = {}
        for g in needs_tool_lists(groups):
            tools.update(tool_names_from_listing(await self.group_listing(g.name)))
        manifests = build(servers, groups, namespace=namespace, tool_names=tools)
        await asyncio.to_thread(write_manifests, manifests, target)
        return manifests

    def set_group_running(self, name: str, on: bool) -> asyncio.Task[Any]:
        what = f"{'Start' if on else 'Stop'} the servers of {name}"
        work = self.engine.start_group(name) if on else self.engine.stop_group(name)
        return self.submit(what, work)


def _grant_view(g: Mapping[str, Any]) -> GrantView:
    """One entry of :meth:`AuthService.list_grants`'s ``"grants"`` (a
    ``GrantRecord.to_dict()`` plus ``client_name``, ``redirect_uri``, ``remembered``) as
    the clients page shows it."""
    return GrantView(
        id=str(g.get("id", "")),
        client_name=str(g.get("client_name") or g.get("client_id", "")),
        client_id=str(g.get("client_id", "")),
        # Several servers (the person picked them): shown as "a, b".
        server=", ".join(str(g.get("server") or g.get("resource", "")).split()),
        scopes=tuple(str(g.get("scope") or "").split()),
        created_at=g.get("created_at"),
        last_used=g.get("last_used_at"),
        redirect_uri=str(g.get("redirect_uri") or ""),
        resource=str(g.get("resource") or ""),
        remembered=bool(g.get("remembered")),
    )
