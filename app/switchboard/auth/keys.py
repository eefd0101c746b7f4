"""KeyProvider: the authorization server's signing keys, shared in memory with the validator.

Algorithm: RS256 (RSA 2048). Chosen by measurement, because the validator verifies a
signature on every uncached request: with ``cryptography`` on these machines one verify
costs ~40 µs for RS256, ~125 µs for ES256 and ~200 µs for Ed25519 (see
``bench/auth_validator.py``). Signing is rarer (one per token) and RSA's slower signing
does not matter there.

``kid`` is the RFC 7638 JWK thumbprint. The current key signs; after rotation the old key
is *retired*: it no longer signs but keeps verifying (and stays in the JWKS) until every
token it signed has expired, then it is dropped.

The key material is persisted as one JSON document through a :class:`KeyStorage`: the
OS keyring by default (in chunks small enough for Windows Credential Locker), or an
owner-only file when there is no keyring (with a visible warning raised by the caller).
Storage calls block; call them from a thread.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from switchboard.core.errors import AuthError, SecretError
from switchboard.store.atomic import atomic_write

log = logging.getLogger("switchboard.auth")

ALG = "RS256"
KEYRING_NAME = "auth-signing-keys"


@dataclasses.dataclass(frozen=True, slots=True)
class PublicKeyInfo:
    """One verifying key as the validator sees it."""

    kid: str
    alg: str
    created_at: float
    retired_at: float | None
    public_key: rsa.RSAPublicKey


@dataclasses.dataclass(frozen=True, slots=True)
class _KeyRecord:
    kid: str
    alg: str
    created_at: float
    retired_at: float | None
    private_key: rsa.RSAPrivateKey
    jwk: dict[str, Any]

    @property
    def info(self) -> PublicKeyInfo:
        return PublicKeyInfo(
            self.kid, self.alg, self.created_at, self.retired_at, self.private_key.public_key()
        )


class KeyStorage(Protocol):
    """Where the key document lives. Blocking calls."""

    def load(self) -> str | None: ...

    def save(self, document: str) -> None: ...

    @property
    def description(self) -> str: ...


# Windows Credential Locker holds at most 2,560 bytes per credential blob
# (CRED_MAX_CREDENTIAL_BLOB_SIZE) and keyring's Windows backend stores the text as UTF-16;
# one signing key's document is ~1.8 KB (~3.6 KB as UTF-16), two during a rotation more.
# Entries are kept below this many UTF-16 bytes (the largest encoding any backend uses
# for our ASCII documents).
DEFAULT_MAX_ENTRY_BYTES = 2000
_CHUNKED = "switchboard_chunked"


@dataclasses.dataclass(frozen=True, slots=True)
class _Manifest:
    generation: str
    count: int
    sha256: str


def _utf16_size(text: str) -> int:
    return len(text.encode("utf-16-le"))


def split_chunks(document: str, max_bytes: int) -> list[str]:
    """``document`` cut into pieces of at most ``max_bytes`` bytes as UTF-16 (whole
    characters; a surrogate pair is never split)."""
    chunks: list[str] = []
    start = size = 0
    for i, ch in enumerate(document):
        width = 4 if ord(ch) > 0xFFFF else 2
        if size + width > max_bytes:
            chunks.append(document[start:i])
            start, size = i, 0
        size += width
    chunks.append(document[start:])
    return chunks


def _parse_manifest(head: str) -> _Manifest | None:
    """The manifest of a chunked document, or None for the single-entry form."""
    if _CHUNKED not in head:
        return None
    try:
        data = json.loads(head)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get(_CHUNKED) != 1:
        return None
    try:
        return _Manifest(str(data["generation"]), int(data["count"]), str(data["sha256"]))
    except (KeyError, TypeError, ValueError):
        return None


class SecretBackendStorage:
    """Keys in the OS keyring via a SecretStore-like object (``get``/``set``, optionally
    ``delete``).

    A document larger than ``max_entry_bytes`` (UTF-16 bytes; default fits Windows
    Credential Locker) is stored as numbered chunks ``<name>.<generation>.<i>`` plus a
    small manifest under ``<name>`` (count and SHA-256 of the whole), written last so
    that a save interrupted half-way leaves the previous document readable; the previous
    generation's chunks are deleted afterwards. A document that fits, and the
    single-entry form older versions wrote, live directly under ``<name>``.
    ``max_entry_bytes=None``: never split (keyrings without a small limit).
    """

    def __init__(
        self,
        store: Any,
        name: str = KEYRING_NAME,
        max_entry_bytes: int | None = DEFAULT_MAX_ENTRY_BYTES,
    ) -> None:
        if max_entry_bytes is not None and max_entry_bytes < 256:
            raise ValueError("max_entry_bytes must be at least 256 (the manifest's size)")
        self._store = store
        self._name = name
        self.max_entry_bytes = max_entry_bytes

    @property
    def description(self) -> str:
        return "the OS keyring"

    def _chunk_name(self, generation: str, index: int) -> str:
        return f"{self._name}.{generation}.{index}"

    def _get(self, name: str) -> str | None:
        value = self._store.get(name)
        return value if isinstance(value, str) else None

    def load(self) -> str | None:
        head = self._get(self._name)
        if head is None:
            return None
        manifest = _parse_manifest(head)
        if manifest is None:
            return head
        parts: list[str] = []
        for i in range(manifest.count):
            part = self._get(self._chunk_name(manifest.generation, i))
            if part is None:
                raise AuthError(
                    f"The token signing keys in the OS keyring are incomplete (part {i + 1} "
                    f"of {manifest.count} is missing).",
                    hint=f"Delete the keyring entries named {self._name}* to start over; "
                    "clients will have to sign in again.",
                )
            parts.append(part)
        document = "".join(parts)
        if hashlib.sha256(document.encode("utf-8")).hexdigest() != manifest.sha256:
            raise AuthError(
                "The token signing keys in the OS keyring do not match their checksum.",
                hint=f"Delete the keyring entries named {self._name}* to start over; "
                "clients will have to sign in again.",
            )
        return document

    def save(self, document: str) -> None:
        try:
            head = self._get(self._name)
        except SecretError:
            head = None
        old = _parse_manifest(head) if head is not None else None
        limit = self.max_entry_bytes
        if (limit is None or _utf16_size(document) <= limit) and _parse_manifest(document) is None:
            self._store.set(self._name, document)
        else:
            generation = secrets.token_hex(4)
            chunks = split_chunks(document, limit or DEFAULT_MAX_ENTRY_BYTES)
            for i, chunk in enumerate(chunks):
                self._store.set(self._chunk_name(generation, i), chunk)
            manifest = {
                _CHUNKED: 1,
                "generation": generation,
                "count": len(chunks),
                "sha256": hashlib.sha256(document.encode("utf-8")).hexdigest(),
            }
            self._store.set(self._name, json.dumps(manifest))
        if old is not None:
            self._delete_chunks(old)

    def _delete_chunks(self, manifest: _Manifest) -> None:
        delete = getattr(self._store, "delete", None)
        if delete is None:
            return
        try:
            for i in range(manifest.count):
                delete(self._chunk_name(manifest.generation, i))
        except SecretError as exc:
            # The new document is saved already; stale chunks only take space.
            log.warning("could not delete old signing-key chunks from the keyring: %s", exc)


class FileStorage:
    """Owner-only file fallback for machines without a keyring."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def description(self) -> str:
        return f"the owner-only file {self.path}"

    def load(self) -> str | None:
        try:
            if self.path.stat().st_mode & 0o077:
                os.chmod(self.path, 0o600)
            return self.path.read_text("utf-8")
        except FileNotFoundError:
            return None

    def save(self, document: str) -> None:
        atomic_write(self.path, document.encode(), mode=0o600)


class MemoryStorage:
    """In-memory storage (tests, benchmarks)."""

    def __init__(self) -> None:
        self.document: str | None = None
        self.saves = 0

    @property
    def description(self) -> str:
        return "memory"

    def load(self) -> str | None:
        return self.document

    def save(self, document: str) -> None:
        self.document = document
        self.saves += 1


# Keyrings known to hold a key document in one entry. Reading an entry costs a D-Bus
# round trip (~12 ms with gnome-keyring, bench/auth_keyring_chunks.py), so these keep
# the single entry; any other backend (Windows Credential Locker, unknown ones) gets
# chunks.
_UNLIMITED_BACKENDS = (
    "keyring.backends.SecretService",
    "keyring.backends.libsecret",
    "keyring.backends.kwallet",
    "keyring.backends.macOS",
)


def entry_limit_for(backend: Any) -> int | None:
    """``max_entry_bytes`` for a keyring backend: None where entries are not small."""
    module = type(backend).__module__ if backend is not None else ""
    if module.startswith(_UNLIMITED_BACKENDS):
        return None
    return DEFAULT_MAX_ENTRY_BYTES


def choose_storage(secret_store: Any, fallback_file: Path) -> tuple[KeyStorage, str | None]:
    """The keyring when usable, else the owner-only file plus a warning text to show."""
    try:
        secret_store.check()
        limit = entry_limit_for(getattr(secret_store, "backend", None))
        return SecretBackendStorage(secret_store, max_entry_bytes=limit), None
    except SecretError:
        warning = (
            "No OS keyring is available, so Switchboard keeps its token signing key in an "
            f"owner-only file ({fallback_file}). Install and unlock a Secret Service "
            "(e.g. gnome-keyring) to keep it in the keyring instead."
        )
        return FileStorage(fallback_file), warning


def thumbprint_kid(public_key: rsa.RSAPublicKey) -> tuple[str, dict[str, Any]]:
    """RFC 7638 thumbprint and the public JWK (kid, alg, use set)."""
    jwk = RSAKey.import_key(public_key)
    kid = jwk.thumbprint()
    data = dict(jwk.as_dict(private=False))
    data.update(kid=kid, alg=ALG, use="sig")
    return kid, data


def _new_record(now: float) -> _KeyRecord:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid, jwk = thumbprint_kid(private.public_key())
    return _KeyRecord(kid, ALG, now, None, private, jwk)


class KeyProvider:
    """Signing key plus every public key that still verifies live tokens.

    ``rotation_interval``: age after which the current key is replaced.
    ``max_token_lifetime``: how long a retired key is kept (longest access-token TTL plus
    leeway), so tokens it signed keep validating until they expire anyway.
    Thread-safe: the authorization server signs from worker threads.
    """

    def __init__(
        self,
        storage: KeyStorage,
        *,
        rotation_interval: float = 30 * 86400,
        max_token_lifetime: float = 86400 + 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        self.rotation_interval = rotation_interval
        self.max_token_lifetime = max_token_lifetime
        self._clock = clock
        self._lock = threading.Lock()
        self._records: list[_KeyRecord] = []
        self._by_kid: dict[str, PublicKeyInfo] = {}
        self.generation = 0
        """Bumped on every change of the key set."""

    # -- persistence (blocking) ----------------------------------------------------------
    def load_or_create(self) -> None:
        """Load the key document, create a key if there is none, rotate/prune if due."""
        document = self.storage.load()
        records: list[_KeyRecord] = []
        if document:
            try:
                records = _decode(document)
            except (ValueError, KeyError, TypeError) as exc:
                raise AuthError(
                    f"The stored token signing keys in {self.storage.description} are corrupt "
                    f"({type(exc).__name__}).",
                    hint="Delete them to start over; clients will have to sign in again.",
                ) from None
        with self._lock:
            self._records = records
            self._reindex()
        if not records:
            with self._lock:
                self._records = [_new_record(self._clock())]
                self._reindex()
            self._save()
            log.info("created token signing key %s", self._records[0].kid)
        self.maintain()

    def _save(self) -> None:
        with self._lock:
            document = _encode(self._records)
        self.storage.save(document)

    # -- rotation ------------------------------------------------------------------------
    def maintain(self) -> bool:
        """Rotate when due and drop retired keys whose tokens all expired. Blocking (it may
        generate a key and save). Returns True when the key set changed."""
        now = self._clock()
        changed = False
        with self._lock:
            current = self._records[-1]
            due = now - current.created_at >= self.rotation_interval
        if due:
            self.rotate()
            changed = True
        with self._lock:
            keep = [
                r
                for r in self._records
                if r.retired_at is None or now - r.retired_at < self.max_token_lifetime
            ]
            if len(keep) != len(self._records):
                dropped = {r.kid for r in self._records} - {r.kid for r in keep}
                self._records = keep
                self._reindex()
                changed = True
                log.info("dropped retired signing key(s) %s", ", ".join(sorted(dropped)))
        if changed and not due:
            self._save()
        return changed

    def rotate(self) -> str:
        """Make a new current key now; the old one is retired (still verifies). Blocking."""
        new = _new_record(self._clock())
        with self._lock:
            now = self._clock()
            self._records = [
                dataclasses.replace(r, retired_at=r.retired_at or now) for r in self._records
            ] + [new]
            self._reindex()
        self._save()
        log.info("rotated token signing key: now %s", new.kid)
        return new.kid

    def next_maintenance_in(self) -> float:
        """Seconds until :meth:`maintain` has something to do."""
        now = self._clock()
        with self._lock:
            times = [self._records[-1].created_at + self.rotation_interval]
            times += [
                r.retired_at + self.max_token_lifetime
                for r in self._records
                if r.retired_at is not None
            ]
        return max(0.0, min(times) - now)

    def _reindex(self) -> None:
        self._by_kid = {r.kid: r.info for r in self._records}
        self.generation += 1

    # -- what others use -----------------------------------------------------------------
    def signing_key(self) -> tuple[str, rsa.RSAPrivateKey]:
        """(kid, private key) of the current key."""
        with self._lock:
            if not self._records:
                raise AuthError("No token signing key is loaded.", hint="Start the engine first.")
            record = self._records[-1]
        return record.kid, record.private_key

    def get_public_key(self, kid: str) -> PublicKeyInfo | None:
        """The verifying key for ``kid`` (in memory; no I/O)."""
        return self._by_kid.get(kid)

    def public_keys(self) -> list[PublicKeyInfo]:
        return list(self._by_kid.values())

    def jwks(self) -> dict[str, Any]:
        """Every key that still verifies (current and retired)."""
        with self._lock:
            return {"keys": [dict(r.jwk) for r in self._records]}


def _encode(records: list[_KeyRecord]) -> str:
    return json.dumps(
        {
            "version": 1,
            "keys": [
                {
                    "kid": r.kid,
                    "alg": r.alg,
                    "created_at": r.created_at,
                    "retired_at": r.retired_at,
                    "pem": r.private_key.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    ).decode("ascii"),
                }
                for r in records
            ],
        }
    )


def _decode(document: str) -> list[_KeyRecord]:
    data = json.loads(document)
    out: list[_KeyRecord] = []
    for item in data["keys"]:
        # Our own key from owner-only storage: skip the 40-60 ms RSA consistency check
        # at every start (whoever can rewrite this document holds the key anyway).
        private = serialization.load_pem_private_key(
            item["pem"].encode("ascii"), password=None, unsafe_skip_rsa_key_validation=True
        )
        if not isinstance(private, rsa.RSAPrivateKey):
            raise TypeError("not an RSA key")
        kid, jwk = thumbprint_kid(private.public_key())
        retired = item.get("retired_at")
        out.append(
            _KeyRecord(
                kid,
                ALG,
                float(item["created_at"]),
                None if retired is None else float(retired),
                private,
                jwk,
            )
        )
    out.sort(key=lambda r: (r.retired_at is None, r.created_at))
    return out
