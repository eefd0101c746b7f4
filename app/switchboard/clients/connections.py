"""Which MCP clients Switchboard keeps connected, and how: ``clients.json``.

- ``connected``: the client ids Switchboard keeps in step (client sync);
- ``groups``: per client id, the groups it is connected to (issue 14: one entry per
  group instead of one per server); a connected client without groups gets every server;
- ``created``: per client id, what Switchboard had to create in its config file (the
  container, the top-level object), removed again with the last entry.

An unreadable file counts as no clients (logged), never as an error. Blocking.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from switchboard.store.atomic import atomic_write

log = logging.getLogger("switchboard.clients")


class Connections:
    """Reads and writes ``clients.json`` (one atomic write per change, under ``lock``)."""

    def __init__(
        self, path: Path, *, known: Callable[[str], bool], lock: threading.RLock | None = None
    ) -> None:
        self.path = path
        self._known = known
        self._lock = lock or threading.RLock()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("%s unreadable (%s); treating as no clients", self.path, exc)
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, Any]) -> None:
        atomic_write(self.path, (json.dumps(data, indent=2) + "\n").encode())

    def connected(self) -> list[str]:
        with self._lock:
            ids = self._read().get("connected", [])
            return [i for i in ids if isinstance(i, str) and self._known(i)]

    def set_connected(self, client_id: str, on: bool, groups: Iterable[str] = ()) -> None:
        """Connected (to every server, or to ``groups`` when given) or not."""
        with self._lock:
            data = self._read()
            ids = set(self.connected())
            ids.add(client_id) if on else ids.discard(client_id)
            data["connected"] = sorted(ids)
            by_client = data.get("groups")
            by_client = dict(by_client) if isinstance(by_client, dict) else {}
            names = list(dict.fromkeys(groups)) if on else []
            if names:
                by_client[client_id] = names
            else:
                by_client.pop(client_id, None)
            if by_client:
                data["groups"] = by_client
            else:
                data.pop("groups", None)
            self._save(data)

    def groups_of(self, client_id: str) -> list[str]:
        """The groups ``client_id`` is connected to ([]: every server, or none)."""
        with self._lock:
            names = self._read().get("groups", {})
            found = names.get(client_id, []) if isinstance(names, dict) else []
            return [n for n in found if isinstance(n, str)] if isinstance(found, list) else []

    def rename_group(self, old: str, new: str) -> None:
        """Every client connected to the group ``old`` is connected to ``new`` instead."""
        with self._lock:
            for client_id in self.connected():
                names = self.groups_of(client_id)
                if old in names:
                    renamed = [new if n == old else n for n in names]
                    self.set_connected(client_id, True, renamed)

    def created(self, client_id: str, path: Path) -> set[str]:
        """What Switchboard created in this client's file (to remove with the last entry)."""
        record = self._read().get("created", {}).get(client_id)
        if isinstance(record, dict) and record.get("path") == str(path):
            return {str(p) for p in record.get("parts", [])}
        return set()

    def set_created(self, client_id: str, path: Path, parts: set[str]) -> None:
        with self._lock:
            data = self._read()
            created = data.get("created")
            created = dict(created) if isinstance(created, dict) else {}
            if parts:
                created[client_id] = {"path": str(path), "parts": sorted(parts)}
            else:
                created.pop(client_id, None)
            if created != data.get("created", {}):
                data["created"] = created
                self._save(data)
