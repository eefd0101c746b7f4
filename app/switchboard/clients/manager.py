"""Detect MCP clients and keep Switchboard's servers in their config files.

Switchboard only ever touches entries it recognizes as its own (their URL is a
Switchboard gateway URL for that name, or they run ``switchboard connect <name>``).
An entry of the same name that the person made themselves is reported as a conflict
and left alone. Writes are atomic, keep ``<file>.switchboard.bak`` (the file as it
was before Switchboard's last change), preserve the file's permissions and follow
symlinks (dotfile managers) instead of replacing them. Nothing is written when
nothing changes, so running it twice is a no-op.

Blocking (file I/O); call it from a thread in async code.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import stat
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from switchboard.clients.formats import open_editor
from switchboard.clients.kinds import BY_ID, KINDS, ClientKind, HostEnv, Target
from switchboard.core.errors import ClientConfigError, ValidationError
from switchboard.core.paths import AppPaths
from switchboard.store.atomic import atomic_write

log = logging.getLogger("switchboard.clients")

BACKUP_SUFFIX = ".switchboard.bak"


@dataclasses.dataclass(frozen=True, slots=True)
class ClientInfo:
    """What ``client list`` shows for one client."""

    kind: ClientKind
    installed: bool
    config_path: Path
    connected: bool
    ours: tuple[str, ...]
    """Switchboard entries currently in its config."""
    error: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class SyncReport:
    """What one reconcile of one client's config did."""

    client: str
    config_path: Path
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    """Names whose entry in the client is not Switchboard's (left alone)."""
    written: bool = False
    backup: Path | None = None

    def lines(self) -> list[str]:
        out = []
        for label, names in (
            ("added", self.added),
            ("updated", self.updated),
            ("removed", self.removed),
        ):
            if names:
                out.append(f"  {label}: {', '.join(names)}")
        for name in self.conflicts:
            out.append(
                f"  skipped {name}: {self.config_path} already has its own entry of that name"
            )
        if not self.written:
            out.append("  no change needed")
        return out


def default_connect_command(paths: AppPaths | None = None) -> tuple[str, ...]:
    """argv prefix that runs this Switchboard's CLI from a client's launcher.

    Absolute, because desktop apps do not see the shell's PATH; with ``--home`` when
    this instance keeps its files under one folder.
    """
    exe = shutil.which("switchboard")
    sibling = Path(sys.executable).with_name("switchboard")
    if exe is None and sibling.exists():
        exe = str(sibling)
    base: tuple[str, ...] = (exe,) if exe else (sys.executable, "-m", "switchboard")
    if paths is not None:
        root = paths.config_dir.parent
        if AppPaths.default(root) == paths and AppPaths.default(None) != paths:
            base = (*base, "--home", str(root))
    return base


def is_ours(entry: Any, name: str, connect: tuple[str, ...] = ()) -> bool:
    """Is this client entry one that Switchboard wrote for server ``name``?

    Yes when it points at a Switchboard gateway URL of that name, or runs
    ``<switchboard> connect <name>`` (``connect`` is this instance's own argv prefix).
    """
    url_re = re.compile(
        r"^https?://(?:127\.0\.0\.1|localhost|\[::1\]):\d+/servers/"
        + re.escape(name)
        + r"/(?:mcp|sse)/?$"
    )
    strings: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    walk(entry)
    if any(url_re.match(s) for s in strings):
        return True
    if isinstance(entry, Mapping):
        args = entry.get("args")
        command = str(entry.get("command", ""))
        if isinstance(args, list) and "connect" in args:
            i = args.index("connect")
            argv = [command, *map(str, args[:i])]
            mentions = any("switchboard" in a.lower() for a in argv)
            return (mentions or tuple(argv) == connect) and args[i + 1 : i + 2] == [name]
    return False


class ClientManager:
    """Adds, updates and removes Switchboard's entries in MCP clients' configs."""

    def __init__(
        self,
        paths: AppPaths,
        *,
        host: HostEnv | None = None,
        connect_command: tuple[str, ...] | None = None,
        kinds: Iterable[ClientKind] = KINDS,
    ) -> None:
        self.paths = paths
        self.host = host or HostEnv.current()
        self.connect_command = connect_command or default_connect_command(paths)
        self.kinds = {k.id: k for k in kinds}
        self._state_file = paths.data_dir / "clients.json"
        self._lock = threading.RLock()

    # -- lookup -----------------------------------------------------------------------
    def kind(self, client_id: str) -> ClientKind:
        kind = self.kinds.get(client_id) or BY_ID.get(client_id)
        if kind is None or kind.id not in self.kinds:
            raise ValidationError(
                f"Unknown MCP client {client_id!r}.",
                hint=f"Known clients: {', '.join(sorted(self.kinds))}.",
            )
        return kind

    def config_path(self, kind: ClientKind) -> Path:
        return kind.config_path(self.host)

    def installed(self, kind: ClientKind) -> bool:
        return (
            self.config_path(kind).exists()
            or any(p.exists() for p in kind.detect_paths(self.host))
            or any(self.host.which(c) for c in kind.commands)
        )

    def targets(self, servers: Mapping[str, str]) -> list[Target]:
        """{server name: gateway URL} -> what to write."""
        return [
            Target(name, url, (*self.connect_command, "connect", name))
            for name, url in sorted(servers.items())
        ]

    # -- connected set ------------------------------------------------------------------
    def connected(self) -> list[str]:
        with self._lock:
            try:
                data = json.loads(self._state_file.read_text("utf-8"))
            except FileNotFoundError:
                return []
            except (OSError, ValueError) as exc:
                log.warning("%s unreadable (%s); treating as no clients", self._state_file, exc)
                return []
            ids = data.get("connected", []) if isinstance(data, dict) else []
            return [i for i in ids if isinstance(i, str) and i in self.kinds]

    def _set_connected(self, client_id: str, on: bool) -> None:
        with self._lock:
            ids = set(self.connected())
            ids.add(client_id) if on else ids.discard(client_id)
            doc = {"connected": sorted(ids)}
            atomic_write(self._state_file, (json.dumps(doc, indent=2) + "\n").encode())

    # -- reading ------------------------------------------------------------------------
    def _read(self, kind: ClientKind) -> tuple[Path, str, bool]:
        path = self.config_path(kind)
        try:
            return path, path.read_text("utf-8"), True
        except FileNotFoundError:
            return path, kind.new_file, False
        except UnicodeDecodeError:
            raise ClientConfigError(
                f"{path} is not UTF-8 text.", hint="Fix the file; Switchboard leaves it untouched."
            ) from None
        except OSError as exc:
            raise ClientConfigError(
                f"Cannot read {path}: {exc.strerror}.", hint="Check its permissions."
            ) from exc

    def ours(self, kind: ClientKind) -> list[str]:
        path, text, _ = self._read(kind)
        editor = open_editor(kind.fmt, text, kind.container, str(path), keyed_list=kind.keyed_list)
        return sorted(n for n, e in editor.entries().items() if is_ours(e, n, self.connect_command))

    def clients(self) -> list[ClientInfo]:
        connected = set(self.connected())
        out = []
        for kind in self.kinds.values():
            path = self.config_path(kind)
            installed = self.installed(kind)
            ours: tuple[str, ...] = ()
            error = ""
            if path.exists():
                try:
                    ours = tuple(self.ours(kind))
                except ClientConfigError as exc:
                    error = exc.message
            out.append(ClientInfo(kind, installed, path, kind.id in connected, ours, error))
        return out

    # -- writing ------------------------------------------------------------------------
    def apply(self, kind: ClientKind, servers: Mapping[str, str]) -> SyncReport:
        """Make the client's config hold exactly Switchboard's ``servers``
        ({name: gateway URL}) among Switchboard's entries; other entries stay."""
        with self._lock:
            path, text, exists = self._read(kind)
            editor = open_editor(
                kind.fmt, text, kind.container, str(path), keyed_list=kind.keyed_list
            )
            current = editor.entries()
            added: list[str] = []
            updated: list[str] = []
            unchanged: list[str] = []
            conflicts: list[str] = []
            removed: list[str] = []
            for target in self.targets(servers):
                old = current.get(target.name)
                if old is not None and not is_ours(old, target.name, self.connect_command):
                    conflicts.append(target.name)
                    continue
                if editor.put(target.name, kind.entry(target)):
                    (updated if old is not None else added).append(target.name)
                else:
                    unchanged.append(target.name)
            for name, entry in current.items():
                if (
                    name not in servers
                    and is_ours(entry, name, self.connect_command)
                    and editor.remove(name)
                ):
                    removed.append(name)
            new_text = editor.text()
            written = False
            backup = None
            if new_text != (text if exists else "") and (added or updated or removed):
                backup = self._write(path, new_text, exists)
                written = True
            report = SyncReport(
                kind.id,
                path,
                tuple(added),
                tuple(updated),
                tuple(removed),
                tuple(unchanged),
                tuple(conflicts),
                written,
                backup,
            )
            if written:
                log.info("updated %s (%s): %s", kind.title, path, "; ".join(report.lines()))
            return report

    def _write(self, path: Path, text: str, exists: bool) -> Path | None:
        real = path.resolve() if path.is_symlink() else path
        mode = 0o600
        if exists:
            mode = stat.S_IMODE(os.stat(real).st_mode)
        backup = real.with_name(real.name + BACKUP_SUFFIX) if exists else None
        atomic_write(real, text.encode("utf-8"), mode=mode, backup=backup)
        return backup

    def connect(self, client_id: str, servers: Mapping[str, str]) -> SyncReport:
        kind = self.kind(client_id)
        report = self.apply(kind, servers)
        self._set_connected(kind.id, True)
        return report

    def disconnect(self, client_id: str) -> SyncReport:
        kind = self.kind(client_id)
        report = self.apply(kind, {})
        self._set_connected(kind.id, False)
        return report

    def sync(self, servers: Mapping[str, str]) -> list[SyncReport]:
        """Reconcile every connected client; one broken file does not stop the others."""
        reports = []
        for client_id in self.connected():
            try:
                reports.append(self.apply(self.kind(client_id), servers))
            except ClientConfigError as exc:
                log.warning("could not update %s: %s", client_id, exc)
        return reports
