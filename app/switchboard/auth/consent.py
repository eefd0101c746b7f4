"""The ConsentBroker: the authorize endpoint never approves by itself.

A pending :class:`ConsentRequest` waits until a person decides: in the GUI (a native
dialog), or headless with ``switchboard consent approve ID``. Front ends learn of new
requests through the engine's events (a ``Notice`` with kind ``"consent"``) or by
polling :meth:`ConsentBroker.pending`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import secrets
import time
from collections.abc import Callable

log = logging.getLogger("switchboard.auth")


class Decision(enum.Enum):
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"


@dataclasses.dataclass(frozen=True, slots=True)
class ConsentRequest:
    """What a person is asked to approve."""

    id: str
    client_id: str
    client_name: str
    redirect_uri: str
    redirect_host: str
    server: str
    """The server name (gateway path segment) the token would be for."""
    resource: str
    scopes: tuple[str, ...]
    created_at: float


class ConsentBroker:
    """Holds pending requests; ``decide`` resolves one. ``on_request`` observers are
    called (synchronously, in the loop) whenever a new request arrives."""

    def __init__(self, timeout: float = 300.0) -> None:
        self.timeout = timeout
        self._pending: dict[str, tuple[ConsentRequest, asyncio.Future[tuple[Decision, bool]]]] = {}
        self._observers: list[Callable[[ConsentRequest], None]] = []
        self._decided_observers: list[Callable[[str, Decision], None]] = []
        # Decisions made before anyone waited (the CLI can approve before the browser
        # page posts back); bounded, oldest dropped first.
        self._decided: dict[str, tuple[Decision, bool]] = {}

    def on_decided(self, observer: Callable[[str, Decision], None]) -> Callable[[], None]:
        """``observer(request_id, decision)`` whenever a request leaves the pending list
        (decided anywhere, expired): lets a dialog close when the CLI decided first."""
        self._decided_observers.append(observer)
        return lambda: (
            self._decided_observers.remove(observer)
            if observer in self._decided_observers
            else None
        )

    def _notify_decided(self, request_id: str, decision: Decision) -> None:
        for observer in tuple(self._decided_observers):
            try:
                observer(request_id, decision)
            except Exception:
                log.exception("consent observer failed")

    def on_request(self, observer: Callable[[ConsentRequest], None]) -> Callable[[], None]:
        self._observers.append(observer)
        return lambda: self._observers.remove(observer) if observer in self._observers else None

    def pending(self) -> list[ConsentRequest]:
        return [req for req, _ in self._pending.values()]

    def open(
        self,
        *,
        client_id: str,
        client_name: str,
        redirect_uri: str,
        redirect_host: str,
        server: str,
        resource: str,
        scopes: tuple[str, ...],
    ) -> ConsentRequest:
        """Register a new request (does not wait)."""
        req = ConsentRequest(
            # Hex: an id is typed into the CLI, and one starting with "-" reads as an option.
            id=secrets.token_hex(12),
            client_id=client_id,
            client_name=client_name,
            redirect_uri=redirect_uri,
            redirect_host=redirect_host,
            server=server,
            resource=resource,
            scopes=scopes,
            created_at=time.time(),
        )
        fut: asyncio.Future[tuple[Decision, bool]] = asyncio.get_running_loop().create_future()
        self._pending[req.id] = (req, fut)
        for observer in tuple(self._observers):
            observer(req)
        return req

    async def wait(self, request_id: str, timeout: float | None = None) -> tuple[Decision, bool]:
        """Wait for the decision: (decision, remember)."""
        done = self._decided.pop(request_id, None)
        if done is not None:
            return done
        entry = self._pending.get(request_id)
        if entry is None:
            return Decision.EXPIRED, False
        try:
            result = await asyncio.wait_for(asyncio.shield(entry[1]), timeout or self.timeout)
            self._decided.pop(request_id, None)
            return result
        except TimeoutError:
            if self._pending.pop(request_id, None) is not None:
                self._notify_decided(request_id, Decision.EXPIRED)
            return Decision.EXPIRED, False

    def decide(self, request_id: str, approve: bool, remember: bool = False) -> bool:
        """Resolve a pending request. Returns False if it was unknown or already decided."""
        entry = self._pending.pop(request_id, None)
        if entry is None or entry[1].done():
            return False
        result = (Decision.APPROVED if approve else Decision.DENIED, remember)
        entry[1].set_result(result)
        self._notify_decided(request_id, result[0])
        self._decided[request_id] = result
        while len(self._decided) > 256:
            self._decided.pop(next(iter(self._decided)))
        return True

    def expire(self, request_id: str) -> bool:
        """Drop an undecided request (its waiter gets EXPIRED)."""
        entry = self._pending.pop(request_id, None)
        if entry is None or entry[1].done():
            return False
        entry[1].set_result((Decision.EXPIRED, False))
        self._notify_decided(request_id, Decision.EXPIRED)
        return True

    def get(self, request_id: str) -> ConsentRequest | None:
        entry = self._pending.get(request_id)
        return entry[0] if entry else None
