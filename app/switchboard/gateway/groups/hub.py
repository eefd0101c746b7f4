"""The gateway's groups: one :class:`GroupMux` per group in use, the member servers'
:class:`Listings`, the events that change them, and the live listings other parts read
(``Gateway.server_listing`` / ``Gateway.group_listing``, DESIGN.md).

Events (engine bus): a member's state change forgets its lists and tells the groups it
belongs to (their sessions hear ``list_changed``: its tools go when it stops and come
back when it runs); ``GroupsChanged`` (an edit) does the same for the groups named; a
removed group's sessions end (404 from then on, as for a removed server).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.types import Receive, Scope, Send

from switchboard import __version__
from switchboard.core.auth import AuthDenied
from switchboard.core.errors import GroupNotFound, ServerNotFound
from switchboard.core.group import GroupSpec
from switchboard.gateway import jsonrpc
from switchboard.gateway.channels import Unavailable
from switchboard.gateway.groups.listings import Listings, MemberClient, OnMessage
from switchboard.gateway.groups.naming import merge
from switchboard.gateway.groups.runtime import GroupMux
from switchboard.gateway.groups.target import GroupTarget
from switchboard.gateway.http_io import HTTPError, json_error, respond
from switchboard.gateway.sessions import Owner, owner_of

if TYPE_CHECKING:
    from switchboard.gateway.gateway import Gateway, GatewayHost

log = logging.getLogger("switchboard.gateway")

CLIENT_INFO = {"name": "switchboard-group", "version": __version__}


class GroupHub:
    """Groups as the gateway serves them (see the module docstring)."""

    def __init__(self, gateway: Gateway, host: GatewayHost) -> None:
        self._gw = gateway
        self._host = host
        self.muxes: dict[str, GroupMux] = {}
        """By session key ``groups/<name>``."""
        self._specs: dict[str, GroupSpec] = {}
        self._targets: dict[str, GroupTarget] = {}
        """The last spec seen per group (a request racing a removal still has one)."""
        self.listings = Listings(self._open_client, self.state_of)
        self.listings.listeners.append(self._member_changed)

    # -- lookups ----------------------------------------------------------------------
    def spec(self, name: str) -> GroupSpec:
        """The group's spec now (raises GroupNotFound)."""
        spec = self._host.group(name)
        self._specs[name] = spec
        return spec

    def _spec_of(self, name: str) -> Callable[[], GroupSpec]:
        def current() -> GroupSpec:
            try:
                return self.spec(name)
            except GroupNotFound:
                return self._specs.get(name) or GroupSpec(name)

        return current

    def state_of(self, server: str) -> str | None:
        try:
            return str(self._host.supervisor.get(server).state.value)
        except ServerNotFound:
            return None

    async def _open_client(
        self,
        server: str,
        *,
        owner: Owner | None,
        via: str | None,
        capabilities: dict[str, Any],
        on_message: OnMessage,
    ) -> MemberClient:
        try:
            return await self._gw.open_internal(
                server,
                client_info=CLIENT_INFO,
                capabilities=capabilities,
                owner=owner,
                via=via,
                on_message=on_message,
            )
        except ServerNotFound:
            raise Unavailable(f"Server {server!r} is not configured.", "missing") from None

    def target(self, name: str) -> GroupTarget:
        """The request's target for group ``name`` (its mux made on first use)."""
        target = self._targets.get(name)
        if target is not None and self.muxes.get(target.name) is target.mux:
            return target
        key = f"groups/{name}"
        mux = self.muxes.get(key)
        if mux is None:
            mux = self.muxes[key] = GroupMux(
                name,
                spec_of=self._spec_of(name),
                listings=self.listings,
                open_client=self._open_client,
                state_of=self.state_of,
                mux_of=self._gw.mux_of,
                version=__version__,
            )
        target = self._targets[name] = GroupTarget(name, mux)
        return target

    async def dispatch(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        """``/groups/<name>/{mcp,sse,messages}``: as for a server, with the group's
        :class:`GroupMux` in place of a server's mux. Sign-in is the auth port's, given
        the :class:`GroupSpec` (RFC 9728 resource: the group's URL)."""
        i = path.find("/groups/")
        name, _, endpoint = path[i + 8 :].partition("/")
        host = authorization = None
        for key, value in scope["headers"]:
            if key == b"host":
                host = value
            elif key == b"authorization":
                authorization = value
        try:
            try:
                spec = self.spec(name)
            except GroupNotFound:
                raise HTTPError(
                    404,
                    json_error(
                        "not_found",
                        f"No group named {name!r}.",
                        "Run 'switchboard group list' to see configured groups.",
                    ),
                ) from None
            if endpoint not in ("mcp", "sse", "messages"):
                raise HTTPError(404, json_error("not_found", "No such endpoint.", "Use .../mcp."))
            kind = "sse" if endpoint == "messages" else endpoint
            host_header = host.decode("latin-1") if host is not None else None
            try:
                principal = await self._host.authenticator.authenticate(
                    server=spec,
                    resource=f"http://{host_header}{path[:i]}/groups/{name}/{kind}",
                    authorization=authorization.decode("latin-1") if authorization else None,
                )
            except AuthDenied as denied:
                raise HTTPError(
                    denied.status,
                    jsonrpc.dumps(denied.body),
                    [(b"www-authenticate", denied.www_authenticate.encode("latin-1"))],
                ) from None
            await self._gw.serve(
                scope,
                receive,
                send,
                self.target(name),
                endpoint,
                path[:i],
                owner_of(principal),
            )
        except HTTPError as exc:
            await respond(send, exc.status, exc.body, exc.headers)

    # -- events -----------------------------------------------------------------------
    def _member_changed(self, server: str) -> None:
        for mux in list(self.muxes.values()):
            if server in mux.spec().servers:
                mux.changed()

    def server_state_changed(self, server: str) -> None:
        self.listings.invalidate(server)

    def server_removed(self, server: str) -> None:
        self.listings.forget(server)

    def groups_changed(self, names: tuple[str, ...]) -> None:
        """After a group edit (``GroupsChanged``; empty ``names``: all)."""
        for key, mux in list(self.muxes.items()):
            if names and mux.name not in names:
                continue
            try:
                self.spec(mux.name)
            except GroupNotFound:
                self.close_group(key)
                continue
            mux.changed()

    def close_group(self, key: str) -> None:
        self._targets.pop(key[len("groups/") :], None)
        mux = self.muxes.pop(key, None)
        if mux is None:
            return
        self._gw.sessions.forget_server(mux.sessions.values())
        mux.close()

    def close(self) -> None:
        for key in list(self.muxes):
            self.close_group(key)
        self.listings.close()

    # -- live listings (DESIGN.md) ----------------------------------------------------
    async def server_listing(self, name: str) -> dict[str, Any]:
        """``{"server", "state", "tools", "prompts", "resources", "resourceTemplates",
        "error"}``: the server's lists as it sent them. Starts nothing."""
        if self.state_of(name) is None:
            raise ServerNotFound(name)
        return (await self.listings.get(name)).to_dict()

    async def group_listing(self, name: str) -> dict[str, Any]:
        """``{"group", "members": [...], "exposed_tools": n}`` (DESIGN.md)."""
        spec = self.spec(name)
        found = await asyncio.gather(*(self.listings.get(s) for s in spec.servers))
        merged = merge(spec, {listing.server: listing for listing in found})
        return {"group": name, "members": merged.members, "exposed_tools": len(merged.tools)}
