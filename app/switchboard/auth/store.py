"""SQLite persistence of the authorization server: clients, grants, refresh tokens,
remembered consents and revoked access-token ids (``paths.auth_db``).

Every method blocks; the authorization server calls them from worker threads (authlib's
core is synchronous and runs in ``asyncio.to_thread``), and async callers wrap them the
same way. One connection, serialised by a lock. Refresh tokens are stored as SHA-256
hashes only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from switchboard.core.errors import StoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS clients (
    client_id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS grants (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    server TEXT NOT NULL,
    resource TEXT NOT NULL,
    scope TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL,
    revoke_reason TEXT,
    redirect_uri TEXT,
    last_used_at REAL
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL
);
CREATE INDEX IF NOT EXISTS refresh_by_grant ON refresh_tokens(grant_id);
CREATE TABLE IF NOT EXISTS consents (
    client_id TEXT NOT NULL,
    server TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (client_id, server)
);
CREATE TABLE IF NOT EXISTS revoked_tokens (
    jti TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
"""


# Columns added after the first release: (table, column, type), appended in this order.
_ADDED_COLUMNS = (("grants", "redirect_uri", "TEXT"), ("grants", "last_used_at", "REAL"))


def _add_missing_columns(db: sqlite3.Connection) -> None:
    for table, column, kind in _ADDED_COLUMNS:
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclasses.dataclass(frozen=True, slots=True)
class GrantRecord:
    """One approval: a client may get tokens for one server's resource with these scopes,
    or for several when the person picked the servers (the authorization named none, see
    ``auth/consent.py``): ``server`` and ``resource`` then hold space-separated lists in
    the same order (names and URLs have no spaces). One grant per approval, so revoking
    it ends exactly what the person approved at once."""

    id: str
    client_id: str
    server: str
    resource: str
    scope: str
    subject: str
    created_at: float
    revoked_at: float | None = None
    revoke_reason: str | None = None
    redirect_uri: str | None = None
    """The redirect URI of the authorization that created the grant."""
    last_used_at: float | None = None
    """When a token was last issued for the grant (code exchange or refresh)."""

    @property
    def servers(self) -> tuple[str, ...]:
        return tuple(self.server.split())

    @property
    def resources(self) -> tuple[str, ...]:
        return tuple(self.resource.split())

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["servers"] = list(self.servers)
        data["resources"] = list(self.resources)
        return data


@dataclasses.dataclass(frozen=True, slots=True)
class RefreshRecord:
    hash: str
    grant_id: str
    client_id: str
    scope: str
    issued_at: float
    expires_at: float
    used_at: float | None


@dataclasses.dataclass(frozen=True, slots=True)
class ConsentRecord:
    """A remembered "yes": the client may get these scopes for the server without asking."""

    client_id: str
    server: str
    scope: str
    created_at: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class AuthStore:
    """The authorization server's SQLite database."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self.path.chmod(0o600)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            _add_missing_columns(db)
        except sqlite3.Error as exc:
            raise StoreError(
                f"Cannot open the authorization database {self.path}: {exc}.",
                hint="Check that the data directory is writable; delete the file to start over.",
            ) from exc
        self._db = db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._db is None:
                raise StoreError("The authorization database is closed.", hint="Restart.")
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(
                    f"The authorization database failed: {exc}.", hint="See the log."
                ) from exc

    # -- clients -------------------------------------------------------------------------
    def save_client(self, client_id: str, data: dict[str, Any]) -> None:
        self._run(
            "INSERT OR REPLACE INTO clients VALUES (?, ?, ?)",
            (client_id, json.dumps(data), self._clock()),
        )

    def get_client(self, client_id: str) -> dict[str, Any] | None:
        rows = self._run("SELECT data FROM clients WHERE client_id = ?", (client_id,))
        return json.loads(rows[0][0]) if rows else None

    def count_clients(self) -> int:
        return int(self._run("SELECT COUNT(*) FROM clients")[0][0])

    def prune_unused_clients(self, older_than: float, keep: Iterable[str] = ()) -> list[str]:
        """Delete registrations older than ``older_than`` seconds that never led anywhere:
        no grant (active or revoked), no refresh token, no remembered consent. Never the
        first-party client nor the ids in ``keep`` (e.g. an authorization in progress).
        Returns the deleted client ids."""
        cutoff = self._clock() - older_than
        protected = set(keep)
        with self._lock:
            if self._db is None:
                raise StoreError("The authorization database is closed.", hint="Restart.")
            try:
                rows = self._db.execute(
                    "SELECT client_id, data FROM clients c WHERE created_at < ? "
                    "AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.client_id = c.client_id) "
                    "AND NOT EXISTS (SELECT 1 FROM refresh_tokens r "
                    "WHERE r.client_id = c.client_id) "
                    "AND NOT EXISTS (SELECT 1 FROM consents s WHERE s.client_id = c.client_id)",
                    (cutoff,),
                ).fetchall()
                doomed = [
                    cid
                    for cid, data in rows
                    if cid not in protected and not json.loads(data).get("first_party")
                ]
                self._db.executemany(
                    "DELETE FROM clients WHERE client_id = ?", [(cid,) for cid in doomed]
                )
            except sqlite3.Error as exc:
                raise StoreError(
                    f"The authorization database failed: {exc}.", hint="See the log."
                ) from exc
        return doomed

    # -- grants --------------------------------------------------------------------------
    def add_grant(self, grant: GrantRecord) -> None:
        self._run(
            "INSERT INTO grants (id, client_id, server, resource, scope, subject, created_at, "
            "revoked_at, revoke_reason, redirect_uri, last_used_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                grant.id,
                grant.client_id,
                grant.server,
                grant.resource,
                grant.scope,
                grant.subject,
                grant.created_at,
                grant.revoked_at,
                grant.revoke_reason,
                grant.redirect_uri,
                grant.last_used_at,
            ),
        )

    def touch_grant(self, grant_id: str) -> None:
        """Record that a token was just issued for the grant ("last used")."""
        self._run("UPDATE grants SET last_used_at = ? WHERE id = ?", (self._clock(), grant_id))

    def get_grant(self, grant_id: str) -> GrantRecord | None:
        rows = self._run("SELECT * FROM grants WHERE id = ?", (grant_id,))
        return GrantRecord(*rows[0]) if rows else None

    def list_grants(self, include_revoked: bool = False) -> list[GrantRecord]:
        sql = "SELECT * FROM grants"
        if not include_revoked:
            sql += " WHERE revoked_at IS NULL"
        return [GrantRecord(*r) for r in self._run(sql + " ORDER BY created_at")]

    def revoked_grant_ids(self) -> set[str]:
        return {r[0] for r in self._run("SELECT id FROM grants WHERE revoked_at IS NOT NULL")}

    def revoke_grant(self, grant_id: str, reason: str) -> bool:
        with self._lock:
            assert self._db is not None
            cur = self._db.execute(
                "UPDATE grants SET revoked_at = ?, revoke_reason = ? "
                "WHERE id = ? AND revoked_at IS NULL",
                (self._clock(), reason, grant_id),
            )
            self._db.execute("DELETE FROM refresh_tokens WHERE grant_id = ?", (grant_id,))
            return cur.rowcount > 0

    def retarget(
        self,
        key: str,
        change: Callable[[GrantRecord], GrantRecord | None],
        *,
        consents_to: str | None,
        reason: str,
    ) -> tuple[list[tuple[GrantRecord, GrantRecord]], list[GrantRecord], int]:
        """In one transaction: every active grant naming ``key`` becomes ``change(grant)``
        (its ``server`` and ``resource``), or is revoked with ``reason`` (and its refresh
        tokens deleted) when that is None; remembered consents for ``key`` move to
        ``consents_to`` (replacing one already there), or are forgotten when it is None.
        Returns (the (before, after) of changed grants, the revoked grants, how many
        consents moved or went). ``auth/regroup.py`` says why."""
        changed: list[tuple[GrantRecord, GrantRecord]] = []
        revoked: list[GrantRecord] = []
        with self._lock:
            db = self._db
            if db is None:
                raise StoreError("The authorization database is closed.", hint="Restart.")
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    rows = db.execute("SELECT * FROM grants WHERE revoked_at IS NULL").fetchall()
                    for grant in (GrantRecord(*r) for r in rows):
                        if key not in grant.servers:
                            continue
                        after = change(grant)
                        if after is None:
                            db.execute(
                                "UPDATE grants SET revoked_at = ?, revoke_reason = ? WHERE id = ?",
                                (self._clock(), reason, grant.id),
                            )
                            db.execute("DELETE FROM refresh_tokens WHERE grant_id = ?", (grant.id,))
                            revoked.append(grant)
                        else:
                            db.execute(
                                "UPDATE grants SET server = ?, resource = ? WHERE id = ?",
                                (after.server, after.resource, grant.id),
                            )
                            changed.append((grant, after))
                    if consents_to is None:
                        cur = db.execute("DELETE FROM consents WHERE server = ?", (key,))
                    else:
                        cur = db.execute(
                            "UPDATE OR REPLACE consents SET server = ? WHERE server = ?",
                            (consents_to, key),
                        )
                    consents = cur.rowcount
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StoreError(
                    f"The authorization database failed: {exc}.", hint="See the log."
                ) from exc
        return changed, revoked, consents

    # -- refresh tokens ------------------------------------------------------------------
    def add_refresh(
        self, token: str, grant_id: str, client_id: str, scope: str, ttl: float
    ) -> None:
        now = self._clock()
        self._run(
            "INSERT INTO refresh_tokens VALUES (?, ?, ?, ?, ?, ?, NULL)",
            (token_hash(token), grant_id, client_id, scope, now, now + ttl),
        )

    def get_refresh(self, token: str) -> RefreshRecord | None:
        rows = self._run("SELECT * FROM refresh_tokens WHERE hash = ?", (token_hash(token),))
        return RefreshRecord(*rows[0]) if rows else None

    def mark_refresh_used(self, token: str) -> None:
        self._run(
            "UPDATE refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL",
            (self._clock(), token_hash(token)),
        )

    # -- consents ------------------------------------------------------------------------
    def remember_consent(self, client_id: str, server: str, scope: str) -> None:
        self._run(
            "INSERT OR REPLACE INTO consents VALUES (?, ?, ?, ?)",
            (client_id, server, scope, self._clock()),
        )

    def get_consent(self, client_id: str, server: str) -> ConsentRecord | None:
        rows = self._run(
            "SELECT * FROM consents WHERE client_id = ? AND server = ?", (client_id, server)
        )
        return ConsentRecord(*rows[0]) if rows else None

    def list_consents(self) -> list[ConsentRecord]:
        return [ConsentRecord(*r) for r in self._run("SELECT * FROM consents ORDER BY created_at")]

    def forget_consent(self, client_id: str, server: str) -> bool:
        with self._lock:
            assert self._db is not None
            cur = self._db.execute(
                "DELETE FROM consents WHERE client_id = ? AND server = ?", (client_id, server)
            )
            return cur.rowcount > 0

    # -- revoked access tokens -----------------------------------------------------------
    def revoke_jti(self, jti: str, expires_at: float) -> None:
        self._run("INSERT OR REPLACE INTO revoked_tokens VALUES (?, ?)", (jti, expires_at))

    def revoked_jtis(self) -> set[str]:
        now = self._clock()
        self._run("DELETE FROM revoked_tokens WHERE expires_at < ?", (now,))
        return {r[0] for r in self._run("SELECT jti FROM revoked_tokens")}
