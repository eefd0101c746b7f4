"""Each member server's lists, fetched once and kept until they change (issue 14.2).

One :class:`Listings` per gateway. For a running server it opens one in-process MCP
client session on the server's mux (``gateway/internal.py``; owner none, it only
lists), pages through ``tools/list``, ``prompts/list``, ``resources/list`` and
``resources/templates/list`` (MCP 2025-11-25 server/utilities/pagination), and keeps
the result until the server says ``notifications/*/list_changed`` or its state changes
(the gateway calls :meth:`Listings.invalidate`). Listeners (the groups) hear every
invalidation and tell their sessions ``list_changed``.

It starts nothing: a server that is not running gets a :class:`Listing` with its state
and an error saying so (its last known lists kept, so that a call to one of its tools
can name the server that is down); an on-demand server asleep keeps its last known
lists as they were (a call wakes it).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from switchboard.gateway import jsonrpc
from switchboard.gateway.channels import Session, Unavailable
from switchboard.gateway.groups.naming import RUNNING, Listing
from switchboard.gateway.internal import RpcError

log = logging.getLogger("switchboard.gateway")

SLEEPING = "sleeping"

LIST_WAIT = 10.0
"""Seconds a group waits for a member's lists (its initialize and its ``*/list``
answers) before it goes on without them: a member that never answers must not hold
the group's ``initialize`` and lists for the member's whole request timeout. The fetch
goes on; when it lands, the groups hear ``list_changed``."""

MAX_PAGES = 100
"""Pages read of one list before giving up on a server that never stops paginating."""

KINDS = (
    ("tools/list", "tools", "tools", "tools"),
    ("prompts/list", "prompts", "prompts", "prompts"),
    ("resources/list", "resources", "resources", "resources"),
    ("resources/templates/list", "resourceTemplates", "templates", "resources"),
)
"""(method, result key, Listing field, capability)."""


class MemberClient(Protocol):
    """An in-process MCP client session on one server's mux (``gateway/internal.py``)."""

    async def request(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        on_message: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]: ...

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None: ...

    def reply(
        self,
        request_id: jsonrpc.MessageId,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> None: ...

    def close(self) -> None: ...

    @property
    def closed(self) -> bool: ...

    @property
    def initialize_result(self) -> dict[str, Any]: ...

    @property
    def session(self) -> Session:
        """The member session on the server's mux (the direct path submits on it)."""
        ...


OnMessage = Callable[[dict[str, Any]], None]
OpenClient = Callable[..., Coroutine[Any, Any, MemberClient]]
"""``open(server, owner=..., via=..., capabilities=..., on_message=...)``."""


class Listings:
    """Member servers' lists by server name (see the module docstring)."""

    def __init__(self, open_client: OpenClient, state_of: Callable[[str], str | None]) -> None:
        self._open = open_client
        self._state_of = state_of
        self._cache: dict[str, Listing] = {}
        self._known: dict[str, Listing] = {}
        """The last lists fetched from each server (kept while it is down)."""
        self._clients: dict[str, MemberClient] = {}
        self._fetching: dict[str, asyncio.Task[Listing]] = {}
        self._generation: dict[str, int] = {}
        self.listeners: list[Callable[[str], None]] = []
        """Called with the server's name after each invalidation."""
        self.wait = LIST_WAIT
        """See :data:`LIST_WAIT` (tests shorten it)."""

    def cached(self, server: str) -> Listing | None:
        return self._cache.get(server)

    async def get(self, server: str, *, wake: bool = False) -> Listing:
        """The server's lists now (cached while they do not change). An on-demand
        server that is asleep (issue 16.2) gives its last known lists as up (a call
        wakes it); never listed yet, it is woken to learn them when ``wake`` (a group
        session needs them), else nothing is started."""
        state = self._state_of(server)
        if state is None:
            return Listing(server, state="missing", error=f"Server {server!r} is not configured.")
        asleep = state == SLEEPING
        if asleep and server in self._known:
            return dataclasses.replace(self._known[server], state=state)
        if state != RUNNING and not (asleep and wake):
            known = self._known.get(server) or Listing(server)
            return Listing(
                server,
                state=state,
                tools=known.tools,
                prompts=known.prompts,
                resources=known.resources,
                templates=known.templates,
                error=f"Server {server!r} is {state}.",
            )
        found = self._cache.get(server)
        if found is not None:
            return found
        task = self._fetching.get(server)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._fetch(server))
            self._fetching[server] = task
            task.add_done_callback(lambda _t: self._fetching.pop(server, None))
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.wait)
        except TimeoutError:
            log.warning("server %s: its lists took over %g s; going on without", server, self.wait)
            task.add_done_callback(lambda t: self._landed(server, t))
            return Listing(
                server,
                error=f"Server {server!r} did not answer its lists within {self.wait:g} s; "
                "its items are left out until it does.",
            )

    def _landed(self, server: str, task: asyncio.Task[Listing]) -> None:
        """A fetch that was given up on finished: the groups take its lists now."""
        if task.cancelled() or task.exception() is not None or server not in self._cache:
            return
        for listener in list(self.listeners):
            try:
                listener(server)
            except Exception:
                log.exception("a listener of server %s's lists failed", server)

    async def _fetch(self, server: str) -> Listing:
        generation = self._generation.get(server, 0)
        try:
            client = self._clients.get(server)
            if client is None or client.closed:
                client = await self._open(
                    server,
                    owner=None,
                    via=None,
                    capabilities={},
                    on_message=lambda msg: self._on_message(server, msg),
                )
                self._clients[server] = client
            init = client.initialize_result
            caps = init.get("capabilities")
            caps = caps if isinstance(caps, dict) else {}
            lists: dict[str, tuple[dict[str, Any], ...]] = {}
            for method, key, field, capability in KINDS:
                if init and capability not in caps:
                    lists[field] = ()
                    continue
                lists[field] = await self._read_all(client, method, key)
        except Unavailable as exc:
            return Listing(server, state=exc.state, error=str(exc))
        except asyncio.CancelledError:
            raise
        except (RpcError, ValueError, TypeError) as exc:
            log.info("server %s: could not read its lists: %s", server, exc)
            return Listing(server, error=f"Server {server!r} did not list its items: {exc}")
        instructions = init.get("instructions")
        listing = Listing(
            server,
            capabilities=caps,
            instructions=instructions if isinstance(instructions, str) else None,
            tools=lists["tools"],
            prompts=lists["prompts"],
            resources=lists["resources"],
            templates=lists["templates"],
        )
        if self._generation.get(server, 0) == generation:
            self._cache[server] = listing
        self._known[server] = listing
        return listing

    async def _read_all(
        self, client: MemberClient, method: str, key: str
    ) -> tuple[dict[str, Any], ...]:
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {}
        for _ in range(MAX_PAGES):
            try:
                result = await client.request(method, params)
            except RpcError as exc:
                if exc.code == jsonrpc.METHOD_NOT_FOUND:
                    return ()
                raise
            page = result.get(key)
            if isinstance(page, list):
                items.extend(i for i in page if isinstance(i, dict))
            cursor = result.get("nextCursor")
            if not isinstance(cursor, str) or not cursor:
                break
            params = {"cursor": cursor}
        return tuple(items)

    def _on_message(self, server: str, msg: dict[str, Any]) -> None:
        method = msg.get("method")
        if isinstance(method, str) and method.endswith("/list_changed"):
            self.invalidate(server)

    def invalidate(self, server: str) -> None:
        """Forget the server's lists (they changed, or its process did) and tell the
        listeners."""
        self._generation[server] = self._generation.get(server, 0) + 1
        self._cache.pop(server, None)
        if self._state_of(server) != RUNNING:
            client = self._clients.pop(server, None)
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()
        for listener in list(self.listeners):
            try:
                listener(server)
            except Exception:
                log.exception("a listener of server %s's lists failed", server)

    def forget(self, server: str) -> None:
        """The server was removed: drop everything about it."""
        self._known.pop(server, None)
        self.invalidate(server)

    def close(self) -> None:
        for task in self._fetching.values():
            task.cancel()
        for client in self._clients.values():
            with contextlib.suppress(Exception):
                client.close()
        self._clients.clear()
        self._cache.clear()
