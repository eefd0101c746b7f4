"""The ConsentBroker: the authorize endpoint never approves by itself.

A pending :class:`ConsentRequest` waits until a person decides: in the GUI (a native
dialog, or the Approve action of its notification), or headless with
``switchboard consent approve ID``. Front ends learn of new requests through the
engine's events (a ``Notice`` with kind ``"consent"``) or by polling
:meth:`ConsentBroker.pending`.

A request whose authorization named no server (no RFC 8707 ``resource``, or only the
gateway's origin) is marked ``choose``: the person picks which of ``choices`` (servers,
and groups as ``group:NAME``) the client may use (RFC 8707 §2: the server picks the
default audience; the person's pick is it). Approving it needs at least one
(:class:`ChoiceRequired`). A request for a group, and every group among the choices,
carries the group's member servers (``groups``) so the person sees what it opens.

A remembered approval never answers a request by itself: a public client's identity
cannot be assured (anyone who knows its client id can start an authorization with its
own loopback redirect and PKCE verifier), so RFC 8252 §8.6 forbids processing such a
request automatically. A remembered approval only marks the request
``previously_approved`` (the dialog says so and re-approval is one click).

Caps (a flood of authorization requests must not lock real clients out): at most
:data:`MAX_PENDING_PER_CLIENT` pending requests per client id and
:data:`MAX_PENDING_PER_SOURCE` per source (a non-loopback redirect host, a private-use
URI scheme, or the host of a Client ID Metadata Document URL); a newer request replaces
the oldest of its own group. Above :data:`MAX_PENDING` (memory), the oldest request of
the client holding the most pending requests makes room. Nobody is refused.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from switchboard.auth.targetkeys import GROUPS, label, labels, split_key
from switchboard.core.loopback import is_loopback_host

log = logging.getLogger("switchboard.auth")

MAX_PENDING_PER_CLIENT = 3
MAX_PENDING_PER_SOURCE = 10
MAX_PENDING = 200


class ChoiceRequired(ValueError):
    """Approving a "choose servers" request without a valid choice of servers (or naming
    servers for a request that is for one server already). The text says what to do."""


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
    """The target key the token would be for: a server name (gateway path segment), or
    ``group:NAME`` for a group (``auth/targetkeys.py``)."""
    resource: str
    scopes: tuple[str, ...]
    created_at: float
    previously_approved: bool = False
    """The person approved this client for this server before and asked to remember it.
    Shown as such (one-click re-approval); it never approves by itself."""
    choices: tuple[str, ...] = ()
    """For a ``choose`` request: the keys the person may pick from (none preselected)."""
    groups: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict, hash=False)
    """The member servers of each group among ``server`` and ``choices``, by key."""

    @property
    def choose(self) -> bool:
        """The authorization named no server: the person picks them (``server`` is "")."""
        return bool(self.choices) and not self.server

    @property
    def target(self) -> str:
        """What the request is for, as a person reads it: ``time``, or ``group work
        (servers: time, github)``; "" for a ``choose`` request."""
        return label(self.server, self.groups) if self.server else ""

    def describe(self, key: str) -> str:
        """One of ``choices`` as a person reads it (a group with its servers)."""
        return label(key, self.groups)


class RedirectKind(enum.Enum):
    """Where the authorization answer (the code) goes."""

    LOOPBACK = "loopback"
    """An http listener on this computer (RFC 8252 §7.3)."""
    APP = "app"
    """A private-use URI scheme (RFC 8252 §7.1): whatever app registered it."""
    REMOTE = "remote"
    """A web address that is not this computer."""


@dataclasses.dataclass(frozen=True, slots=True)
class RedirectTarget:
    """A redirect URI described for a person."""

    uri: str
    kind: RedirectKind
    where: str
    """``this computer (port 5555)``, ``the app registered for cursor://`` or the host."""

    @property
    def warning(self) -> str:
        """What to be careful about, or "" for a loopback redirect."""
        if self.kind is RedirectKind.APP:
            scheme = urlsplit(self.uri).scheme
            return (
                f"Approving opens the app registered for {scheme}:// on this computer and "
                "hands it the access. Any app can register that scheme: approve only if "
                "you just connected that app."
            )
        if self.kind is RedirectKind.REMOTE:
            return (
                f"The answer goes to {self.where}, which is not this computer. Approve only "
                "if you trust that site with access to your server."
            )
        return ""


def redirect_target(uri: str) -> RedirectTarget:
    """Describe ``uri``: a loopback http listener, a private-use scheme, or elsewhere."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return RedirectTarget(uri, RedirectKind.REMOTE, "an address that cannot be read")
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if is_loopback_host(host):
            return RedirectTarget(
                uri,
                RedirectKind.LOOPBACK,
                f"this computer (port {port})" if port else "this computer",
            )
        return RedirectTarget(uri, RedirectKind.REMOTE, parts.netloc or uri)
    return RedirectTarget(uri, RedirectKind.APP, f"the app registered for {scheme}://")


def redirect_short(uri: str) -> str:
    """``127.0.0.1:5555`` for http(s), ``cursor://`` for a private-use scheme."""
    if not uri:
        return "?"
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    if parts.scheme.lower() in ("http", "https"):
        return parts.netloc or uri
    return f"{parts.scheme}://"


def source_of(request: ConsentRequest) -> str | None:
    """The group a request is capped with besides its client id: the host of a Client
    ID Metadata Document URL, a non-loopback redirect host, a private-use scheme. None
    for a loopback redirect (every local client shares it)."""
    try:
        cid = urlsplit(request.client_id)
        if cid.scheme == "https" and cid.hostname:
            return f"cimd:{cid.hostname.lower()}"
        parts = urlsplit(request.redirect_uri)
        host = (parts.hostname or "").lower()
    except ValueError:
        return "invalid"
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return f"scheme:{scheme}"
    return None if is_loopback_host(host) else f"host:{host}"


@dataclasses.dataclass(slots=True)
class _Entry:
    request: ConsentRequest
    future: asyncio.Future[tuple[Decision, bool]]
    timer: asyncio.TimerHandle | None = None


class ConsentBroker:
    """Holds pending requests; ``decide`` resolves one. ``on_request`` observers are
    called (synchronously, in the loop) whenever a new request arrives. A request
    nobody decides expires after ``timeout`` seconds."""

    def __init__(
        self,
        timeout: float = 300.0,
        *,
        max_per_client: int = MAX_PENDING_PER_CLIENT,
        max_per_source: int = MAX_PENDING_PER_SOURCE,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.timeout = timeout
        self.max_per_client = max_per_client
        self.max_per_source = max_per_source
        self.max_pending = max_pending
        self._pending: dict[str, _Entry] = {}
        self._observers: list[Callable[[ConsentRequest], None]] = []
        self._decided_observers: list[Callable[[str, Decision], None]] = []
        # Decisions made before anyone waited (the CLI can approve before the browser
        # page posts back); bounded, oldest dropped first.
        self._decided: dict[str, tuple[Decision, bool]] = {}
        # The servers picked for approved "choose" requests, until the page collects them.
        self._chosen: dict[str, tuple[str, ...]] = {}
        self._ceiling_warned = -60.0

    def on_decided(self, observer: Callable[[str, Decision], None]) -> Callable[[], None]:
        """``observer(request_id, decision)`` whenever a request leaves the pending list
        (decided anywhere, expired, replaced): lets a dialog close when the CLI decided
        first."""
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
        return [entry.request for entry in self._pending.values()]

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
        previously_approved: bool = False,
        choices: tuple[str, ...] = (),
        groups: Mapping[str, tuple[str, ...]] | None = None,
    ) -> ConsentRequest:
        """Register a new request (does not wait); makes room under the caps first.
        ``server=""`` with ``choices``: a "choose servers" request. ``groups``: the
        member servers of the groups among them, by key."""
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
            previously_approved=previously_approved,
            choices=choices,
            groups=dict(groups or {}),
        )
        loop = asyncio.get_running_loop()
        self._make_room(req)
        entry = _Entry(req, loop.create_future())
        entry.timer = loop.call_later(self.timeout, self.expire, req.id)
        self._pending[req.id] = entry
        for observer in tuple(self._observers):
            observer(req)
        return req

    def _make_room(self, new: ConsentRequest) -> None:
        """Per client, per source, then the global ceiling: the oldest in the group goes
        (its waiter gets EXPIRED and its dialog closes)."""
        pending = self._pending.values()
        same = [e.request.id for e in pending if e.request.client_id == new.client_id]
        for rid in same[: max(0, len(same) - self.max_per_client + 1)]:
            log.debug("consent request %s replaced by a newer one of the same client", rid)
            self.expire(rid)
        source = source_of(new)
        if source is not None:
            same = [e.request.id for e in self._pending.values() if source_of(e.request) == source]
            for rid in same[: max(0, len(same) - self.max_per_source + 1)]:
                log.debug("consent request %s replaced by a newer one from %s", rid, source)
                self.expire(rid)
        while self._pending and len(self._pending) >= self.max_pending:
            counts = Counter(e.request.client_id for e in self._pending.values())
            most = max(counts.values())
            victim = next(
                e.request.id for e in self._pending.values() if counts[e.request.client_id] == most
            )
            now = time.monotonic()
            if now - self._ceiling_warned >= 60.0:  # a flood must not flood the log too
                self._ceiling_warned = now
                log.warning(
                    "%d consent requests pending (the most from %s): dropping the oldest",
                    len(self._pending),
                    self._pending[victim].request.client_id,
                )
            self.expire(victim)

    async def wait(self, request_id: str, timeout: float | None = None) -> tuple[Decision, bool]:
        """Wait for the decision: (decision, remember)."""
        done = self._decided.pop(request_id, None)
        if done is not None:
            return done
        entry = self._pending.get(request_id)
        if entry is None:
            return Decision.EXPIRED, False
        try:
            result = await asyncio.wait_for(asyncio.shield(entry.future), timeout or self.timeout)
            self._decided.pop(request_id, None)
            return result
        except TimeoutError:
            self.expire(request_id)
            return Decision.EXPIRED, False

    def decide(
        self,
        request_id: str,
        approve: bool,
        remember: bool = False,
        servers: tuple[str, ...] | list[str] = (),
    ) -> bool:
        """Resolve a pending request. Returns False if it was unknown or already decided.

        Approving a ``choose`` request needs ``servers``, a non-empty subset of its
        ``choices``; a request for one server takes no ``servers`` (or just its own).
        Otherwise :class:`ChoiceRequired` is raised and the request stays pending."""
        entry = self._pending.get(request_id)
        if entry is None or entry.future.done():
            return False
        picked = tuple(dict.fromkeys(servers))
        if approve:
            picked = _check_choice(entry.request, picked)
        self._pending.pop(request_id, None)
        if entry.timer is not None:
            entry.timer.cancel()
        result = (Decision.APPROVED if approve else Decision.DENIED, remember)
        entry.future.set_result(result)
        self._notify_decided(request_id, result[0])
        self._decided[request_id] = result
        if approve and entry.request.choose:
            self._chosen[request_id] = picked
        while len(self._decided) > 256:
            self._decided.pop(next(iter(self._decided)))
        while len(self._chosen) > 256:
            self._chosen.pop(next(iter(self._chosen)))
        return True

    def chosen(self, request_id: str) -> tuple[str, ...]:
        """The servers picked when the ``choose`` request ``request_id`` was approved
        (handed out once); () for any other request."""
        return self._chosen.pop(request_id, ())

    def expire(self, request_id: str) -> bool:
        """Drop an undecided request (its waiter gets EXPIRED)."""
        entry = self._pending.pop(request_id, None)
        if entry is None or entry.future.done():
            return False
        if entry.timer is not None:
            entry.timer.cancel()
        entry.future.set_result((Decision.EXPIRED, False))
        self._notify_decided(request_id, Decision.EXPIRED)
        return True

    def get(self, request_id: str) -> ConsentRequest | None:
        entry = self._pending.get(request_id)
        return entry.request if entry else None


def _check_choice(request: ConsentRequest, picked: tuple[str, ...]) -> tuple[str, ...]:
    if not request.choose:
        if picked and picked != (request.server,):
            kind, name = split_key(request.server)
            what, option = ("group", "--group") if kind == GROUPS else ("server", "--server")
            raise ChoiceRequired(
                f"This request is for the {what} {name!r} only; approve it without {option}."
            )
        return ()
    if not picked:
        raise ChoiceRequired(
            f"{request.client_name or request.client_id} did not say which server it wants: "
            "choose at least one with --server NAME or --group NAME (repeat for more). "
            "Choices: " + labels(request.choices, request.groups) + "."
        )
    unknown = [s for s in picked if s not in request.choices]
    if unknown:
        raise ChoiceRequired(
            f"Not a server this request can be approved for: {labels(unknown)}. "
            "Choose from: " + labels(request.choices, request.groups) + "."
        )
    return picked
