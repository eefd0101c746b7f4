"""What the chunked signing-key storage costs at start-up: loading the key document from
the keyring in chunks (default ``max_entry_bytes``, small enough for Windows Credential
Locker) vs the single-entry form, on the keyring this machine has (the real Secret
Service under ``dbus-run-session`` with gnome-keyring, as scripts/test runs; else an
in-memory backend, which measures only our own overhead).

    .venv/bin/python bench/auth_keyring_chunks.py [--rounds 30]

Prints document sizes, entries per form, ms per load and the chunked/single ratio,
measured interleaved in the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from switchboard.auth.connect_client import NamedSecrets
from switchboard.auth.keys import KeyProvider, MemoryStorage, SecretBackendStorage
from switchboard.secrets import SecretStore


class MemoryBackend:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, name: str) -> str | None:
        return self.entries.get((service, name))

    def set_password(self, service: str, name: str, value: str) -> None:
        self.entries[(service, name)] = value

    def delete_password(self, service: str, name: str) -> None:
        self.entries.pop((service, name), None)


def backend() -> tuple[Any, str]:
    try:
        import keyring.backends.SecretService as ss

        ring = ss.Keyring()
        if ring.priority > 0:
            return ring, "Secret Service"
    except Exception:  # no D-Bus here: the in-memory backend
        pass
    return MemoryBackend(), "in-memory backend"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    ring, kind = backend()
    store = SecretStore(f"switchboard-bench-{uuid.uuid4().hex[:8]}", backend=ring)
    memory = MemoryStorage()
    kp = KeyProvider(memory)
    kp.load_or_create()
    document = memory.document or ""
    print(f"keyring: {kind}")
    print(
        f"one key: {len(document.encode('utf-8'))} bytes UTF-8, "
        f"{len(document.encode('utf-16-le'))} bytes UTF-16 (Credential Locker limit 2560)"
    )
    chunked = SecretBackendStorage(NamedSecrets(store, "chunked"))
    single = SecretBackendStorage(NamedSecrets(store, "single"), max_entry_bytes=10**6)
    chunked.save(document)
    single.save(document)
    head = json.loads(store.get("auth-signing-keys:chunked") or "{}")
    print(f"entries: chunked 1 + {head.get('count')} chunks, single 1")
    times: dict[str, list[float]] = {"single": [], "chunked": []}
    try:
        for _ in range(args.rounds):
            for name, storage in (("single", single), ("chunked", chunked)):
                t0 = time.perf_counter()
                loaded = storage.load()
                times[name].append(time.perf_counter() - t0)
                assert loaded == document
    finally:
        for suffix in ("chunked", "single"):  # leave nothing in the person's keyring
            head = store.get(f"auth-signing-keys:{suffix}") or ""
            names = [f"auth-signing-keys:{suffix}"]
            if "switchboard_chunked" in head:
                meta = json.loads(head)
                names += [
                    f"auth-signing-keys.{meta['generation']}.{i}:{suffix}"
                    for i in range(meta["count"])
                ]
            for n in names:
                store.delete(n)
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    print(f"single entry: {med['single']:.3f} ms per load (median of {args.rounds})")
    print(f"chunked:      {med['chunked']:.3f} ms per load")
    print(f"ratio chunked/single: {med['chunked'] / med['single']:.2f}x")


if __name__ == "__main__":
    main()
