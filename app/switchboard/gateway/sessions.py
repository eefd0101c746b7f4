"""The gateway's session table: who owns each session, and how many each may hold.

**Sessions are not authentication** (MCP security best practices, "Session
Hijacking"): a session id is bound to the caller that created it, the ``client_id``
and ``sub`` of its access token (:class:`~switchboard.core.auth.Principal`). A
request that presents the id with another caller's token finds no session (404, as an
unknown id: it learns nothing). Servers with authorization off have no caller to bind
to: their sessions are bound to nothing, and anyone who can reach the server (any local
program) may use an id it learns.

**One caller cannot lock the others out** (issue 10.9): sessions are counted per
*bucket*, the token's caller, or for callers without a token (authorization off) the
server they call: nothing on this computer tells two token-less local programs apart.
A bucket at :data:`MAX_PER_CLIENT` makes room by ending its own least recently used
idle session (no open stream, no request in flight); if it has none, the new session
is refused (429) for that caller only. :data:`MAX_SESSIONS` is a ceiling for memory
over all buckets; at it, the **largest** bucket gives up its least recently used idle
session, so a flood costs the flooder, not the others. Idle sessions are forgotten
after :data:`SESSION_IDLE` seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping

from switchboard.core.auth import ANONYMOUS, Principal
from switchboard.gateway.channels import Session

MAX_SESSIONS = 10_000
"""Sessions over all callers (a ceiling for memory)."""
MAX_PER_CLIENT = 256
"""Sessions of one caller (one token client, or all token-less callers of one server)."""
SESSION_IDLE = 3600.0
"""A session with no stream open and no request for this long is forgotten (-> 404)."""
SWEEP_EVERY = 60.0

Owner = tuple[str | None, str]
"""(client_id, subject) of the token that created a session."""


def owner_of(principal: Principal) -> Owner | None:
    """The caller a session is bound to; ``None`` for a request without a token."""
    if principal == ANONYMOUS:
        return None
    return (principal.client_id, principal.subject)


class TooManySessions(Exception):
    """No room for a new session: ``status`` 429 (this caller's cap) or 503 (the ceiling)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SessionTable(Mapping[str, Session]):
    """Sessions by id (read like a dict), with their owners and per-caller buckets."""

    def __init__(
        self,
        clock: Callable[[], float],
        on_evict: Callable[[Session], None],
        *,
        max_sessions: int = MAX_SESSIONS,
        max_per_client: int = MAX_PER_CLIENT,
        idle: float = SESSION_IDLE,
    ) -> None:
        self._clock = clock
        self.on_evict = on_evict
        """Ends a session this table let go of (the gateway closes it in its mux)."""
        self.max_sessions = max_sessions
        self.max_per_client = max_per_client
        self.idle = idle
        self._by_id: dict[str, Session] = {}
        self._owner: dict[str, Owner | None] = {}
        self._bucket_of: dict[str, Hashable] = {}
        self._buckets: dict[Hashable, dict[str, Session]] = {}
        self._last_sweep = clock()

    # -- Mapping ----------------------------------------------------------------------
    def __getitem__(self, session_id: str) -> Session:
        return self._by_id[session_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    # -- ownership --------------------------------------------------------------------
    def find(
        self,
        session_id: str,
        owner: Owner | None,
        *,
        server: str | None = None,
        legacy: bool = False,
    ) -> Session | None:
        """The session, if it exists and ``owner`` may use it (its creator, or anyone
        when it is bound to nobody). With ``server``: only a session of that server and
        of that transport (``legacy``: HTTP+SSE, else Streamable HTTP)."""
        session = self._by_id.get(session_id)
        if session is None:
            return None
        if server is not None and (session.server != server or session.legacy != legacy):
            return None
        bound = self._owner.get(session_id)
        if bound is not None and bound != owner:
            return None
        return session

    def add(self, session: Session, owner: Owner | None) -> None:
        """Register a new session for ``owner``; raises :class:`TooManySessions`."""
        now = self._clock()
        if now - self._last_sweep > SWEEP_EVERY:
            self._sweep(now)
        bucket_key: Hashable = owner if owner is not None else ("anonymous", session.server)
        bucket = self._buckets.get(bucket_key)
        full = bucket is not None and len(bucket) >= self.max_per_client
        if full and bucket is not None and not self._evict_from(bucket):
            raise TooManySessions(
                429,
                f"This client has {len(bucket)} open sessions, the most one client may "
                "hold. Close sessions it no longer uses (HTTP DELETE), or restart it.",
            )
        if len(self._by_id) >= self.max_sessions:
            for key in sorted(self._buckets, key=lambda k: -len(self._buckets[k])):
                if self._evict_from(self._buckets[key]):
                    break
            else:
                raise TooManySessions(
                    503,
                    f"The gateway holds {len(self._by_id)} open sessions, its limit. "
                    "Try again later.",
                )
        sid = session.id
        self._by_id[sid] = session
        self._owner[sid] = owner
        self._bucket_of[sid] = bucket_key
        self._buckets.setdefault(bucket_key, {})[sid] = session

    def pop(self, session_id: str) -> Session | None:
        session = self._by_id.pop(session_id, None)
        if session is None:
            return None
        self._owner.pop(session_id, None)
        key = self._bucket_of.pop(session_id)
        bucket = self._buckets[key]
        del bucket[session_id]
        if not bucket:
            del self._buckets[key]
        return session

    def forget_server(self, sessions: Iterable[Session]) -> None:
        """Forget ``sessions`` (of a server the gateway no longer multiplexes)."""
        for session in list(sessions):
            self.pop(session.id)

    # -- eviction ---------------------------------------------------------------------
    def _evict_from(self, bucket: dict[str, Session]) -> bool:
        """End the least recently used session of ``bucket`` that is idle or closed."""
        victim: Session | None = None
        for session in bucket.values():
            if session.closed:
                victim = session
                break
            if session.outboxes or session.inflight:
                continue
            if victim is None or session.last_active < victim.last_active:
                victim = session
        if victim is None:
            return False
        self.pop(victim.id)
        self.on_evict(victim)
        return True

    def _sweep(self, now: float) -> None:
        self._last_sweep = now
        stale = [
            s
            for s in self._by_id.values()
            if s.closed or (not s.outboxes and not s.inflight and now - s.last_active > self.idle)
        ]
        for session in stale:
            self.pop(session.id)
            self.on_evict(session)


class Bindings:
    """Upstream session ids of pass-through servers, bound to the caller they were
    issued to (the same rule as :class:`SessionTable`, for sessions the gateway does
    not hold itself). Bounded: per caller the oldest binding goes first; at the
    ceiling, the largest caller's oldest. A caller whose binding went gets 404 and
    initializes again (MCP transports: 404 means "start a new session")."""

    def __init__(
        self, *, max_total: int = MAX_SESSIONS, max_per_client: int = MAX_PER_CLIENT
    ) -> None:
        self.max_total = max_total
        self.max_per_client = max_per_client
        self._owner: dict[Hashable, Owner] = {}
        self._by_owner: dict[Owner, dict[Hashable, None]] = {}

    def __len__(self) -> int:
        return len(self._owner)

    def allowed(self, key: Hashable, owner: Owner | None) -> bool:
        """May ``owner`` use the upstream session ``key``? A caller without a token
        (sign-in off) may use any; a caller with one only those issued to it."""
        return owner is None or self._owner.get(key) == owner

    def bind(self, key: Hashable, owner: Owner | None) -> None:
        if owner is None or key in self._owner:
            return
        mine = self._by_owner.setdefault(owner, {})
        if len(mine) >= self.max_per_client:
            self.forget(next(iter(mine)))
            mine = self._by_owner.setdefault(owner, {})
        if len(self._owner) >= self.max_total:
            largest = max(self._by_owner.values(), key=len)
            self.forget(next(iter(largest)))
            mine = self._by_owner.setdefault(owner, {})
        self._owner[key] = owner
        mine[key] = None

    def forget(self, key: Hashable) -> None:
        owner = self._owner.pop(key, None)
        if owner is None:
            return
        mine = self._by_owner[owner]
        del mine[key]
        if not mine:
            del self._by_owner[owner]
