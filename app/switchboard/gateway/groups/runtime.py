"""A group's live side: its client sessions and their member sessions (issue 14.2).

:class:`GroupMux` has the interface the gateway's transports drive a server's
:class:`~switchboard.gateway.mux.StdioMux` with (``initialize``, ``submit``,
``notify``, ``close_session``, ``ready``), so ``/groups/<name>/mcp`` and ``/sse`` reuse
``streamable_http.py`` and ``legacy_sse.py`` unchanged.

- Lists come from the merged view (``naming.py``), cached until a member's lists or
  the group change; then every session hears ``notifications/*/list_changed``.
- ``tools/call``, ``prompts/get``, ``resources/read|subscribe|unsubscribe`` and
  ``completion/complete`` go to the owning member through the group session's own
  member session on that server's mux (opened on first use: a group session is just
  another client of each member, so the member's exact-or-refuse routing of sampling
  and elicitation reaches exactly this session). A filtered or hidden name is refused
  without reaching any server; a name of a member that is down gets an error naming
  the server and its state at once.
- Progress and logging pass through; cancelling a request cancels the member request.
- Server->client requests get a new id on the group session (members' ids would
  collide) and the client's answer goes back to the member under the original id.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from typing import Any

from switchboard.core.group import GroupSpec
from switchboard.gateway import jsonrpc
from switchboard.gateway.channels import Channel, Pending, PostChannel, Session, Unavailable
from switchboard.gateway.groups import lean, pages, relay
from switchboard.gateway.groups.direct import Relay, cancel_message
from switchboard.gateway.groups.listings import Listings, MemberClient, OpenClient
from switchboard.gateway.groups.naming import Merged, merge
from switchboard.gateway.groups.refusals import Refused, down, missing
from switchboard.gateway.groups.relay import State
from switchboard.gateway.initialization import LATEST_VERSION, SUPPORTED_VERSIONS, declared
from switchboard.gateway.internal import RpcError
from switchboard.gateway.mux import StdioMux

log = logging.getLogger("switchboard.gateway")

DOWN = frozenset({"stopped", "stopping", "failed", "backoff", "missing"})
"""Member states in which a call is refused at once (nothing would answer)."""
PASSED_CAPS = ("sampling", "elicitation")
"""Client capabilities a member session declares for the group session (roots never:
see ``initialization.py``)."""

_KINDS = {
    "tools": ("tools", "lean"),
    "prompts": ("prompts",),
    "resources": ("resources", "templates"),
}
"""List kinds a group announces changes of, and the merged view's fields of each."""

_LISTS = {
    "tools/list": "tools",
    "prompts/list": "prompts",
    "resources/list": "resources",
    "resources/templates/list": "resourceTemplates",
}


class GroupMux:
    """The sessions of one group (see the module docstring)."""

    def __init__(
        self,
        name: str,
        *,
        spec_of: Callable[[], GroupSpec],
        listings: Listings,
        open_client: OpenClient,
        state_of: Callable[[str], str | None],
        mux_of: Callable[[str], StdioMux | None] = lambda _: None,
        version: str = "1",
    ) -> None:
        self.name = name
        self._spec_of = spec_of
        self._listings = listings
        self._open = open_client
        self._state_of = state_of
        self._mux_of = mux_of
        self._version = version
        self.sessions: dict[str, Session] = {}
        self._states: dict[str, State] = {}
        self._ids = itertools.count(1)
        self._merged: Merged | None = None
        self._merged_spec: GroupSpec | None = None
        self._edition = 0
        self._last: Merged | None = None
        """The latest merged view worked out (kept while a change is being announced)."""
        self._announcing: asyncio.Task[None] | None = None
        self.init_params: dict[str, Any] | None = {}

    def ready(self) -> bool:
        return True

    def spec(self) -> GroupSpec:
        return self._spec_of()

    # -- the merged view ------------------------------------------------------------
    async def merged(self) -> Merged:
        """What the group exposes now (cached until :meth:`changed`)."""
        spec = self._spec_of()
        found = self._merged
        if found is not None and (self._merged_spec is spec or self._merged_spec == spec):
            return found
        edition = self._edition
        listings = await asyncio.gather(*(self._listings.get(s, wake=True) for s in spec.servers))
        merged = merge(spec, {listing.server: listing for listing in listings})
        self._last = merged
        if edition == self._edition:
            self._merged, self._merged_spec = merged, spec
        return merged

    def changed(self) -> None:
        """A member's lists or the group may have changed: forget the merged view, work
        out the new one and tell every session which lists changed
        (``notifications/{tools,prompts,resources}/list_changed``, MCP 2025-11-25
        server/tools "List Changed Notification"). Changes that come together (a
        restart's states) give one notification per list that really changed."""
        self._edition += 1
        if self._announcing is None and self.sessions:
            before = self._merged or self._last
            self._announcing = asyncio.get_running_loop().create_task(self._announce(before))
        self._merged = None

    async def _announce(self, before: Merged | None) -> None:
        try:
            while True:
                edition = self._edition
                await asyncio.sleep(0)  # what changes in this loop turn comes along
                after = await self.merged()
                if edition == self._edition:
                    break
        except Exception:
            log.exception("group %s: could not work out its lists after a change", self.name)
            after = None
        finally:
            self._announcing = None
        kinds = [
            kind
            for kind, fields in _KINDS.items()
            if before is None
            or after is None
            or any(getattr(before, f) != getattr(after, f) for f in fields)
        ]
        for kind in kinds:
            line = jsonrpc.dumps({"jsonrpc": "2.0", "method": f"notifications/{kind}/list_changed"})
            for session in list(self.sessions.values()):
                session.send(line)

    # -- sessions ---------------------------------------------------------------------
    async def initialize(self, session: Session, params: dict[str, Any]) -> dict[str, Any]:
        """MCP 2025-11-25 basic/lifecycle: the group is the server; its capabilities
        are the union of its running members' (``naming._merge_caps``)."""
        if not isinstance(params, dict):
            params = {}
        session.capabilities = declared(params.get("capabilities"))
        merged = await self.merged()
        spec = self._spec_of()
        requested = params.get("protocolVersion")
        version = requested if requested in SUPPORTED_VERSIONS else LATEST_VERSION
        session.protocol_version = str(version)
        self.sessions[session.id] = session
        self._states[session.id] = State()
        result: dict[str, Any] = {
            "protocolVersion": version,
            "capabilities": merged.capabilities,
            "serverInfo": {
                "name": f"switchboard-group-{self.name}",
                "title": f"{self.name} (Switchboard group)",
                "version": self._version,
            },
        }
        text = "\n\n".join(t for t in (spec.description, merged.instructions) if t)
        if text:
            result["instructions"] = text
        return result

    def close_session(self, session: Session) -> None:
        if session.closed:
            return
        session.closed = True
        self.sessions.pop(session.id, None)
        for box in session.outboxes:
            box.closed = True
        state = self._states.pop(session.id, None)
        if state is None:
            return
        for task in list(state.tasks.values()) + list(state.opening.values()):
            task.cancel()
        for client in state.clients.values():
            with contextlib.suppress(Exception):
                client.close()

    def close(self) -> None:
        if self._announcing is not None:
            self._announcing.cancel()
        for session in list(self.sessions.values()):
            self.close_session(session)

    # -- client -> group ----------------------------------------------------------------
    def submit(self, session: Session, msg: dict[str, Any], channel: Channel) -> None:
        state = self._states.get(session.id)
        local = next(self._ids)
        pending = Pending(session, msg.get("id"), local, str(msg.get("method")), channel)
        if state is None:
            channel.push(
                jsonrpc.error(pending.client_id, jsonrpc.INVALID_REQUEST, "Initialize first."),
                True,
            )
            return
        if pending.method == "tools/call" and self._direct(state, pending, msg):
            return
        session.inflight[local] = pending
        task = asyncio.get_running_loop().create_task(self._serve(session, state, pending, msg))
        state.tasks[local] = task

    def _direct(self, state: State, pending: Pending, msg: dict[str, Any]) -> bool:
        """Forward a call straight to its member's ready mux (``direct.py``); False when
        the general path must take it. The cached view is current: every change of the
        group or of a member's lists clears it (:meth:`changed`)."""
        merged = self._merged
        spec = self._merged_spec
        if merged is None or spec is None or spec.lean:
            return False
        params = msg.get("params")
        if not isinstance(params, dict):
            return False
        name = params.get("name")
        route = merged.tool_routes.get(name) if isinstance(name, str) else None
        if route is None:
            return False
        client = state.clients.get(route.server)
        if client is None or client.closed:
            return False
        mux = self._mux_of(route.server)
        if mux is None or not mux.ready():
            return False
        if route.name != name:
            params["name"] = route.name  # the parsed request is ours to change
        local = pending.upstream_id
        relay = Relay(self, state, pending, client)
        pending.session.inflight[local] = pending
        state.direct[local] = (mux, client.session)
        try:
            mux.submit(client.session, msg, relay)
        except Unavailable:
            self.direct_done(state, pending)
            params["name"] = name
            return False
        return True

    def direct_done(self, state: State, pending: Pending) -> None:
        pending.session.inflight.pop(pending.upstream_id, None)
        state.direct.pop(pending.upstream_id, None)

    async def _serve(
        self, session: Session, state: State, pending: Pending, msg: dict[str, Any]
    ) -> None:
        params = msg.get("params")
        params = params if isinstance(params, dict) else {}
        try:
            result = await self._handle(session, state, pending, pending.method, params)
            pending.channel.push(jsonrpc.result(pending.client_id, result), True)
        except Refused as exc:
            pending.channel.push(
                jsonrpc.error(pending.client_id, exc.code, exc.message, exc.data), True
            )
        except asyncio.CancelledError:
            if isinstance(pending.channel, PostChannel):
                pending.channel.cancel()
        except Exception:
            log.exception("group %s: %s failed", self.name, pending.method)
            pending.channel.push(
                jsonrpc.error(
                    pending.client_id,
                    jsonrpc.INTERNAL_ERROR,
                    f"Group {self.name!r} could not handle {pending.method}; see the log.",
                ),
                True,
            )
        finally:
            session.inflight.pop(pending.upstream_id, None)
            state.tasks.pop(pending.upstream_id, None)

    async def _handle(
        self,
        session: Session,
        state: State,
        pending: Pending,
        method: str,
        params: dict[str, Any],
    ) -> Any:
        if method == "ping":
            return {}
        key = _LISTS.get(method)
        if key is not None:
            merged = await self.merged()
            items: list[dict[str, Any]]
            if key == "tools":
                items = lean.META_TOOLS if self._spec_of().lean else merged.tools
            else:
                items = getattr(merged, "templates" if key == "resourceTemplates" else key)
            try:
                return pages.page(items, key, params)
            except pages.BadCursor as exc:
                raise Refused(jsonrpc.INVALID_PARAMS, str(exc)) from None
        if method == "tools/call":
            return await self._call_tool(session, state, pending, params)
        if method == "prompts/get":
            merged = await self.merged()
            name = params.get("name")
            route = merged.prompt_routes.get(name) if isinstance(name, str) else None
            if route is None:
                raise missing(self.name, self._spec_of(), self._state_of, merged, "prompt", name)
            return await self._forward(
                session, state, pending, route.server, method, {**params, "name": route.name}
            )
        if method in ("resources/read", "resources/subscribe", "resources/unsubscribe"):
            uri = params.get("uri")
            server = (await self.merged()).resource_server(uri) if isinstance(uri, str) else None
            if server is None:
                raise missing(
                    self.name, self._spec_of(), self._state_of, await self.merged(), "resource", uri
                )
            return await self._forward(session, state, pending, server, method, params)
        if method == "completion/complete":
            return await self._complete(session, state, pending, params)
        if method == "logging/setLevel":
            state.log_level = params
            await self._set_level(list(state.clients.values()), params)
            return {}
        raise Refused(jsonrpc.METHOD_NOT_FOUND, f"Method not found: {method}")

    async def _set_level(self, clients: list[MemberClient], params: dict[str, Any]) -> None:
        """Every member at once; one that does not answer within the lists' wait is not
        waited for (its request goes on; its answer or timeout is dropped)."""
        tasks = [asyncio.ensure_future(c.request("logging/setLevel", params)) for c in clients]
        for task in tasks:
            task.add_done_callback(_drop_outcome)
        if tasks:
            await asyncio.wait(tasks, timeout=self._listings.wait)

    async def _call_tool(
        self, session: Session, state: State, pending: Pending, params: dict[str, Any]
    ) -> Any:
        merged = await self.merged()
        name = params.get("name")
        if self._spec_of().lean and name in (lean.SEARCH, lean.CALL):
            args = params.get("arguments")
            args = args if isinstance(args, dict) else {}
            if name == lean.SEARCH:
                query = args.get("query")
                limit = args.get("limit")
                found = lean.search(
                    merged.tools,
                    query if isinstance(query, str) else "",
                    limit if type(limit) is int else lean.DEFAULT_LIMIT,
                )
                return lean.search_result(found)
            name = args.get("name")
            inner = args.get("arguments")
            meta = params.get("_meta")  # the progress token goes on to the member
            params = {"name": name, "arguments": inner if isinstance(inner, dict) else {}}
            if isinstance(meta, dict):
                params["_meta"] = meta
        route = merged.tool_routes.get(name) if isinstance(name, str) else None
        if route is None:
            raise missing(self.name, self._spec_of(), self._state_of, merged, "tool", name)
        return await self._forward(
            session, state, pending, route.server, "tools/call", {**params, "name": route.name}
        )

    async def _complete(
        self, session: Session, state: State, pending: Pending, params: dict[str, Any]
    ) -> Any:
        merged = await self.merged()
        ref = params.get("ref")
        ref = ref if isinstance(ref, dict) else {}
        if ref.get("type") == "ref/prompt":
            name = ref.get("name")
            route = merged.prompt_routes.get(name) if isinstance(name, str) else None
            if route is None:
                raise missing(self.name, self._spec_of(), self._state_of, merged, "prompt", name)
            params = {**params, "ref": {**ref, "name": route.name}}
            return await self._forward(
                session, state, pending, route.server, "completion/complete", params
            )
        uri = ref.get("uri")
        server = None
        if isinstance(uri, str):
            server = merged.resource_server(uri)
            for tpl, (_, owner) in zip(merged.templates, merged.template_routes, strict=True):
                if tpl.get("uriTemplate") == uri:  # a template's own completion
                    server = owner
                    break
        if server is None:
            raise missing(self.name, self._spec_of(), self._state_of, merged, "resource", uri)
        return await self._forward(session, state, pending, server, "completion/complete", params)

    async def _forward(
        self,
        session: Session,
        state: State,
        pending: Pending,
        server: str,
        method: str,
        params: dict[str, Any],
    ) -> Any:
        client = await self._member(session, state, server)
        try:
            return await client.request(
                method,
                params,
                on_message=lambda m: relay.related(session, state, pending, client, m),
            )
        except Unavailable as exc:
            raise Refused(
                jsonrpc.SERVER_UNAVAILABLE,
                f"{exc} (a member of group {self.name!r})",
                {"server": server, "state": exc.state},
            ) from None
        except RpcError as exc:
            raise Refused(exc.code, exc.message, exc.data) from None

    async def _member(self, session: Session, state: State, server: str) -> MemberClient:
        client = state.clients.get(server)
        if client is not None and not client.closed:
            return client
        current = self._state_of(server) or "missing"
        if current in DOWN:
            raise down(self.name, self._state_of, server, "the call did not reach it")
        task = state.opening.get(server)
        if task is None:
            task = asyncio.get_running_loop().create_task(
                self._open(
                    server,
                    owner=session.owner,
                    via=self.name,
                    capabilities={
                        k: v for k, v in session.capabilities.items() if k in PASSED_CAPS
                    },
                    on_message=lambda m: relay.unrelated(session, state, server, m),
                )
            )
            state.opening[server] = task
        try:
            client = await asyncio.shield(task)
        except Unavailable as exc:
            raise Refused(
                jsonrpc.SERVER_UNAVAILABLE,
                f"{exc} (a member of group {self.name!r})",
                {"server": server, "state": exc.state},
            ) from None
        finally:
            if task.done():
                state.opening.pop(server, None)
        if session.closed:
            client.close()
            raise asyncio.CancelledError
        state.clients[server] = client
        if state.log_level is not None:
            with contextlib.suppress(Exception):
                await client.request("logging/setLevel", state.log_level)
        return client

    # -- member -> group session --------------------------------------------------------
    def notify(self, session: Session, msg: dict[str, Any]) -> None:
        """A client notification, or the client's answer to a server request."""
        state = self._states.get(session.id)
        if state is None:
            return
        method = msg.get("method")
        if method is None:
            relay.answer(state, msg)
            return
        if method == "notifications/cancelled":
            params = msg.get("params")
            request_id = params.get("requestId") if isinstance(params, dict) else None
            for local, pending in list(session.inflight.items()):
                if pending.client_id == request_id and type(pending.client_id) is type(request_id):
                    task = state.tasks.get(local)
                    if task is not None:
                        task.cancel()
                    direct = state.direct.pop(local, None)
                    if direct is not None:
                        mux, member = direct
                        session.inflight.pop(local, None)
                        with contextlib.suppress(Unavailable):
                            mux.notify(member, cancel_message(request_id))
                        if isinstance(pending.channel, PostChannel):
                            pending.channel.cancel()
                    return


def _drop_outcome(task: asyncio.Future[Any]) -> None:
    """A fire-and-forget request's outcome is not wanted (nor logged as never retrieved)."""
    if not task.cancelled():
        task.exception()
