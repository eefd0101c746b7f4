"""Resource subscriptions shared by the clients of one stdio server process (MCP
2025-11-25 server/resources, "Subscriptions").

The process is subscribed to a URI once, however many client sessions subscribe to it:
the first subscriber's ``resources/subscribe`` goes upstream, later ones are answered
here; the last one leaving (``resources/unsubscribe`` or the end of its session)
unsubscribes upstream. A restarted process is subscribed again to every live URI
(:class:`~switchboard.gateway.mux.StdioMux` re-initializes it). Who receives
``notifications/resources/updated`` is each session's own set
(``Session.subscriptions``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from switchboard.gateway import jsonrpc
from switchboard.gateway.channels import Channel, Session


class Subscriptions:
    """Subscribed URIs of one server process, counted over client sessions."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        """URI -> number of sessions subscribed to it."""

    def __iter__(self) -> Iterator[str]:
        return iter(self.counts)

    def __len__(self) -> int:
        return len(self.counts)

    def handle(self, session: Session, msg: dict[str, Any], channel: Channel) -> bool:
        """A client's ``resources/subscribe`` or ``resources/unsubscribe``: True when
        answered here (on ``channel``) without the server, False when the server must
        hear it (first subscriber of the URI, or last one leaving)."""
        params = msg.get("params")
        uri = params.get("uri") if isinstance(params, dict) else None
        if not isinstance(uri, str):
            return False
        if msg.get("method") == "resources/subscribe":
            if uri in session.subscriptions:
                channel.push(jsonrpc.result(msg.get("id"), {}), True)
                return True
            session.subscriptions.add(uri)
            count = self.counts.get(uri, 0)
            self.counts[uri] = count + 1
            if count == 0:
                return False  # first subscriber: the server hears about it
            channel.push(jsonrpc.result(msg.get("id"), {}), True)
            return True
        if uri not in session.subscriptions:
            channel.push(jsonrpc.result(msg.get("id"), {}), True)
            return True
        session.subscriptions.discard(uri)
        count = self.counts.get(uri, 0) - 1
        if count > 0:
            self.counts[uri] = count
            channel.push(jsonrpc.result(msg.get("id"), {}), True)
            return True
        self.counts.pop(uri, None)
        return False  # last subscriber left: the server hears about it

    def release(self, session: Session) -> list[str]:
        """Drop the subscriptions of an ending session; returns the URIs nobody is
        subscribed to any more (the server is to be unsubscribed from them)."""
        gone = []
        for uri in session.subscriptions:
            count = self.counts.get(uri, 0) - 1
            if count > 0:
                self.counts[uri] = count
                continue
            self.counts.pop(uri, None)
            gone.append(uri)
        session.subscriptions.clear()
        return gone
