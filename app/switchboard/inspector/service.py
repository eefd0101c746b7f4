"""The Inspector's engine side: list a running server's tools, prompts, resources and
templates, call a tool (with progress and cancel), get a prompt, read a resource.

Everything goes through the gateway's mux as an in-process session
(:meth:`Gateway.open_internal <switchboard.gateway.gateway.Gateway.open_internal>`), so
the Inspector talks to the very process MCP clients use: no second process, and what it
sees is what they see. Each operation opens its own short session and closes it.

MCP 2025-11-25: ``server/tools`` (``tools/list``, ``tools/call``), ``server/prompts``
(``prompts/list``, ``prompts/get``), ``server/resources`` (``resources/list``,
``resources/templates/list``, ``resources/read``), pagination (``cursor`` /
``nextCursor``), ``basic/utilities/progress`` (``_meta.progressToken``) and
``basic/utilities/cancellation`` (cancelling the awaiting task cancels upstream).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from switchboard import __version__
from switchboard.core.errors import ServerNotRunning, SwitchboardError
from switchboard.gateway.internal import InternalClient, RpcError
from switchboard.gateway.mux import Unavailable

if TYPE_CHECKING:
    from switchboard.gateway.gateway import Gateway

log = logging.getLogger("switchboard.inspector")

CLIENT_INFO = {"name": "switchboard-inspector", "title": "Switchboard Inspector"}
MAX_PAGES = 100
"""A server whose list never ends (a ``nextCursor`` forever) is cut off here."""

ProgressCallback = Callable[[float, float | None, str], None]
"""(progress, total or None, message) of a running request."""


class InspectorError(SwitchboardError):
    """The server answered the Inspector's request with an error."""

    def __init__(self, message: str, *, hint: str = "", code: int = 0) -> None:
        super().__init__(message, hint=hint)
        self.code = code


class Inspector:
    """Lists and calls a server's features through the gateway (see the module doc)."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self._tokens = itertools.count(1)

    @contextlib.asynccontextmanager
    async def _session(self, name: str, via: str | None = None) -> AsyncIterator[InternalClient]:
        try:
            client = await self._gateway.open_internal(
                name,
                client_info={**CLIENT_INFO, "version": __version__},
                capabilities={},
                via=via,
                on_message=_on_message,
            )
        except Unavailable as exc:
            raise _down(name, exc) from None
        try:
            yield client
        finally:
            client.close()

    async def listing(self, name: str) -> dict[str, Any]:
        """What server ``name`` offers: ``{"server", "serverInfo", "instructions",
        "tools", "prompts", "resources", "resourceTemplates"}`` (each list as the server
        sent it; a feature the server does not declare is an empty list)."""
        async with self._session(name) as client:
            init = client.initialize_result
            caps = init.get("capabilities")
            caps = caps if isinstance(caps, dict) else {}
            out: dict[str, Any] = {
                "server": name,
                "serverInfo": init.get("serverInfo") or {},
                "instructions": init.get("instructions") or "",
                "tools": [],
                "prompts": [],
                "resources": [],
                "resourceTemplates": [],
            }
            if "tools" in caps:
                out["tools"] = await _all(client, name, "tools/list", "tools")
            if "prompts" in caps:
                out["prompts"] = await _all(client, name, "prompts/list", "prompts")
            if "resources" in caps:
                out["resources"] = await _all(client, name, "resources/list", "resources")
                out["resourceTemplates"] = await _all(
                    client, name, "resources/templates/list", "resourceTemplates"
                )
            return out

    async def call_tool(
        self,
        name: str,
        tool: str,
        arguments: dict[str, Any],
        *,
        on_progress: ProgressCallback | None = None,
        via: str | None = None,
    ) -> dict[str, Any]:
        """``tools/call``: the CallToolResult (a tool's own failure is ``isError`` in
        it, not an exception). Cancel the awaiting task to cancel the call upstream.
        ``via``: the group the call is made through (activity records it)."""
        params: dict[str, Any] = {"name": tool, "arguments": arguments}
        return await self._request(name, "tools/call", params, on_progress, via)

    # -- groups -----------------------------------------------------------------------
    async def group_tools(self, group: str) -> dict[str, Any]:
        """The tools group ``group`` exposes, as its clients see them: ``{"group",
        "tools": [tool objects named as exposed, with the member's input schema and
        annotations, and "server"/"tool": the member and its own name], "members":
        [{"server", "state", "error"}]}``. From ``Gateway.group_listing`` (the group
        endpoint's naming and filters) and each running member's own tools/list."""
        merged = await self._gateway.group_listing(group)  # GroupNotFound
        tools: list[dict[str, Any]] = []
        members: list[dict[str, Any]] = []
        for member in merged.get("members") or []:
            server = str(member.get("server", ""))
            members.append(
                {"server": server, "state": member.get("state"), "error": member.get("error")}
            )
            shown = [
                t for t in member.get("tools") or [] if t.get("exposed") and t.get("enabled", True)
            ]
            if not shown:
                continue
            try:
                own = {t.get("name"): t for t in (await self.listing(server))["tools"]}
            except (ServerNotRunning, InspectorError) as exc:
                members[-1]["error"] = members[-1]["error"] or exc.message
                continue
            for entry in shown:
                tool = own.get(entry.get("name"))
                if not isinstance(tool, dict):
                    continue
                tools.append(
                    {
                        **tool,
                        "name": entry["exposed"],
                        "description": entry.get("description") or tool.get("description", ""),
                        "server": server,
                        "tool": tool.get("name"),
                    }
                )
        return {"group": group, "tools": tools, "members": members}

    async def call_group_tool(
        self,
        group: str,
        exposed: str,
        arguments: dict[str, Any],
        *,
        on_progress: ProgressCallback | None = None,
    ) -> dict[str, Any]:
        """Call the tool group ``group`` exposes as ``exposed``: on its member server,
        by its own name, through the group (``via``)."""
        listing = await self.group_tools(group)
        for tool in listing["tools"]:
            if tool["name"] == exposed:
                return await self.call_tool(
                    str(tool["server"]),
                    str(tool["tool"]),
                    arguments,
                    on_progress=on_progress,
                    via=group,
                )
        names = ", ".join(sorted(str(t["name"]) for t in listing["tools"])) or "none"
        raise InspectorError(
            f"Group {group!r} exposes no tool {exposed!r}.", hint=f"Its tools: {names}."
        )

    async def get_prompt(self, name: str, prompt: str, arguments: dict[str, str]) -> dict[str, Any]:
        """``prompts/get``: the GetPromptResult (description, messages)."""
        return await self._request(
            name, "prompts/get", {"name": prompt, "arguments": arguments}, None, None
        )

    async def read_resource(self, name: str, uri: str) -> dict[str, Any]:
        """``resources/read``: the ReadResourceResult (contents)."""
        return await self._request(name, "resources/read", {"uri": uri}, None, None)

    async def _request(
        self,
        name: str,
        method: str,
        params: dict[str, Any],
        on_progress: ProgressCallback | None,
        via: str | None,
    ) -> dict[str, Any]:
        token = f"inspector-{next(self._tokens)}"
        params = {**params, "_meta": {"progressToken": token}}

        def related(msg: dict[str, Any]) -> None:
            if msg.get("method") == "notifications/progress":
                p = msg.get("params")
                if on_progress and isinstance(p, dict) and p.get("progressToken") == token:
                    done, total = _num(p.get("progress")) or 0.0, _num(p.get("total"))
                    on_progress(done, total, str(p.get("message") or ""))
            else:
                _on_message(msg)

        async with self._session(name, via) as client:
            try:
                return await client.request(method, params, on_message=related)
            except RpcError as exc:
                raise InspectorError(
                    f"Server {name!r} answered {method} with an error: {exc.message}",
                    hint=_hint(name, exc.code),
                    code=exc.code,
                ) from None
            except Unavailable as exc:
                raise _down(name, exc) from None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _on_message(msg: dict[str, Any]) -> None:
    """Messages the Inspector does not use (log lines, list changes) are dropped; it
    declares no client capabilities, so the gateway refuses the server's requests."""
    log.debug("inspector: ignored %s", msg.get("method"))


def _hint(name: str, code: int) -> str:
    if code == -32601:
        return f"Server {name!r} does not offer this; see 'switchboard tools {name}'."
    if code == -32602:
        return f"Check the name and arguments against 'switchboard tools {name} --json'."
    return f"See 'switchboard logs {name}' for the server's side."


def _down(name: str, exc: Unavailable) -> SwitchboardError:
    if exc.state == "pass-through":  # a running HTTP server the gateway only forwards to
        return InspectorError(
            str(exc),
            hint="The Inspector works with stdio servers; use an MCP client on its URL.",
        )
    return ServerNotRunning(
        str(exc), hint=f"Start it: 'switchboard start {name}' or from the window."
    )


async def _all(client: InternalClient, name: str, method: str, key: str) -> list[Any]:
    """Every page of a paginated list (MCP 2025-11-25 ``server/utilities/pagination``)."""
    items: list[Any] = []
    cursor: Any = None
    for _ in range(MAX_PAGES):
        try:
            page = await client.request(method, {"cursor": cursor} if cursor else {})
        except RpcError as exc:
            raise InspectorError(
                f"Server {name!r} could not list its {key}: {exc.message}",
                hint=f"See 'switchboard logs {name}'.",
                code=exc.code,
            ) from None
        except Unavailable as exc:
            raise _down(name, exc) from None
        got = page.get(key)
        if isinstance(got, list):
            items.extend(got)
        cursor = page.get("nextCursor")
        if not isinstance(cursor, str) or not cursor:
            return items
    log.warning("server %s: %s gave over %d pages; the rest is left out", name, method, MAX_PAGES)
    return items


__all__ = ["CLIENT_INFO", "Inspector", "InspectorError", "ProgressCallback"]
